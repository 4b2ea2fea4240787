import { Buffer } from 'buffer'
import { createKeystreams, wordsOf, POLY_R_BYTES, MAX_FRAME_KEYSTREAM } from './keystream'
import type { Keystream, Keystreams } from './keystream'
import { createPoly1305, POLY1305_MEMORY } from './poly1305'
import type { Poly1305 } from './poly1305'
import { MACED, PREAMBLE, HEADER_MAX, STREAM_CONTEXT, TAG_BYTES, TEXT_AT } from './stream-fields'

/**
 * The bytes one stream sealer works in (streams.ts), shared by its sending and its receiving
 * side: the keystreams of its streams, and the memory of its Poly1305 instance, where every frame
 * is sealed and opened so that its tag is computed where it lies.
 */

/**
 * The longest text sealed on a stream, in characters (at most 3 bytes each in UTF-8). XOR in
 * JavaScript and one tag (a hash call, measured with SHA-256) beat a cipher object for small frames only: on a 64 KB batch of
 * events AES-GCM seals and opens in 190–290 µs, a keystream, a word XOR and SHA-256 in 330–390 µs,
 * so longer texts are sealed message by message.
 */
export const STREAM_TEXT = 2048
const TIMESTAMP = 16 + 1 + STREAM_CONTEXT + 1 // characters of the clock, the context and their bars
export const MAX_CIPHERTEXT = 3 * (STREAM_TEXT + TIMESTAMP)
/**
 * `S4.` frames start on multiples of this: a frame's pad is the keystream block at its position,
 * and its plaintext starts right after it, so that every frame has a block of its own, never XORed
 * into a text.
 */
export const PAD_BYTES = 16
// An `S4.` frame takes its pad and its plaintext from one chunk when the pad made it compute that chunk.
if (PAD_BYTES + MAX_CIPHERTEXT > MAX_FRAME_KEYSTREAM) throw new Error('a stream frame could take more keystream than a chunk holds')

/**
 * Where a sealer keeps its bytes in its Poly1305 instance's memory: the one-time keys (r, then the
 * frame's pad as s) of the frame sealed and of the frame opened (each side mostly keeps one stream,
 * its calls' or its replies', and its r stays in place), the tag of a frame being opened, then the
 * scratch buffers of sealing and opening.
 * Sealing an `S4.` frame writes its preamble right before its nonce, where the other kinds keep
 * their MAC key, so that the frame leaves as one piece: SEAL_SCRATCH leaves room for the longest.
 */
export const SEAL_KEY = 0
export const OPEN_KEY = 32
export const POLY_OUT = 64
export const SEAL_SCRATCH = 8 * Math.ceil((POLY_OUT + 16 + PREAMBLE + HEADER_MAX - MACED) / 8)
const SEAL_BYTES = TEXT_AT + MAX_CIPHERTEXT + TAG_BYTES
export const OPEN_SCRATCH = SEAL_SCRATCH + SEAL_BYTES + (8 - (SEAL_BYTES % 8))
const OPEN_BYTES = TEXT_AT + MAX_CIPHERTEXT
if (OPEN_SCRATCH + OPEN_BYTES > POLY1305_MEMORY) throw new Error('the scratch buffers of stream frames do not fit in a Poly1305 instance')

export interface StreamMemory {
  readonly keystreams: Keystreams
  /** Only an app that opens `S4.` frames runs WebAssembly (an app of 1.4 stands in where it cannot). */
  readonly poly: Poly1305 | undefined
  readonly memory: Buffer
  readonly sealScratch: Buffer
  readonly sealScratch32: Int32Array | undefined
  readonly openScratch: Buffer
  readonly openScratch32: Int32Array | undefined
  /**
   * Puts the one-time Poly1305 key of the `S4.` frame at `position` of `stream` in memory at `at`:
   * the stream's r, and as s the frame's pad, the keystream block at `position` (from the chunk
   * when it covers it; else computed for this frame alone, kept only when `keep`).
   */
  polyKey(at: typeof SEAL_KEY | typeof OPEN_KEY, stream: Keystream, position: number, keep: boolean): void
}

export function createStreamMemory(opensPoly: boolean): StreamMemory {
  const keystreams = createKeystreams()
  const poly = opensPoly ? createPoly1305() : undefined
  const memory = poly?.memory ?? Buffer.alloc(POLY1305_MEMORY)
  const memory32 = wordsOf(memory)
  const sealScratch = memory.subarray(SEAL_SCRATCH, SEAL_SCRATCH + SEAL_BYTES)
  const openScratch = memory.subarray(OPEN_SCRATCH, OPEN_SCRATCH + OPEN_BYTES)
  // The streams whose Poly1305 r is in memory, at SEAL_KEY and at OPEN_KEY.
  const polyKeyOf: Array<Keystream | undefined> = [undefined, undefined]
  return {
    keystreams,
    poly,
    memory,
    sealScratch,
    sealScratch32: wordsOf(sealScratch),
    openScratch,
    openScratch32: wordsOf(openScratch),
    polyKey(at, stream, position, keep) {
      const slot = at === SEAL_KEY ? 0 : 1
      if (polyKeyOf[slot] !== stream) {
        stream.keys.polyR.copy(memory, at)
        polyKeyOf[slot] = stream
      }
      keystreams.copyInto(stream, position, PAD_BYTES, keep, memory, memory32, at + POLY_R_BYTES)
    }
  }
}
