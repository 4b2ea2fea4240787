import { Buffer } from 'buffer'
import { ownCopy } from './buffers'
import { Keystream, streamKeys } from './keystream'
import type { StreamKeys } from './keystream'
import { hasContext, mac, namedBy, namingWords, readClock, readPosition, sameBytes, sameTag, slotOf, streamTagOf, utf8Read, ScratchViews } from './stream-fields'
import { HEADER_MAX, MACED, MAGIC, NONCE_BYTES, POSITION_BYTES, PREAMBLE, TAG_BYTES, TEXT_AT } from './stream-fields'
import type { Channel } from './stream-fields'
import { MAX_CIPHERTEXT, OPEN_KEY, OPEN_SCRATCH, PAD_BYTES, POLY_OUT } from './stream-memory'
import type { StreamMemory } from './stream-memory'

/** The receiving side of stream sealing (streams.ts): the streams of other apps, and the opening of their frames. */

export type StreamOpened = { ok: true; text: string; from: string } | { ok: false; reason: string; from?: string }

/**
 * Opens a stream frame that came on `channel` for `me` (this app's uuid). `base` finds the
 * partition key a header names (or why it cannot); `context` is what the frame must have been
 * sealed with.
 */
export type StreamOpen = (frame: Buffer, me: string, channel: Channel, base: (partition: string, id: string) => Buffer | string, context?: string) => StreamOpened

const MAX_SKEW = 60_000
const MAX_RECEIVING = 10_000 // streams whose position is remembered; the oldest is forgotten first
const KEY_CACHE = 1024 // keys of senders whose frames opened, so a stale or replayed frame costs no derivation
/** Positions at most this large (a position travels as 64 bits, and must be read exactly). */
const MAX_POSITION = Number.MAX_SAFE_INTEGER

/** The stream of the last frame opened on a channel, and what names it (see namingWords). */
interface LastOpened {
  stream: Keystream
  nonceEnd: number
  words: Int32Array
}

