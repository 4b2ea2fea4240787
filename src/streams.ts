import { Buffer } from 'buffer'
import { randomBytes } from 'crypto'
import { createKeystreams, Keystream, MAX_FRAME_KEYSTREAM, POLY_R_BYTES, streamKeys, wordsOf } from './keystream'
import { createPoly1305, POLY1305_MEMORY } from './poly1305'
import type { StreamKeys } from './keystream'
import { hasContext, isPlainContext, mac, namedBy, namingWords, readClock, readPosition, sameBytes, sameTag, ScratchViews, streamTagOf, utf8Read, utf8Write, writeHead, writePosition } from './stream-fields'
import { DIGIT_POLY1305, DIGIT_SHA256, DIGIT_SHA3, HEADER_MAX, KIND_AT, MACED, MAGIC, NONCE_BYTES, POSITION_BYTES, PREAMBLE, STREAM_CONTEXT, TAG_BYTES, TEXT_AT } from './stream-fields'
import type { Channel, StreamTag } from './stream-fields'

export type { Channel, StreamTag } from './stream-fields'

/**
 * Stream-sealed frames (protocols 1.3 to 1.5): what a secret costs per small message, cut to a
 * tag computed without a native call (1.5), or to one hash (1.3, 1.4).
 *
 * Per-message AES-GCM (security.ts, `S1.`) builds a cipher object for every frame, and each
 * native crypto call that returns a buffer costs about a microsecond on its own: four AEAD
 * operations per call came to 26 µs, and the collector then had to finalize the cipher objects.
 * Here each sender keeps, per recipient and kind of connection (`channel`), a stream: an
 * AES-256-CTR keystream computed ahead in chunks, and a MAC key of its own. A frame takes the next
 * bytes of the keystream, XORed into its plaintext in JavaScript (no native call), and its tag is
 * H(MAC key · nonce · position · ciphertext) cut to 16 bytes: one native call, whose result comes
 * back as a string, so nothing is allocated for it. Encrypt-then-MAC: the tag is checked before
 * anything is believed (only the frame's fields and, for `S4.`, its position are checked first).
 * The MAC key is not taken from the keystream: whoever guesses a frame's plaintext learns that part
 * of the keystream, and must not be able to tag a frame of their own with it.
 *
 * Since 1.5 the tag of `S4.` frames is Poly1305 (poly1305.ts, WebAssembly: no native call at all,
 * where a call into Node's crypto costs 1–3 µs inside a busy app) of nonce · position · ciphertext,
 * under the stream's own `r` and, as `s`, the frame's pad: the keystream block at its position.
 * `S4.` frames start on multiples of 16, and their plaintext right after their pad, so each has a
 * block of its own, never XORed into a text (as AES-GCM masks its tag with an AES block of a
 * counter of its own and encrypts from the next counter on, under the same key).
 *
 * H is SHA3-256 in `S2.` frames (1.3) and SHA-256 in `S3.` frames (1.4), which CPUs with SHA
 * extensions run three times as fast on a small frame. A secret prefix makes a MAC of either:
 * SHA3 has no length extension, and a SHA-256 tag cut to 128 bits leaves out the half of the hash
 * state that extending a message would need. All kinds share a stream's keys and positions; a
 * sender uses the newest kind the recipient said it opens (see `commonTag`).
 * A frame is one binary part:
 *   'S2.', 'S3.' or 'S4.' · header length (uint16 BE) · header `<partition key>.<key id>.<uuid>`
 *   · stream nonce (8) · stream position (uint64 BE) · ciphertext · tag
 * (the ciphertext of an `S4.` frame is XORed with the keystream from position + 16 on, of the others from position on).
 * The keys of a stream are derived from the sender's partition key, its uuid, the recipient (`*`
 * for published frames) and the channel, so a frame opens only where it was sent; the tag covers
 * the nonce and the position, and the header picks the keys. A recipient accepts each stream's
 * positions in increasing order only (it gets a stream's frames on one connection), which refuses
 * replays without a window. The plaintext is `<clock>|<context>|<text>`: the clock, so a frame
 * captured before a recipient restarted is refused once 60 s old; the context, a request's id.
 * Texts over STREAM_TEXT characters are sealed message by message (security.ts) on any channel.
 */

