import { expect } from 'chai'
import { randomBytes } from 'crypto'
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
