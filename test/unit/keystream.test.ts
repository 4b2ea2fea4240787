import { expect } from 'chai'
import { createCipheriv, randomBytes } from 'crypto'
import { createKeystreams, Keystream, streamKeys, wordsOf } from '../../src/keystream'
import type { Keystreams } from '../../src/keystream'

const BASE = randomBytes(32)
const streamOf = (i: number) => new Keystream(streamKeys(BASE, 'from', `to-${i}`, 'calls'), randomBytes(8), `to-${i}`)

describe('keystreams', () => {
  const fillAt = (keystreams: Keystreams, stream: Keystream, position: number) => {
    const into = Buffer.alloc(16)
    keystreams.xorInto(stream, position, 16, true, into, wordsOf(into), 0)
  }

  it('hold at most 512 chunks (4 MB), the least recently filled going first, and a stream forgotten lets its chunk go', () => {
    const keystreams = createKeystreams()
    const streams = Array.from({ length: 600 }, (_, i) => streamOf(i))
    for (const stream of streams) fillAt(keystreams, stream, 0)
    expect(streams.filter((s) => s.chunk !== undefined)).to.have.length(512)
    expect(streams.slice(0, 88).every((s) => s.chunk === undefined)).to.equal(true)
    const last = streams[599]
    keystreams.drop(last)
    expect(last.chunk).to.equal(undefined)
    // Another stream takes the room it left: the oldest of the rest stays.
    fillAt(keystreams, streams[0], 0)
    expect(streams[88].chunk).to.not.equal(undefined)
  })

  it('give AES-CTR at each position across chunk refills (one cipher going on) and jumps (a new one)', async () => {
    const keystreams = createKeystreams()
    const stream = streamOf(3)
    // The reference: AES-256-CTR from the position's block, the nonce then the block number as the IV.
    const expected = (position: number, length: number) => {
      const iv = Buffer.alloc(16)
      stream.nonce.copy(iv)
      iv.writeUInt32BE(Math.floor(position / 16 / 2 ** 32), 8)
      iv.writeUInt32BE(Math.floor(position / 16) >>> 0, 12)
      return createCipheriv('aes-256-ctr', stream.keys.key, iv).update(Buffer.alloc(length + (position % 16))).subarray(position % 16)
    }
    let position = 0
    let ciphers = 0
    let lastCipher: unknown
    for (let frame = 0; frame < 400; frame++) {
      const length = 1 + ((frame * 7919) % 2000)
      if (frame === 150) position += 50_000 // a jump past the chunk: a new cipher there
      const into = Buffer.alloc(length + 4)
      keystreams.xorInto(stream, position, length, true, into, wordsOf(into), 4)
      expect(into.subarray(4).equals(expected(position, length)), `frame ${frame} at ${position}`).to.equal(true)
      if (stream.cipher !== lastCipher) ciphers++
      lastCipher = stream.cipher
      position = Math.ceil((position + length) / 4) * 4
      stream.next = position // as a sealer keeps it: refills start there
      // Refills run after the turn, as in an app; in some stretches none does, and frames run
      // past the chunk (up to 16 KB of them: the cipher goes on, skipping what no frame took).
      if (frame % 3 === 0 && (frame < 200 || frame > 260)) await new Promise((resolve) => setImmediate(resolve))
      if (frame === 300) position += 5000
    }
    expect(position).to.be.greaterThan(300_000) // about 40 chunks
    expect(ciphers).to.equal(2) // the first, and the one at the jump
  })

  it('copy the bytes that XORing into zeros gives: from the chunk, past it, and for a stream with none', () => {
    const keystreams = createKeystreams()
    const stream = streamOf(1)
    fillAt(keystreams, stream, 0)
    for (const [position, keep] of [[32, false], [8192 - 16, false], [8192 + 4096, false], [64, true]] as const) {
      const copied = Buffer.alloc(32, 0xee)
      keystreams.copyInto(stream, position, 16, keep, copied, wordsOf(copied), 16)
      const xored = Buffer.alloc(32)
      keystreams.xorInto(stream, position, 16, keep, xored, wordsOf(xored), 16)
      expect(copied.subarray(16).equals(xored.subarray(16)), `at ${position}`).to.equal(true)
      expect(copied.subarray(0, 16).equals(Buffer.alloc(16, 0xee))).to.equal(true)
    }
    const fresh = streamOf(2)
    const copied = Buffer.alloc(16, 0xee)
    keystreams.copyInto(fresh, 48, 16, false, copied, wordsOf(copied), 0)
    const xored = Buffer.alloc(16)
    keystreams.xorInto(fresh, 48, 16, false, xored, wordsOf(xored), 0)
    expect(copied.equals(xored)).to.equal(true)
    expect(fresh.chunk).to.equal(undefined)
  })
})
