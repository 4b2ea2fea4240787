import { Buffer } from 'buffer'
import { createCipheriv, createSecretKey, hkdfSync } from 'crypto'
import type { Cipher, KeyObject } from 'crypto'
import { MAC_KEY_BYTES } from './stream-fields'
import type { Channel } from './stream-fields'

/**
 * The keystreams of stream-sealed frames (streams.ts): AES-256-CTR computed ahead in chunks, so a
 * frame's bytes come from memory, XORed in JavaScript a word at a time, with no native call.
 */
const CHUNK = 8 * 1024 // keystream computed ahead per stream
const MAX_CHUNKS = 512 // keystreams holding a chunk at once (4 MB)
const REFILL_BELOW = 2048 // bytes left in a chunk when the next one is computed
const ZEROS = Buffer.alloc(2 * CHUNK + 16)

/** The longest keystream one frame may take (a frame's ciphertext is shorter). */
export const MAX_FRAME_KEYSTREAM = CHUNK

/**
 * Keystream of one stream; `chunk` holds its bytes from `chunkAt` on. One class for sending and
 * receiving streams, so that the property reads of every frame see a single object shape.
 */
export class Keystream {
  chunk: Buffer | undefined = undefined
  /** The chunk as 32-bit words, when its memory is aligned for them. */
  chunk32: Int32Array | undefined = undefined
  chunkAt = 0
  /**
   * The AES-CTR cipher that computed the chunk, ready to go on from its end (`cipherAt`): the next
   * chunk is its next bytes. Setting up a cipher cost about 60 µs inside a busy app (cold), once
   * per 8 KB chunk, or about 2 µs per frame; going on with one, a sixth of that.
   */
  cipher: Cipher | undefined = undefined
  cipherAt = 0
  /** Where the next frame starts (sending), or below which frames are refused (receiving). */
  next = 0
  /** A refill of the chunk is scheduled. */
  refilling = false
  /** The clock of the newest frame opened (receiving). */
  clock = 0

  constructor(
    readonly keys: StreamKeys,
    readonly nonce: Buffer,
    /** The recipient (sending), or the sender's uuid (receiving). */
    readonly peer: string
  ) {}

  get key() {
    return this.keys.key
  }
}

/** A cipher producing the keystream from byte `at` on. */
function keystreamAt(stream: Keystream, at: number) {
  const iv = Buffer.alloc(16)
  stream.nonce.copy(iv)
  const block = Math.floor(at / 16)
  iv.writeUInt32BE(Math.floor(block / 0x1_0000_0000), 8)
  iv.writeUInt32BE(block >>> 0, 12)
  const cipher = createCipheriv('aes-256-ctr', stream.key, iv)
  if (at % 16) cipher.update(ZEROS.subarray(0, at % 16))
  return cipher
}

/** A buffer's bytes as 32-bit words, when they start on a multiple of 4 in memory. */
export function wordsOf(bytes: Buffer): Int32Array | undefined {
  return bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2) : undefined
}

/**
 * XORs `length` bytes of `ks` from `k` on into `into` from `at` on: a word at a time when both have
 * word views and both offsets are multiples of 4, a byte at a time otherwise (frames of 1.3 senders,
 * which do not align their positions).
 */
function xor(into: Buffer, into32: Int32Array | undefined, at: number, ks: Buffer, ks32: Int32Array | undefined, k: number, length: number) {
  let done = 0
  if (into32 !== undefined && ks32 !== undefined && k % 4 === 0 && at % 4 === 0) {
    const words = length >> 2
    const to = at >> 2
    const from = k >> 2
    for (let i = 0; i < words; i++) into32[to + i] ^= ks32[from + i]
    done = words << 2
  }
  for (let i = done; i < length; i++) into[at + i] ^= ks[k + i]
}

export interface Keystreams {
  /**
   * XORs the stream's keystream bytes [position, position + length) into `into` from `at` on
   * (`into32`: its word view): from the stream's chunk when it covers them; else from a chunk
   * computed there when `keep`, or computed for this frame only when not (a stream not yet
   * believed keeps nothing). Only with `keep` is a chunk running low refilled (after the turn).
   */
  xorInto(stream: Keystream, position: number, length: number, keep: boolean, into: Buffer, into32: Int32Array | undefined, at: number): void
  /**
   * Copies the stream's keystream bytes [position, position + length) into `into` from `at` on, as
   * `xorInto` XORs them (a pad is used as it is): a word at a time from the chunk when it covers them.
   */
  copyInto(stream: Keystream, position: number, length: number, keep: boolean, into: Buffer, into32: Int32Array | undefined, at: number): void
  /** The stream's chunk goes (the stream was forgotten). */
  drop(stream: Keystream): void
}