/**
 * The longest text sealed on a stream, in characters (at most 3 bytes each in UTF-8). XOR in
 * JavaScript and one tag (a hash call, measured with SHA-256) beat a cipher object for small frames only: on a 64 KB batch of
 * events AES-GCM seals and opens in 190–290 µs, a keystream, a word XOR and SHA-256 in 330–390 µs,
 * so longer texts are sealed message by message.
 */
export const STREAM_TEXT = 2048
const TIMESTAMP = 16 + 1 + STREAM_CONTEXT + 1 // characters of the clock, the context and their bars
const MAX_CIPHERTEXT = 3 * (STREAM_TEXT + TIMESTAMP)
/**
 * `S4.` frames start on multiples of this: a frame's pad is the keystream block at its position,
 * and its plaintext starts right after it, so that every frame has a block of its own, never XORed
 * into a text.
 */
const PAD_BYTES = 16
// An `S4.` frame takes its pad and its plaintext from one chunk when the pad made it compute that chunk.
if (PAD_BYTES + MAX_CIPHERTEXT > MAX_FRAME_KEYSTREAM) throw new Error('a stream frame could take more keystream than a chunk holds')
const MAX_SKEW = 60_000
const MAX_RECEIVING = 10_000 // streams whose position is remembered; the oldest is forgotten first
const MAX_SENDING = 1024 // streams this app sends on; the oldest is forgotten first (a new one takes a new nonce)
const KEY_CACHE = 1024 // keys of senders whose frames opened, so a stale or replayed frame costs no derivation
/** The slot of a channel in per-channel arrays. */
const slotOf = (channel: Channel) => (channel === 'calls' ? 0 : channel === 'replies' ? 1 : 2)
/**
 * Where a sealer keeps its bytes in its Poly1305 instance's memory: the one-time keys (r, then the
 * frame's pad as s) of the frame sealed and of the frame opened (each side mostly keeps one stream,
 * its calls' or its replies', and its r stays in place), the tag of a frame being opened, then the
 * scratch buffers of sealing and opening.
 * Sealing an `S4.` frame writes its preamble right before its nonce, where the other kinds keep
 * their MAC key, so that the frame leaves as one piece: SEAL_SCRATCH leaves room for the longest.
 */
const SEAL_KEY = 0
const OPEN_KEY = 32
const POLY_OUT = 64
const SEAL_SCRATCH = 8 * Math.ceil((POLY_OUT + 16 + PREAMBLE + HEADER_MAX - MACED) / 8)
const SEAL_BYTES = TEXT_AT + MAX_CIPHERTEXT + TAG_BYTES
const OPEN_SCRATCH = SEAL_SCRATCH + SEAL_BYTES + (8 - (SEAL_BYTES % 8))
const OPEN_BYTES = TEXT_AT + MAX_CIPHERTEXT
if (OPEN_SCRATCH + OPEN_BYTES > POLY1305_MEMORY) throw new Error('the scratch buffers of stream frames do not fit in a Poly1305 instance')
/** Positions at most this large (a position travels as 64 bits, and must be read exactly). */
const MAX_POSITION = Number.MAX_SAFE_INTEGER

/** The stream of the last frame opened on a channel, and what names it (see namingWords). */
interface LastOpened {
  stream: Keystream
  nonceEnd: number
  words: Int32Array
}

export type StreamOpened = { ok: true; text: string; from: string } | { ok: false; reason: string; from?: string }