export function createStreamReceiving(mem: StreamMemory, speaks: '1.3' | '1.4' | '1.5'): StreamOpen {
  const aligned = speaks !== '1.3'
  const opensPoly = speaks === '1.5'
  const { keystreams, poly, memory, openScratch, openScratch32 } = mem
  const receiving = new Map<string, Keystream>() // `header/channel/nonce` → stream, once a frame of it opened
  const keys = new Map<string, StreamKeys>() // `header/channel` → keys, once a frame opened
  const openMaced = new ScratchViews(openScratch, 0) // what a tag covers (see MACED), with the MAC key
  let openKeyIn: Buffer | undefined // the MAC key in the scratch: copied only when it differs from the last frame's
  // Per channel, the stream of the last frame opened: a reply mostly comes from the peer the last
  // one came from, and finding its stream again then costs no string built or hashed.
  const lastOpened: Array<LastOpened | undefined> = [undefined, undefined, undefined]
  const after = { at: 0 }
  // The newest clock of a frame of any stream forgotten (MAX_RECEIVING): a stream this app does
  // not remember must start later, or a frame of a forgotten one could be replayed and open again.
  let forgottenUpTo = 0

  /** Makes room for one more stream: the oldest one goes, with its chunk and from the last-frame shortcut. */
  function forgetOldest() {
    const [id, stream] = receiving.entries().next().value as [string, Keystream]
    receiving.delete(id)
    keystreams.drop(stream)
    forgottenUpTo = Math.max(forgottenUpTo, stream.clock)
    for (let slot = 0; slot < lastOpened.length; slot++) if (lastOpened[slot]?.stream === stream) lastOpened[slot] = undefined
  }

  /** The stream of the frame opened last on `channel`, when this frame's header and nonce (ending at `nonceEnd`) are the same. */
  function sameAsLast(frame: Buffer, channel: Channel, nonceEnd: number): Keystream | undefined {
    const last = lastOpened[slotOf(channel)]
    return last !== undefined && last.nonceEnd === nonceEnd && namedBy(frame, nonceEnd, last.words) ? last.stream : undefined
  }

  return function open(frame, me, channel, baseOf, context = '') {
    const tag = streamTagOf(frame)
    // To an app of 1.3, an `S3.` frame is no sealed frame at all; nor an `S4.` one to an app of 1.4.
    if ((!aligned && tag === 'sha256') || (!opensPoly && tag === 'poly1305')) return { ok: false, reason: 'not sealed' }
    if (tag === undefined || frame.length < PREAMBLE) return { ok: false, reason: 'malformed' }
    const headerLength = (frame[MAGIC.length] << 8) | frame[MAGIC.length + 1]
    const start = PREAMBLE + headerLength // of the nonce
    const body = start + NONCE_BYTES + POSITION_BYTES // of the ciphertext
    const tagAt = frame.length - TAG_BYTES
    const length = tagAt - body
    if (headerLength > HEADER_MAX || length < 2 || length > MAX_CIPHERTEXT) return { ok: false, reason: 'malformed' }
    let stream = sameAsLast(frame, channel, start + NONCE_BYTES)
    let sender: string | undefined
    let id: string | undefined
    if (stream === undefined) {
      const name = frame.toString('utf8', PREAMBLE, start)
      sender = `${name}/${channel}`
      id = `${sender}/${frame.readUInt32BE(start)}.${frame.readUInt32BE(start + 4)}`
      stream = receiving.get(id)
      if (!stream) {
        const uuidDot = name.lastIndexOf('.')
        const idDot = name.lastIndexOf('.', uuidDot - 1)
        if (idDot < 0 || name.length - uuidDot > 65) return { ok: false, reason: 'malformed' }
        let found = keys.get(sender)
        if (!found) {
          const base = baseOf(name.slice(0, idDot), name.slice(idDot + 1, uuidDot))
          if (typeof base === 'string') return { ok: false, reason: base }
          found = streamKeys(base, name.slice(uuidDot + 1), channel === 'events' ? '*' : me, channel)
        }
        stream = new Keystream(found, ownCopy(frame.subarray(start, start + NONCE_BYTES)), name.slice(uuidDot + 1))
      }
    }
    // The tag first: nothing of an unauthenticated frame is believed, kept or computed ahead
    // (a pad near the stream's position comes from the keystream it already has).
    openScratch.set(new Uint8Array(frame.buffer, frame.byteOffset + start, tagAt - start), MACED)
    const at = readPosition(frame, start + NONCE_BYTES)
    const plainAt = tag === 'poly1305' ? at + PAD_BYTES : at
    if (plainAt + length > MAX_POSITION || (tag === 'poly1305' && at % PAD_BYTES !== 0)) return { ok: false, reason: 'malformed' }
    const known = stream.next > 0
    if (tag === 'poly1305') {
      // Before the tag is checked, nothing is kept: a forged frame must not make this app compute keystream ahead.
      mem.polyKey(OPEN_KEY, stream, at, false)
      poly!.tag(OPEN_KEY, OPEN_SCRATCH + MACED, TEXT_AT + length - MACED, POLY_OUT)
      if (!sameBytes(frame, tagAt, memory, POLY_OUT, TAG_BYTES)) return { ok: false, reason: 'authentication failed' }
    } else {
      const macKey = tag === 'sha256' ? stream.keys.macKey3 : stream.keys.macKey
      if (openKeyIn !== macKey) {
        macKey.copy(openScratch)
        openKeyIn = macKey
      }
      if (!sameTag(frame, tagAt, mac(tag, openMaced.to(TEXT_AT + length)), TAG_BYTES)) return { ok: false, reason: 'authentication failed' }
    }
    if (sender !== undefined && !keys.has(sender)) {
      if (keys.size >= KEY_CACHE) keys.delete(keys.keys().next().value as string)
      keys.set(sender, stream.keys)
    }
    const from = stream.peer
    // Positions only grow within a stream: a frame below the end of the last one opened is a
    // replay (or comes from a dead connection).
    if (at < stream.next) return { ok: false, reason: 'replayed', from }
    keystreams.xorInto(stream, plainAt, length, known, openScratch, openScratch32, TEXT_AT)
    const end = TEXT_AT + length
    const clock = readClock(openScratch, TEXT_AT, end, after)
    if (clock < 0) return { ok: false, reason: 'malformed', from }
    if (!(Math.abs(Date.now() - clock) <= MAX_SKEW) || (!known && clock <= forgottenUpTo)) return { ok: false, reason: 'too old', from }
    if (!hasContext(openScratch, after.at, end, context)) return { ok: false, reason: 'another request', from }
    stream.next = plainAt + length
    stream.clock = clock
    if (id !== undefined) {
      if (!known && !receiving.has(id)) {
        if (receiving.size >= MAX_RECEIVING) forgetOldest()
        receiving.set(id, stream)
      }
      lastOpened[slotOf(channel)] = { stream, nonceEnd: start + NONCE_BYTES, words: namingWords(frame, start + NONCE_BYTES) }
    }
    return { ok: true, text: utf8Read(openScratch, after.at + context.length + 1, end), from }
  }
}
