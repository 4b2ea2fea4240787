import { Buffer } from 'buffer'
import { createHash, createSecretKey, hkdfSync } from 'crypto'
import type { CipherGCM, KeyObject } from 'crypto'
import { LARGE, largeBuffers } from './buffers'
import type { Text } from './json-pieces'
import { isStreamFrame } from './stream-fields'

/**
 * Frames sealed message by message (`S1.`, see security.ts): their layout, the keys they are
 * sealed under, and the encoding of a plaintext before it is sealed.
 */
export const S1_MAGIC = Buffer.from('S1.')
export const CIPHER = 'aes-256-gcm'
export const IV_BYTES = 12
export const S1_TAG_BYTES = 16
export const S1_HEADER_MAX = 128 + 1 + 8 + 1 + 64 // partition key, key id, uuid (bounded), dots
export const S1_PREAMBLE = S1_MAGIC.length + 2 // magic and header length
export const MAX_SKEW = 60_000 // ms a frame may be old (or early) before it is refused
export const KEY_CACHE = 1024 // senders whose keys are kept
export const MAX_WINDOWS = 10_000 // beyond this, windows idle for 10 × MAX_SKEW are forgotten
export const AEAD = { authTagLength: S1_TAG_BYTES } as const
export const ENCODE_FROM = 4096 // characters from which a text is encoded before it is sealed
let scratch = Buffer.alloc(0) // reused to encode texts under LARGE bytes

/** The ciphertext of `head` and `text` (whole or in pieces), encoded into a reused buffer first. */
export function sealBytes(cipher: CipherGCM, head: string, text: Text): Buffer {
  const pieces = typeof text === 'string' ? [head, text] : [head, ...text]
  let length = 0
  for (const piece of pieces) length += Buffer.byteLength(piece, 'utf8')
  const lent = length >= LARGE ? largeBuffers.take(length) : undefined
  if (!lent && scratch.length < length) scratch = Buffer.allocUnsafeSlow(Math.min(LARGE, Math.max(length, 2 * scratch.length)))
  const bytes = lent ?? scratch
  let offset = 0
  for (const piece of pieces) offset += bytes.write(piece, offset, 'utf8')
  try {
    return cipher.update(bytes.subarray(0, offset))
  } finally {
    if (lent) largeBuffers.give(lent)
  }
}

export const isMessageSealed = (part: unknown): part is Buffer => Buffer.isBuffer(part) && part.length >= S1_MAGIC.length && S1_MAGIC.equals(part.subarray(0, S1_MAGIC.length))

/** Whether a frame part is (or claims to be) a sealed frame, of either kind. */
export const isSealed = (part: unknown): part is Buffer => isMessageSealed(part) || isStreamFrame(part)

/** The clear header of a sealed frame (`<partition key>.<key id>.<uuid>`), or undefined when malformed. */
export function headerOf(frame: Buffer): string | undefined {
  if (frame.length < S1_PREAMBLE) return undefined
  const length = frame.readUInt16BE(S1_MAGIC.length)
  if (length > S1_HEADER_MAX || frame.length < S1_PREAMBLE + length) return undefined
  return frame.toString('utf8', S1_PREAMBLE, S1_PREAMBLE + length)
}

export interface SecretKey {
  id: string
  /** HKDF(secret, partition): the sender keys of that partition derive from it. */
  base: Buffer
}

export function setCounter(iv: Buffer, n: number) {
  iv.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 4)
  iv.writeUInt32BE(n >>> 0, 8)
  return iv
}

export const counterOf = (iv: Buffer) => iv.readUInt32BE(4) * 0x1_0000_0000 + iv.readUInt32BE(8)

export function partitionKey(secret: string, partition: string): SecretKey {
  const base = Buffer.from(hkdfSync('sha256', secret, 'feathers-mesh/v1', partition, 32))
  return { base, id: createHash('sha256').update(base).digest('hex').slice(0, 8) }
}

/** One key per app and secret: its counter nonces never meet another app's. */
export function senderKey(base: Buffer, uuid: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', base, 'feathers-mesh/v1 app', uuid, 32)))
}
