import type { Buffer } from 'buffer'
import { HEADER_MAX } from './stream-fields'
import { createStreamMemory } from './stream-memory'
import { createStreamReceiving } from './stream-receiving'
import type { StreamOpen } from './stream-receiving'
import { createStreamSending } from './stream-sending'
import type { StreamSeal } from './stream-sending'

export type { Channel, StreamTag } from './stream-fields'
export type { StreamOpened } from './stream-receiving'
export { STREAM_TEXT } from './stream-memory'

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

/** An app's stream sealing: its seal (stream-sending.ts) and its open (stream-receiving.ts). */
export interface StreamSealer {
  seal: StreamSeal
  open: StreamOpen
}

/**
 * Stream sealing for one app: `base` is its partition key under the sealing secret, `header` names
 * it. Its sending side (stream-sending.ts) and its receiving side (stream-receiving.ts) work in
 * one Poly1305 instance's memory (stream-memory.ts). An app that `speaks` an older protocol (only
 * to stand in for one, in tests and benchmarks) does what it did: 1.3 opens no `S3.` frames and
 * does not start frames on multiples of 4; 1.3 and 1.4 open no `S4.` frames.
 */
export function createStreamSealer(base: Buffer, uuid: string, header: Buffer, speaks: '1.3' | '1.4' | '1.5' = '1.5'): StreamSealer {
  if (header.length > HEADER_MAX) throw new RangeError(`the partition key is too long to seal under (${header.length} bytes of header)`)
  const memory = createStreamMemory(speaks === '1.5')
  return { seal: createStreamSending(memory, base, uuid, header, speaks), open: createStreamReceiving(memory, speaks) }
}