export interface StreamSealer {
  /**
   * A text of at most STREAM_TEXT characters. `context` (see isPlainContext) is sealed with it, and the frame
   * opens only where the same context is expected: a request's id, so that ids, which travel in
   * clear, cannot be swapped between requests or between replies. The frame comes as pieces to
   * write one after the other, valid until the next seal: the list and its last piece (this sealer's scratch) are reused.
   */
  seal(text: string, to: string, channel: Channel, context?: string, tag?: StreamTag): Buffer[]
  /** `me`: this app's uuid; `base` finds the partition key a header names (or why it cannot). */
  open(frame: Buffer, me: string, channel: Channel, base: (partition: string, id: string) => Buffer | string, context?: string): StreamOpened
}

/**
 * Stream sealing for one app: `base` is its partition key under the sealing secret, `header` names
 * it. An app that `speaks` an older protocol (only to stand in for one, in tests and benchmarks)
 * does what it did: 1.3 opens no `S3.` frames and does not start frames on multiples of 4; 1.3 and
 * 1.4 open no `S4.` frames.
 */
export function createStreamSealer(base: Buffer, uuid: string, header: Buffer, speaks: '1.3' | '1.4' | '1.5' = '1.5'): StreamSealer {
  const aligned = speaks !== '1.3'
  const opensPoly = speaks === '1.5'
  if (header.length > HEADER_MAX) throw new RangeError(`the partition key is too long to seal under (${header.length} bytes of header)`)
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
  const receiving = new Map<string, Keystream>() // `header/channel/nonce` → stream, once a frame of it opened
  const keys = new Map<string, StreamKeys>() // `header/channel` → keys, once a frame opened
  const keystreams = createKeystreams()
  // What a frame's tag covers (see MACED) while it is sealed, and while it is opened. The MAC key
  // (and, sealing, the nonce) is copied in only when it differs from the last frame's.
  // Only an app that opens `S4.` frames runs WebAssembly (an app of 1.4 stands in where it cannot).
  const poly = opensPoly ? createPoly1305() : undefined
  const memory = poly?.memory ?? Buffer.alloc(POLY1305_MEMORY)
  const memory32 = wordsOf(memory)
  const sealScratch = memory.subarray(SEAL_SCRATCH, SEAL_SCRATCH + SEAL_BYTES)
  const openScratch = memory.subarray(OPEN_SCRATCH, OPEN_SCRATCH + OPEN_BYTES)
  const sealScratch32 = wordsOf(sealScratch)
  const openScratch32 = wordsOf(openScratch)
  const sealMaced = new ScratchViews(sealScratch, 0) // what a tag covers, with the MAC key
  const sealSent = new ScratchViews(sealScratch, MACED) // what a frame carries after its preamble
  const openMaced = new ScratchViews(openScratch, 0)
  // A seal's pieces: the caller writes them before the next seal (see `seal`). An `S4.` frame is one
  // piece, from its preamble (in the scratch, before the nonce) to its tag.
  const sealed: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0)]
  const sealedWhole: Buffer[] = [Buffer.alloc(0)]
  const polyPreamble = preambles.poly1305
  const wholeFrom = SEAL_SCRATCH + MACED - polyPreamble.length
  const sealWhole = new ScratchViews(memory, wholeFrom)
  let beforeNonce: Buffer | undefined // what the seal scratch holds before the nonce: a MAC key, or the preamble of `S4.` frames
  let sealNonceOf: Keystream | undefined
  let openKeyIn: Buffer | undefined
  // The streams whose Poly1305 r is in memory, at SEAL_KEY and at OPEN_KEY.
  const polyKeyOf: Array<Keystream | undefined> = [undefined, undefined]
  // Per channel, the stream of the last frame sent and of the last frame opened: a call and its
  // reply mostly go to and come from the same peer, and finding the stream again then costs
  // no string built or hashed. Slots by channel (slotOf), not fields named by a variable: a keyed
  // load that sees several names goes megamorphic.
  const lastSent: Array<Keystream | undefined> = [undefined, undefined, undefined]
  const lastOpened: Array<LastOpened | undefined> = [undefined, undefined, undefined]
  const after = { at: 0 }
  // The newest clock of a frame of any stream forgotten (MAX_RECEIVING): a stream this app does
  // not remember must start later, or a frame of a forgotten one could be replayed and open again.
  let forgottenUpTo = 0

  function sendingTo(to: string, channel: Channel): Keystream {
    const slot = slotOf(channel)
    const last = lastSent[slot]
    if (last !== undefined && last.peer === to) return last
    const id = `${to}/${channel}`
    let stream = sending.get(id)
    if (!stream) {
      forgetOldest(sending, MAX_SENDING)
      stream = new Keystream(streamKeys(base, uuid, to, channel), randomBytes(NONCE_BYTES), to)
      sending.set(id, stream)
    }
    lastSent[slot] = stream
    return stream
  }

  /** Makes room for one more stream: the oldest one goes, with its chunk and from the last-frame shortcuts. */
  function forgetOldest(streams: Map<string, Keystream>, max: number) {
    if (streams.size < max) return
    const [id, stream] = streams.entries().next().value as [string, Keystream]
    streams.delete(id)
    keystreams.drop(stream)
    if (streams === receiving) forgottenUpTo = Math.max(forgottenUpTo, stream.clock)
    for (let slot = 0; slot < lastSent.length; slot++) {
      if (lastSent[slot] === stream) lastSent[slot] = undefined
      if (lastOpened[slot]?.stream === stream) lastOpened[slot] = undefined
    }
  }

  /**
   * Puts the one-time Poly1305 key of the `S4.` frame at `position` of `stream` in memory: the
   * stream's r, and as s the frame's pad, the keystream block at `position` (from the chunk when it
   * covers it; else computed for this frame alone, kept only when `keep`).
   */
  function polyKey(at: typeof SEAL_KEY | typeof OPEN_KEY, stream: Keystream, position: number, keep: boolean) {
    const slot = at === SEAL_KEY ? 0 : 1
    if (polyKeyOf[slot] !== stream) {
      stream.keys.polyR.copy(memory, at)
      polyKeyOf[slot] = stream
    }
    keystreams.copyInto(stream, position, PAD_BYTES, keep, memory, memory32, at + POLY_R_BYTES)
  }

  /** The stream of the frame opened last on `channel`, when this frame's header and nonce (ending at `nonceEnd`) are the same. */
  function sameAsLast(frame: Buffer, channel: Channel, nonceEnd: number): Keystream | undefined {
    const last = lastOpened[slotOf(channel)]
    return last !== undefined && last.nonceEnd === nonceEnd && namedBy(frame, nonceEnd, last.words) ? last.stream : undefined
  }

  return {
    seal(text, to, channel, context = '', tag = 'sha3-256') {
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
      if (poly1305) polyKey(SEAL_KEY, stream, at, true)
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
      } else {
        const macKey = tag === 'sha256' ? stream.keys.macKey3 : stream.keys.macKey
        if (beforeNonce !== macKey) {
          macKey.copy(sealScratch)
          beforeNonce = macKey
        }
        const digest = mac(tag, sealMaced.to(end))
        for (let i = 0; i < TAG_BYTES; i++) sealScratch[end + i] = digest.charCodeAt(i)
      }
      // No frame is put together here: the wire frame is the one copy of these pieces.
      sealed[0] = preambles[tag]
      sealed[1] = sealSent.to(end + TAG_BYTES)
      return sealed
    },

    open(frame, me, channel, baseOf, context = '') {
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
          stream = new Keystream(found, Buffer.from(frame.subarray(start, start + NONCE_BYTES)), name.slice(uuidDot + 1))
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
        polyKey(OPEN_KEY, stream, at, false)
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
          forgetOldest(receiving, MAX_RECEIVING)
          receiving.set(id, stream)
        }
        lastOpened[slotOf(channel)] = { stream, nonceEnd: start + NONCE_BYTES, words: namingWords(frame, start + NONCE_BYTES) }
      }
      return { ok: true, text: utf8Read(openScratch, after.at + context.length + 1, end), from }
    }
  }
}
