import { Buffer } from 'buffer'
import * as crypto from 'crypto'

/**
 * The layout of a stream-sealed frame (streams.ts): its kinds (`S2.`, `S3.`, `S4.`) and their tags,
 * its fields and those of its plaintext `<clock>|<context>|<text>`, written and read as bytes in
 * JavaScript (on a frame's hot path a native call, a number turned into a string or a string
 * joined costs more than the loop over a few bytes), and the one native call of `S2.` and `S3.`
 * frames, their hash (`S4.` frames are tagged in WebAssembly, poly1305.ts).
 */

/** The channel a stream carries: a sender keeps one stream per recipient and channel. */
export type Channel = 'calls' | 'replies' | 'events'

/**
 * The slot of a channel in per-channel arrays: slots, not fields named by a variable, since a
 * keyed load that sees several names goes megamorphic.
 */
export const slotOf = (channel: Channel) => (channel === 'calls' ? 0 : channel === 'replies' ? 1 : 2)

/**
 * How a stream frame is tagged: a hash cut to 16 bytes, `sha3-256` (`S2.`, 1.3) or `sha256` (`S3.`,
 * 1.4), or Poly1305 (`S4.`, 1.5) under a one-time key.
 */
export type StreamTag = 'sha3-256' | 'sha256' | 'poly1305'

export const MAGIC = Buffer.from('S2.') // its second byte is the kind's digit
export const KIND_AT = 1
export const DIGIT_SHA3 = 0x32 // '2'
export const DIGIT_SHA256 = 0x33 // '3'
export const DIGIT_POLY1305 = 0x34 // '4'
export const PREAMBLE = MAGIC.length + 2
export const NONCE_BYTES = 8
export const POSITION_BYTES = 8
export const MAC_KEY_BYTES = 32
/** In the scratch buffer: the MAC key, then the nonce, the position and the ciphertext, as the tag covers them. */
export const MACED = MAC_KEY_BYTES
export const TEXT_AT = MAC_KEY_BYTES + NONCE_BYTES + POSITION_BYTES
export const TAG_BYTES = 16
export const HEADER_MAX = 128 + 1 + 8 + 1 + 64
/** The kind of a stream frame, or undefined when the part is not one. */
export function streamTagOf(part: unknown): StreamTag | undefined {
  if (!Buffer.isBuffer(part) || part.length < MAGIC.length || part[0] !== MAGIC[0] || part[2] !== MAGIC[2]) return undefined
  const digit = part[KIND_AT]
  return digit === DIGIT_POLY1305 ? 'poly1305' : digit === DIGIT_SHA256 ? 'sha256' : digit === DIGIT_SHA3 ? 'sha3-256' : undefined
}

export const isStreamFrame = (part: unknown): boolean => streamTagOf(part) !== undefined

const TAG_RANK: Record<StreamTag, number> = { 'sha3-256': 0, sha256: 1, poly1305: 2 }

/** The newest kind of tag both sides open: an app opens its own kind and every older one (a peer that named none opens `S2.`). */
export function commonTag(mine: StreamTag, theirs: StreamTag | undefined): StreamTag {
  if (theirs === undefined) return 'sha3-256'
  return TAG_RANK[theirs] < TAG_RANK[mine] ? theirs : mine
}

/**
 * The newest kind of tag a peer's advertisement or hello names: `streamTag: 'sha256'` (1.4; 1.3
 * named none), and beside it `poly1305: true` (1.5), which apps of 1.4 do not read: they go on
 * tagging with SHA-256 what they send to an app of 1.5.
 */
export function namedTag(streamTag: unknown, poly1305: unknown): StreamTag {
  if (streamTag !== 'sha256') return 'sha3-256'
  return poly1305 === true ? 'poly1305' : 'sha256'
}

/** The fields an app advertising `tag` puts in its advertisement and in its hellos' endpoint. */
export function tagFields(tag: StreamTag): { streamTag?: 'sha256'; poly1305?: true } {
  return tag === 'poly1305' ? { streamTag: 'sha256', poly1305: true } : tag === 'sha256' ? { streamTag: 'sha256' } : {}
}

