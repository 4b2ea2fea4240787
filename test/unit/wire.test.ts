import { expect } from 'chai'
import { encodeFrame, FrameError, FrameReader } from '../../src/wire'

// axon's own encoder and decoder: frames must stay byte-compatible with plain cote components.
const AmpMessage = require('amp-message')

function readAll(chunks: Buffer[], maxPart = 2 ** 31 - 1): unknown[][] {
  const reader = new FrameReader(maxPart)
  const frames: unknown[][] = []
  for (const chunk of chunks) reader.push(chunk, (parts) => void frames.push(parts))
  return frames
}

describe('wire framing', () => {
  it('writes the same bytes as axon (amp-message) for text parts and null', () => {
    for (const parts of [['message::mesh', 'héllo ✓'], [null, '{"ok":true}', '7'], ['', 'x']]) {
      expect(encodeFrame(parts).equals(new AmpMessage(parts).toBuffer())).to.equal(true)
    }
  })

  it('reads frames written by axon, with text, JSON and binary parts', () => {
    const frame = new AmpMessage(['text', { json: [1, 2] }, Buffer.from([1, 2, 3]), null]).toBuffer()
    const [parts] = readAll([frame])
    expect(parts.slice(0, 2)).to.deep.equal(['text', { json: [1, 2] }])
    expect(Buffer.from(parts[2] as Buffer).equals(Buffer.from([1, 2, 3]))).to.equal(true)
    expect(parts[3]).to.equal(null)
  })

  it('reassembles frames cut at every byte, and several frames in one chunk', () => {
    const stream = Buffer.concat([encodeFrame(['a', 'ünïcode']), encodeFrame([null, 'b', 'c']), encodeFrame(['d'])])
    const expected = [['a', 'ünïcode'], [null, 'b', 'c'], ['d']]
    expect(readAll([stream])).to.deep.equal(expected)
    for (let cut = 1; cut < stream.length; cut++) {
      expect(readAll([stream.subarray(0, cut), stream.subarray(cut)])).to.deep.equal(expected)
    }
    expect(readAll([...stream].map((byte) => Buffer.from([byte])))).to.deep.equal(expected)
  })

  it('stops decoding a chunk when told to (its connection was cut)', () => {
    const reader = new FrameReader(1024)
    const seen: unknown[][] = []
    reader.push(Buffer.concat([encodeFrame(['a']), encodeFrame(['b']), encodeFrame(['c'])]), (parts) => {
      seen.push(parts)
      return false
    })
    expect(seen).to.deep.equal([['a']])
  })

  it('reads a 10 MB frame that arrives in 64 KB chunks as one frame', () => {
    const big = 'x'.repeat(10 * 1024 * 1024)
    const frame = encodeFrame(['topic', big])
    const chunks: Buffer[] = []
    for (let at = 0; at < frame.length; at += 65536) chunks.push(frame.subarray(at, at + 65536))
    const frames = readAll(chunks)
    expect(frames).to.have.length(1)
    expect((frames[0][1] as string).length).to.equal(big.length)
  })

  it('refuses a wrong version, an empty frame and a part over the limit, before buffering it', () => {
    expect(() => readAll([Buffer.from([0x21, 0, 0, 0, 1, 0x41])])).to.throw(FrameError, /not a frame/)
    expect(() => readAll([Buffer.from([0x10])])).to.throw(FrameError, /not a frame/)
    const header = Buffer.from([0x11, 0xff, 0xff, 0xff, 0xff])
    expect(() => readAll([header], 1024)).to.throw(FrameError, /over the limit/)
    // Parts each under the limit, but together over it (and the 64 KB the other parts may take).
    const parts = Buffer.concat([Buffer.from([0x13]), ...[0, 1].map(() => Buffer.concat([Buffer.from([0, 1, 0, 0]), Buffer.alloc(65536, 0x41)]))])
    expect(() => readAll([parts], 65536)).to.throw(FrameError, /frame of more than/)
    expect(() => readAll([parts.subarray(0, 100)], 65536)).not.to.throw()
    expect(() => encodeFrame(new Array(16).fill('x'))).to.throw(FrameError)
  })
})
