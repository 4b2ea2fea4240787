import { Buffer } from 'buffer'
import { randomBytes } from 'crypto'
import { Keystream, streamKeys } from './keystream'
import { isPlainContext, mac, slotOf, utf8Write, writeHead, writePosition, ScratchViews } from './stream-fields'
import { DIGIT_POLY1305, DIGIT_SHA256, DIGIT_SHA3, KIND_AT, MACED, MAGIC, NONCE_BYTES, PREAMBLE, TAG_BYTES, TEXT_AT } from './stream-fields'
import type { Channel, StreamTag } from './stream-fields'
import { PAD_BYTES, SEAL_KEY, SEAL_SCRATCH, STREAM_TEXT } from './stream-memory'
import type { StreamMemory } from './stream-memory'

/** The sending side of stream sealing (streams.ts): a stream per recipient and channel, and the seal of a frame on it. */

const MAX_SENDING = 1024 // streams this app sends on; the oldest is forgotten first (a new one takes a new nonce)

/**
 * Seals `text` (at most STREAM_TEXT characters) on the stream to `to` (every app, for events) on
 * `channel`. `context` (see isPlainContext) is sealed with it, and the frame opens only where the
 * same context is expected: a request's id, so that ids, which travel in clear, cannot be swapped
 * between requests or between replies. The frame comes as pieces to write one after the other,
 * valid until the next seal: the list and its last piece (the scratch) are reused.
 */
export type StreamSeal = (text: string, to: string, channel: Channel, context?: string, tag?: StreamTag) => Buffer[]

/** `base`: the app's partition key under the sealing secret; `header` names the app in every frame. */
export function createStreamSending(mem: StreamMemory, base: Buffer, uuid: string, header: Buffer, speaks: '1.3' | '1.4' | '1.5'): StreamSeal {
  const aligned = speaks !== '1.3'
  const opensPoly = speaks === '1.5'
  const { keystreams, poly, memory, sealScratch, sealScratch32 } = mem
  const preambleOf = (digit: number) => {
    const preamble = Buffer.alloc(PREAMBLE + header.length)
    MAGIC.copy(preamble)
    preamble[KIND_AT] = digit
    preamble.writeUInt16BE(header.length, MAGIC.length)
    header.copy(preamble, PREAMBLE)
    return preamble
  }
  const preambles: Record<StreamTag, Buffer> = { 'sha3-256': preambleOf(DIGIT_SHA3), sha256: preambleOf(DIGIT_SHA256), poly1305: preambleOf(DIGIT_POLY1305) }
  const sending = new Map<string, Keystream>() // `to/channel` → stream
  const sealMaced = new ScratchViews(sealScratch, 0) // what a tag covers (see MACED), with the MAC key
  const sealSent = new ScratchViews(sealScratch, MACED) // what a frame carries after its preamble
  // A seal's pieces: the caller writes them before the next seal. An `S4.` frame is one piece, from
  // its preamble (in the scratch, before the nonce) to its tag.
  const sealed: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0)]
  const sealedWhole: Buffer[] = [Buffer.alloc(0)]
  const polyPreamble = preambles.poly1305
  const wholeFrom = SEAL_SCRATCH + MACED - polyPreamble.length
  const sealWhole = new ScratchViews(memory, wholeFrom)
  // The MAC key (and the nonce) is copied into the scratch only when it differs from the last frame's.
  let beforeNonce: Buffer | undefined // what the scratch holds before the nonce: a MAC key, or the preamble of `S4.` frames
  let sealNonceOf: Keystream | undefined
  // Per channel, the stream of the last frame sent: a call's stream is mostly the last one's, and
  // finding it again then costs no string built or hashed.
  const lastSent: Array<Keystream | undefined> = [undefined, undefined, undefined]

  function sendingTo(to: string, channel: Channel): Keystream {
    const slot = slotOf(channel)
    const last = lastSent[slot]
    if (last !== undefined && last.peer === to) return last
    const id = `${to}/${channel}`
    let stream = sending.get(id)
    if (!stream) {
      if (sending.size >= MAX_SENDING) forgetOldest()
      stream = new Keystream(streamKeys(base, uuid, to, channel), randomBytes(NONCE_BYTES), to)
      sending.set(id, stream)
    }
    lastSent[slot] = stream
    return stream
  }

  /** Makes room for one more stream: the oldest one goes, with its chunk and from the last-frame shortcut. */
  function forgetOldest() {
    const [id, stream] = sending.entries().next().value as [string, Keystream]
    sending.delete(id)
    keystreams.drop(stream)
    for (let slot = 0; slot < lastSent.length; slot++) if (lastSent[slot] === stream) lastSent[slot] = undefined
  }

  return function seal(text, to, channel, context = '', tag = 'sha3-256') {
    if (text.length > STREAM_TEXT || !isPlainContext(context)) throw new RangeError('a stream frame holds a text of at most 2048 characters and a context of at most 16 ASCII characters')
    if (!aligned && tag === 'sha256') throw new RangeError('an app of 1.3 tags stream frames with SHA3-256 only')
    if (!opensPoly && tag === 'poly1305') throw new RangeError(`an app of ${speaks} does not tag stream frames with Poly1305`)
    const stream = sendingTo(channel === 'events' ? '*' : to, channel)
    const bodyAt = writeHead(sealScratch, TEXT_AT, Date.now(), context)
    const length = bodyAt - TEXT_AT + utf8Write(sealScratch, text, bodyAt)
    // Frames start at multiples of 4 (the skipped bytes are never used), so that their keystream
    // is XORed a word at a time; those tagged with Poly1305 at multiples of 16 (see PAD_BYTES).
    const poly1305 = tag === 'poly1305'
    const step = poly1305 ? PAD_BYTES : aligned ? 4 : 1
    const at = Math.ceil(stream.next / step) * step
    const plainAt = poly1305 ? at + PAD_BYTES : at // in the stream: an `S4.` frame's pad comes first
    stream.next = plainAt + Math.ceil(length / step) * step
    // The pad first: a chunk it makes this stream compute then covers the plaintext too.
    if (poly1305) mem.polyKey(SEAL_KEY, stream, at, true)
    keystreams.xorInto(stream, plainAt, length, true, sealScratch, sealScratch32, TEXT_AT)
    if (sealNonceOf !== stream) {
      stream.nonce.copy(sealScratch, MACED)
      sealNonceOf = stream
    }
    writePosition(sealScratch, MACED + NONCE_BYTES, at)
    const end = TEXT_AT + length
    if (poly1305) {
      poly!.tag(SEAL_KEY, SEAL_SCRATCH + MACED, end - MACED, SEAL_SCRATCH + end)
      if (beforeNonce !== polyPreamble) {
        polyPreamble.copy(memory, wholeFrom)
        beforeNonce = polyPreamble
      }
      sealedWhole[0] = sealWhole.to(SEAL_SCRATCH + end + TAG_BYTES)
      return sealedWhole
    }
    const macKey = tag === 'sha256' ? stream.keys.macKey3 : stream.keys.macKey
    if (beforeNonce !== macKey) {
      macKey.copy(sealScratch)
      beforeNonce = macKey
    }
    const digest = mac(tag, sealMaced.to(end))
    for (let i = 0; i < TAG_BYTES; i++) sealScratch[end + i] = digest.charCodeAt(i)
    // No frame is put together here: the wire frame is the one copy of these pieces.
    sealed[0] = preambles[tag]
    sealed[1] = sealSent.to(end + TAG_BYTES)
    return sealed
  }
}
