import type { Text } from './json-pieces'
import { ENCODE_FROM } from './message-frames'
import type { Channel } from './streams'

/**
 * What binds a frame sealed on its own (`S1.`) to where it may be opened: the kind of connection
 * and the request it belongs to, as stream frames carry them in their sealed fields. Without it,
 * anyone on the path could swap two large replies between calls (their ids travel in clear), or
 * hand a published frame to a responder. It is the first member of the JSON object the frame
 * seals, `"@": "<channel>|<request id>"`, which older apps read past as an unknown field; an app
 * that finds it checks it, and one that finds none takes the frame as from an app older than that.
 */

const OPEN_MEMBER = Buffer.from('{"@":')
const COMMA = 0x2c
const CLOSE = 0x7d

const binding = (channel: Channel, context = '') => `{"@":${JSON.stringify(`${channel}|${context}`)}`

/** `text` (a JSON object, whole or in pieces) with its binding as first member; other texts as they are. */
export function bindText(text: Text, channel: Channel, context?: string): Text {
  const first = typeof text === 'string' ? text : text[0]
  if (first === undefined || first[0] !== '{') return text
  const lead = binding(channel, context)
  if (text === '{}') return `${lead}}`
  // A large text stays in pieces (it is encoded from pieces anyway): joined, it would be copied flat, into fresh memory.
  if (typeof text === 'string') return text.length < ENCODE_FROM ? `${lead},${text.slice(1)}` : [`${lead},`, text.slice(1)]
  return [`${lead},`, first.slice(1), ...text.slice(1)]
}

/**
 * Whether the JSON at `at` in an opened plaintext may be opened on `channel` for `context`: true
 * when it carries the binding of those, or none (a sender older than bindings).
 */
export function bindingHolds(plain: Buffer, at: number, channel: Channel | undefined, context?: string): boolean {
  if (plain.length - at < OPEN_MEMBER.length || plain.compare(OPEN_MEMBER, 0, OPEN_MEMBER.length, at, at + OPEN_MEMBER.length) !== 0) return true
  if (channel === undefined) return false
  const expected = binding(channel, context)
  const end = at + Buffer.byteLength(expected)
  return plain.toString('utf8', at, end) === expected && (plain[end] === COMMA || plain[end] === CLOSE)
}