/** The hashes of `S2.` and `S3.` tags. */
export type HashTag = Exclude<StreamTag, 'poly1305'>
const oneShot = (crypto as unknown as { hash?: (algorithm: string, data: Buffer, encoding: 'latin1') => string }).hash
/** The MAC of `data` as a latin1 string: no buffer allocated (Node 20.12+; older versions build a Hash). */
export const mac = oneShot ? (tag: HashTag, data: Buffer) => oneShot(tag, data, 'latin1') : (tag: HashTag, data: Buffer) => crypto.createHash(tag).update(data).digest('latin1' as 'base64')

const BAR = 0x7c // '|'
const CLOCK_DIGITS = 16

/** The big-endian 32-bit word at `at`, signed (`>>> 0` makes it unsigned), read byte by byte: no call into Buffer's readers. */
const wordAt = (frame: Buffer, at: number) => (frame[at] << 24) | (frame[at + 1] << 16) | (frame[at + 2] << 8) | frame[at + 3]

export function readPosition(frame: Buffer, offset: number) {
  return (wordAt(frame, offset) >>> 0) * 0x1_0000_0000 + (wordAt(frame, offset + 4) >>> 0)
}

export function writePosition(frame: Buffer, offset: number, at: number) {
  const high = Math.floor(at / 0x1_0000_0000)
  frame[offset] = high >>> 24
  frame[offset + 1] = high >>> 16
  frame[offset + 2] = high >>> 8
  frame[offset + 3] = high
  frame[offset + 4] = at >>> 24
  frame[offset + 5] = at >>> 16
  frame[offset + 6] = at >>> 8
  frame[offset + 7] = at
}

/** Encodes `text` at `at`: Buffer's own encoder, without `write`'s argument handling. */
const bufferCodec = Buffer.prototype as unknown as {
  utf8Write?: (this: Buffer, text: string, at: number) => number
  utf8Slice?: (this: Buffer, start: number, end: number) => string
}
export const utf8Write: (into: Buffer, text: string, at: number) => number = bufferCodec.utf8Write
  ? (into, text, at) => bufferCodec.utf8Write!.call(into, text, at)
  : (into, text, at) => into.write(text, at, 'utf8')
/** Decodes `[start, end)` of `from` (checked by the caller): Buffer's own decoder, without `toString`'s. */
export const utf8Read: (from: Buffer, start: number, end: number) => string = bufferCodec.utf8Slice
  ? (from, start, end) => bufferCodec.utf8Slice!.call(from, start, end)
  : (from, start, end) => from.toString('utf8', start, end)

/** Whether the `length` bytes at `offset` equal a MAC given as a latin1 string, in time that does not depend on where they differ. */
export function sameTag(frame: Buffer, offset: number, tag: string, length: number) {
  let diff = 0
  for (let i = 0; i < length; i++) diff |= frame[offset + i] ^ tag.charCodeAt(i)
  return diff === 0
}

/** Whether the `length` bytes at `offset` of `a` and at `at` of `b` are equal, in time that does not depend on where they differ. */
export function sameBytes(a: Buffer, offset: number, b: Buffer, at: number, length: number) {
  let diff = 0
  for (let i = 0; i < length; i++) diff |= a[offset + i] ^ b[at + i]
  return diff === 0
}

/**
 * The header and nonce of a stream frame (ending at `nonceEnd`) as big-endian words, the last
 * ending with the nonce; the first may begin up to three bytes before the header, in the
 * preamble's dot and header length.
 */
export function namingWords(frame: Buffer, nonceEnd: number): Int32Array {
  const words = new Int32Array(Math.ceil((nonceEnd - PREAMBLE) / 4))
  for (let w = words.length - 1, at = nonceEnd - 4; w >= 0; w--, at -= 4) words[w] = wordAt(frame, at)
  return words
}

