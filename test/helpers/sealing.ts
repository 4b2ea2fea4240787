import { createCipheriv, createHash, hkdfSync, randomBytes } from 'crypto'
import type { OpenResult } from '../../src/security'

/** Runs `action` with Date.now() moved by `ms`: frames sealed or opened as if at another time. */
export function shifted<T>(ms: number, action: () => T): T {
  const now = Date.now
  Date.now = () => now() + ms
  try {
    return action()
  } finally {
    Date.now = now
  }
}

/** What became of a frame: `opened`, or why it was refused. */
export const reason = (result: OpenResult) => (result.ok ? 'opened' : result.reason)

/** The frame with one bit of the byte at `index` flipped. */
export function flip(frame: Buffer, index: number) {
  const copy = Buffer.from(frame)
  copy[index] ^= 0x10
  return copy
}

/**
 * Stream frames built and opened from the README's description alone (no code of src/): an
 * independent reading of `S2.` (1.3), `S3.` (1.4) and `S4.` (1.5) frames, for tests that must not share a
 * mistake with the code they check (a keystream taken from the wrong offset, say, would still
 * round-trip between two copies of the same code).
 */
/** Poly1305 as RFC 8439 section 2.5 writes it, with BigInt: `key` is r then s, 16 bytes each. */
export function referencePoly1305(key: Buffer, message: Buffer): Buffer {
  const littleEndian = (bytes: Buffer) => {
    let value = 0n
    for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i])
    return value
  }
  const r = littleEndian(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn
  const s = littleEndian(key.subarray(16, 32))
  const p = (1n << 130n) - 5n
  let accumulator = 0n
  for (let i = 0; i < message.length; i += 16) {
    const block = message.subarray(i, i + 16)
    accumulator = ((accumulator + littleEndian(block) + (1n << BigInt(8 * block.length))) * r) % p
  }
  let tag = (accumulator + s) & ((1n << 128n) - 1n)
  const out = Buffer.alloc(16)
  for (let i = 0; i < 16; i++, tag >>= 8n) out[i] = Number(tag & 0xffn)
  return out
}

export function referenceStream(secret: string, partition: string, from: string, to: string, channel: string) {
  const base = Buffer.from(hkdfSync('sha256', secret, 'feathers-mesh/v1', partition, 32))
  const id = createHash('sha256').update(base).digest('hex').slice(0, 8)
  const header = Buffer.from(`${partition}.${id}.${from}`)
  const keys = Buffer.from(hkdfSync('sha256', base, 'feathers-mesh/v1.3 stream', `${from}>${to}/${channel}`, 112))
  const nonce = randomBytes(8)
  const keystream = (position: number, length: number) => {
    const iv = Buffer.concat([nonce, Buffer.alloc(8)])
    iv.writeBigUInt64BE(BigInt(Math.floor(position / 16)), 8)
    const bytes = createCipheriv('aes-256-ctr', keys.subarray(0, 32), iv).update(Buffer.alloc((position % 16) + length))
    return bytes.subarray(position % 16)
  }
  // An S4 frame's plaintext starts 16 bytes after its position: the block there is its pad.
  const plainAt = (kind: '2' | '3' | '4', position: number) => (kind === '4' ? position + 16 : position)
  const tagOf = (kind: '2' | '3' | '4', position: Buffer, ciphertext: Buffer) => {
    if (kind === '4') {
      // r: the last 16 bytes of the keys; s: the frame's pad, the 16 bytes of keystream at its position.
      const pad = keystream(Number(position.readBigUInt64BE()), 16)
      return referencePoly1305(Buffer.concat([keys.subarray(96, 112), pad]), Buffer.concat([nonce, position, ciphertext]))
    }
    const macKey = kind === '2' ? keys.subarray(32, 64) : keys.subarray(64, 96)
    return createHash(kind === '2' ? 'sha3-256' : 'sha256').update(Buffer.concat([macKey, nonce, position, ciphertext])).digest().subarray(0, 16)
  }
  return {
    /** A frame of `kind` at `position` (any byte offset), carrying `<clock>|<context>|<text>`; it takes the stream's bytes up to `plainAt + length`. */
    seal(kind: '2' | '3' | '4', position: number, text: string, context = '', clock = Date.now()) {
      const plain = Buffer.from(`${clock}|${context}|${text}`)
      const ks = keystream(plainAt(kind, position), plain.length)
      const ciphertext = Buffer.from(plain.map((byte, i) => byte ^ ks[i]))
      const at = Buffer.alloc(8)
      at.writeBigUInt64BE(BigInt(position))
      const length = Buffer.alloc(2)
      length.writeUInt16BE(header.length)
      return Buffer.concat([Buffer.from(`S${kind}.`), length, header, nonce, at, ciphertext, tagOf(kind, at, ciphertext)])
    },
    /** The plaintext of a frame sealed by `from` for `to` on `channel` (keys of that direction), or why not. */
    open(frame: Buffer): string {
      const kind = String.fromCharCode(frame[1]) as '2' | '3' | '4'
      const start = 5 + frame.readUInt16BE(3)
      const theirs = frame.subarray(start, start + 8)
      nonce.set(theirs) // the sender's nonce: this reference then reads its stream
      const at = frame.subarray(start + 8, start + 16)
      const ciphertext = frame.subarray(start + 16, frame.length - 16)
      if (!tagOf(kind, at, ciphertext).equals(frame.subarray(frame.length - 16))) return 'authentication failed'
      const ks = keystream(plainAt(kind, Number(at.readBigUInt64BE())), ciphertext.length)
      return Buffer.from(ciphertext.map((byte, i) => byte ^ ks[i])).toString()
    }
  }
}
