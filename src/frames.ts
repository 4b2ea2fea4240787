import { decode, encode, largerThan, shapeOf } from './codec'
import { stringifyInPieces, TextTooLarge } from './json-pieces'
import type { Text } from './json-pieces'
import { parseSliced, SlicedText } from './sliced-text'

/** Values with more objects and arrays than this are stringified in pieces (about 40 KB of JSON and up). */
const PIECES_FROM = 2048

/**
 * A message as it crosses the wire: one JSON text, written once and parsed once. A large one that
 * grows past `max` characters (0: no limit) throws TextTooLarge before it is written whole, as does
 * one past the longest string V8 makes.
 */
export function serialize(message: unknown, max = 0): Text {
  try {
    // Plain records skip the copying walk: JSON.stringify alone gives the same text.
    const shape = shapeOf(message, PIECES_FROM)
    if (shape === 'plain') return JSON.stringify(message)
    if (shape === 'tagged' && !largerThan(message, PIECES_FROM)) return JSON.stringify(encode(message))
    return stringifyInPieces(message, max)
  } catch (error) {
    if (error instanceof RangeError && error.message.includes('Invalid string length')) throw new TextTooLarge(max)
    throw error
  }
}

export function deserialize(text: unknown): unknown {
  if (text instanceof SlicedText) {
    // Tagged in any piece: every piece is decoded, as the whole text would be. (No `"$t"` spans two
    // pieces: each piece of the skeleton ends with `[` or starts with `]`.)
    const tagged = text.around.some(hasTag) || text.arrays.some((slices) => slices.some(hasTag))
    return parseSliced(text, tagged ? parseTagged : JSON.parse)
  }
  if (typeof text !== 'string') throw new TypeError(`expected a text frame, got ${typeof text}`)
  // Most messages carry no tagged value (Date, Buffer...): then JSON.parse's result is already the value.
  return hasTag(text) ? parseTagged(text) : JSON.parse(text)
}

const parseTagged = (text: string) => decode(JSON.parse(text))

/**
 * Whether the text holds a `"$t"` key. Searched for as `$t`: a two-character search skips along
 * with memchr, where the four-character one took 1 ms per MB.
 */
function hasTag(text: string): boolean {
  for (let at = text.indexOf('$t'); at >= 0; at = text.indexOf('$t', at + 2)) {
    if (text.charCodeAt(at - 1) === 0x22 && text.charCodeAt(at + 2) === 0x22) return true
  }
  return false
}

/** The connection whose frame is being handled, so a handler can cut a connection that sends garbage. */
export interface FrameSource {
  current?: import('net').Socket
}

const FLUSH_TIMEOUT = 500 // ms

/** Waits (bounded) until replies and goodbyes written to these sockets have left the process. */
export async function flush(sockets: import('net').Socket[]) {
  const deadline = Date.now() + FLUSH_TIMEOUT
  while (sockets.some((socket) => socket.writable && socket.writableLength > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