/**
 * Whether the header and nonce of `frame` (ending at `nonceEnd`) are those `words` hold (see
 * namingWords): four bytes at a time, nonce first, since nonces differ first. The caller checks
 * that the frame reaches `nonceEnd`.
 */
export function namedBy(frame: Buffer, nonceEnd: number, words: Int32Array): boolean {
  for (let w = words.length - 1, at = nonceEnd - 4; w >= 0; w--, at -= 4) {
    if (wordAt(frame, at) !== words[w]) return false
  }
  return true
}

/** The longest context sealed with a stream frame (a request id). */
export const STREAM_CONTEXT = 16

/**
 * Whether a context can be sealed on a stream: printable ASCII without a bar (each character is
 * written as one byte), at most STREAM_CONTEXT characters. Request ids are decimal.
 */
export function isPlainContext(context: string): boolean {
  if (context.length > STREAM_CONTEXT) return false
  for (let i = 0; i < context.length; i++) {
    const code = context.charCodeAt(i)
    if (code < 0x20 || code > 0x7e || code === BAR) return false
  }
  return true
}

// The digits of the last clock written: frames sealed within one millisecond copy them.
const clockDigits = Buffer.alloc(CLOCK_DIGITS)
let digitsOf = -1
let digitCount = 0

/** Writes `<clock>|<context>|` at `at` (`context`: see isPlainContext); returns where the text goes. */
export function writeHead(into: Buffer, at: number, clock: number, context: string): number {
  if (clock !== digitsOf) {
    digitCount = 1
    for (let rest = Math.floor(clock / 10); rest > 0; rest = Math.floor(rest / 10)) digitCount++
    for (let i = digitCount - 1, rest = clock; i >= 0; i--, rest = Math.floor(rest / 10)) clockDigits[i] = 0x30 + (rest % 10)
    digitsOf = clock
  }
  for (let i = 0; i < digitCount; i++) into[at + i] = clockDigits[i]
  at += digitCount
  into[at++] = BAR
  for (let i = 0; i < context.length; i++) into[at++] = context.charCodeAt(i)
  into[at++] = BAR
  return at
}

/** The clock at `at` (digits up to a bar), or -1 when malformed; `next.at` is set past the bar. */
export function readClock(from: Buffer, at: number, end: number, next: { at: number }): number {
  let clock = 0
  const last = Math.min(end, at + CLOCK_DIGITS + 1)
  for (let i = at; i < last; i++) {
    const byte = from[i]
    if (byte === BAR) {
      if (i === at) return -1
      next.at = i + 1
      return clock
    }
    if (byte < 0x30 || byte > 0x39) return -1
    clock = clock * 10 + (byte - 0x30)
  }
  return -1
}

/** Whether `context` (ASCII, no bar) followed by a bar stands at `at`. */
export function hasContext(from: Buffer, at: number, end: number, context: string): boolean {
  if (at + context.length >= end) return false
  for (let i = 0; i < context.length; i++) if (from[at + i] !== context.charCodeAt(i)) return false
  return from[at + context.length] === BAR
}

/** Views up to this many bytes long are kept: the frames of calls and replies. */
const KEPT_VIEWS = 1024

/**
 * Views of a scratch buffer from `from` on, kept by end: a small frame's hot path would otherwise
 * build two or three Buffer objects per frame, which cost more than its XOR.
 */
export class ScratchViews {
  private readonly kept: Array<Buffer | undefined> = []
  private lastEnd = -1
  private last: Buffer | undefined = undefined

  constructor(
    private readonly scratch: Buffer,
    private readonly from: number
  ) {}

  /** The scratch's bytes [from, end). */
  to(end: number): Buffer {
    if (end === this.lastEnd) return this.last!
    if (end - this.from > KEPT_VIEWS) return this.scratch.subarray(this.from, end)
    let view = this.kept[end]
    if (view === undefined) {
      view = this.scratch.subarray(this.from, end)
      this.kept[end] = view
    }
    this.lastEnd = end
    this.last = view
    return view
  }
}