/** The chunks of one app's streams: at most MAX_CHUNKS streams hold one, the least recently filled goes first. */
export function createKeystreams(): Keystreams {
  const chunked = new Set<Keystream>()

  function refill(stream: Keystream) {
    stream.refilling = false
    // A stream forgotten meanwhile, or whose chunk was given to another, is not filled again.
    if (stream.chunk) fill(stream, stream.next, CHUNK)
  }

  /** A new chunk of at least `size` keystream bytes from `position` on (from a multiple of 4 at or before it). */
  function fill(stream: Keystream, position: number, size: number): Buffer {
    const from = position - (position % 4)
    const old = stream.chunk
    let bytes: Buffer
    if (stream.cipher !== undefined && old !== undefined && from >= stream.chunkAt && from - stream.cipherAt < CHUNK && stream.cipherAt === stream.chunkAt + old.length) {
      // Within the chunk, or less than a chunk past its end: its rest, then the cipher's next
      // bytes (those up to `from` computed and skipped, still cheaper than a new cipher).
      const kept = Math.max(stream.cipherAt - from, 0)
      const skip = Math.max(from - stream.cipherAt, 0)
      const fresh = stream.cipher.update(ZEROS.subarray(0, skip + Math.max(size + position - from - kept, 16)))
      bytes = Buffer.allocUnsafeSlow(kept + fresh.length - skip) // its own memory: a word view fits
      if (kept > 0) old.copy(bytes, 0, from - stream.chunkAt)
      fresh.copy(bytes, kept, skip)
      stream.cipherAt += fresh.length
    } else {
      const cipher = keystreamAt(stream, from)
      bytes = cipher.update(ZEROS.subarray(0, size + position - from))
      stream.cipher = cipher
      stream.cipherAt = from + bytes.length
    }
    stream.chunk = bytes
    stream.chunk32 = wordsOf(bytes)
    stream.chunkAt = from
    chunked.delete(stream)
    chunked.add(stream)
    if (chunked.size > MAX_CHUNKS) drop(chunked.values().next().value as Keystream)
    return bytes
  }

  /**
   * Running low: the next chunk is computed after this turn of the event loop, when the frame at
   * hand has been written (or handled) and the peer is at work, not on the round trip.
   */
  function refillWhenLow(stream: Keystream, chunk: Buffer, position: number, length: number) {
    if (!stream.refilling && stream.chunkAt + chunk.length - position - length < REFILL_BELOW) {
      stream.refilling = true
      setImmediate(refill, stream).unref()
    }
  }

  function xorInto(stream: Keystream, position: number, length: number, keep: boolean, into: Buffer, into32: Int32Array | undefined, at: number) {
    let chunk = stream.chunk
    if (chunk && position >= stream.chunkAt && position + length <= stream.chunkAt + chunk.length) {
      if (keep) refillWhenLow(stream, chunk, position, length)
    } else if (keep) {
      chunk = fill(stream, position, Math.max(CHUNK, length))
    } else {
      return xor(into, undefined, at, keystreamAt(stream, position).update(ZEROS.subarray(0, length)), undefined, 0, length)
    }
    xor(into, into32, at, chunk, stream.chunk32, position - stream.chunkAt, length)
  }

  function drop(stream: Keystream) {
    chunked.delete(stream)
    stream.chunk = undefined
    stream.chunk32 = undefined
    stream.cipher = undefined
  }

  return {
    drop,
    copyInto(stream, position, length, keep, into, into32, at) {
      const chunk = stream.chunk
      const chunk32 = stream.chunk32
      const from = position - stream.chunkAt
      if (chunk !== undefined && chunk32 !== undefined && into32 !== undefined && from >= 0 && from + length <= chunk.length && ((from | at | length) & 3) === 0) {
        if (keep) refillWhenLow(stream, chunk, position, length)
        const k = from >> 2
        const t = at >> 2
        for (let i = 0; i < length >> 2; i++) into32[t + i] = chunk32[k + i]
        return
      }
      for (let i = 0; i < length; i++) into[at + i] = 0
      xorInto(stream, position, length, keep, into, into32, at)
    },
    xorInto
  }
}

export interface StreamKeys {
  key: KeyObject
  /** The MAC keys of `S2.` (SHA3) and `S3.` (SHA-256) frames: one key per kind of tag. */
  macKey: Buffer
  macKey3: Buffer
  /** The Poly1305 `r` of `S4.` frames (clamped by Poly1305 itself). */
  polyR: Buffer
}

/** The bytes of a Poly1305 `r`. */
export const POLY_R_BYTES = 16

/**
 * The keys of the stream from `from` to `to` on `channel`. HKDF's output is the same stream of
 * bytes whatever length is asked, so the first two keys are those of 1.3, the MAC key of `S3.`
 * frames comes after them, and the `r` of `S4.` frames after that: a tag of one kind says nothing
 * about another.
 */
export function streamKeys(base: Buffer, from: string, to: string, channel: Channel): StreamKeys {
  const macKeysEnd = 32 + 2 * MAC_KEY_BYTES
  const keys = Buffer.from(hkdfSync('sha256', base, 'feathers-mesh/v1.3 stream', `${from}>${to}/${channel}`, macKeysEnd + POLY_R_BYTES))
  return {
    key: createSecretKey(keys.subarray(0, 32)),
    macKey: keys.subarray(32, 32 + MAC_KEY_BYTES),
    macKey3: keys.subarray(32 + MAC_KEY_BYTES, macKeysEnd),
    polyR: keys.subarray(macKeysEnd)
  }
}
