import { expect } from 'chai'
import { encodeFrame, FrameError, FrameReader, OversizedPart } from '../../src/wire'
import { utf8Text } from '../../src/sliced-text'
import { BufferPool, LARGE, largeBuffers, LENT_FRAME } from '../../src/buffers'

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

  it('joins a large frame in a reused buffer, keeping the start of the next frame and every text intact', () => {
    // Two large frames, each followed by the start of the next one, in 64 KB chunks: the second join
    // reuses the buffer the first one gave back, so a part kept from the first must have been copied.
    const texts = ['a'.repeat(LARGE * 2), 'b'.repeat(LARGE * 2) + 'é', 'c']
    const stream = Buffer.concat(texts.map((text) => encodeFrame(['topic', text])))
    const chunks: Buffer[] = []
    for (let at = 0; at < stream.length; at += 65536) chunks.push(stream.subarray(at, at + 65536))
    const reader = new FrameReader(2 ** 31 - 1)
    const frames: unknown[][] = []
    for (const chunk of chunks) {
      reader.push(chunk, (parts) => void frames.push(parts))
      // Whoever takes the buffer next writes over it.
      const other = largeBuffers.take(LARGE * 3)
      other.fill(0x7a)
      largeBuffers.give(other)
    }
    expect(frames.map((parts) => parts[1])).to.deep.equal(texts)
    expect(largeBuffers.held()).to.be.greaterThan(0)
  })

  it('keeps a large frame whose last part has not arrived yet intact while its buffer would be reused', () => {
    const big = 'z'.repeat(LARGE * 2)
    const frame = encodeFrame(['topic', big, 'id'])
    const end = frame.length - 8 // the last part: its length (4 bytes) and `s:id`
    const reader = new FrameReader(2 ** 31 - 1)
    const frames: unknown[][] = []
    for (const chunk of [frame.subarray(0, 70_000), frame.subarray(70_000, end), frame.subarray(end)]) {
      reader.push(chunk, (parts) => void frames.push(parts))
      const other = largeBuffers.take(LARGE * 3)
      other.fill(0x7a)
      largeBuffers.give(other)
    }
    expect(frames).to.have.length(1)
    expect(frames[0][1] === big && frames[0][2] === 'id').to.equal(true)
  })

  it('decodes large texts the same way, ASCII or not', () => {
    for (const text of ['x'.repeat(40_000), 'x'.repeat(40_000) + 'ü€😀', '{"a":"' + 'é'.repeat(20_000) + '"}']) {
      expect(utf8Text(Buffer.from(text))).to.equal(text)
      expect(utf8Text(Buffer.from('..' + text + '..'), 2, 2 + Buffer.byteLength(text))).to.equal(text)
    }
  })

  it('skips a part over the limit unread, keeping the frame (its id) and the connection: cut anywhere, the same frames', () => {
    const big = 'x'.repeat(5000)
    const stream = Buffer.concat([encodeFrame(['small', '1']), encodeFrame([big, '2']), encodeFrame([null, big, '3']), encodeFrame(['topic', big]), encodeFrame(['after', '4'])])
    const shown = (frames: unknown[][]) => frames.map((parts) => parts.map((part) => (part instanceof OversizedPart ? `oversized ${part.length}` : part)))
    const expected = [['small', '1'], ['oversized 5002', '2'], [null, 'oversized 5002', '3'], ['topic', 'oversized 5002'], ['after', '4']]
    const whole = readAll([stream], 1024)
    expect(shown(whole)).to.deep.equal(expected)
    // The first bytes that arrived with it (a sealed frame's header names its sender).
    expect((whole[1][0] as OversizedPart).head.toString('latin1')).to.equal(`s:${'x'.repeat(254)}`)
    for (let cut = 1; cut < stream.length; cut += 97) expect(shown(readAll([stream.subarray(0, cut), stream.subarray(cut)], 1024)), `cut at ${cut}`).to.deep.equal(expected)
    for (const size of [1, 7, 1000, 4096]) {
      const chunks: Buffer[] = []
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size))
      expect(shown(readAll(chunks, 1024)), `chunks of ${size}`).to.deep.equal(expected)
    }
  })

  it("waits for an oversized part's first bytes before skipping it: its head always has them (a sealed frame's header)", () => {
    const frame = encodeFrame(['h'.repeat(3000), '9'])
    for (const cut of [5, 6, 9, 50, 200]) {
      const reader = new FrameReader(1024)
      const frames: unknown[][] = []
      reader.push(frame.subarray(0, cut), (parts) => void frames.push(parts))
      reader.push(frame.subarray(cut), (parts) => void frames.push(parts))
      expect(frames, `cut at ${cut}`).to.have.length(1)
      expect((frames[0][0] as OversizedPart).head.toString('latin1'), `cut at ${cut}`).to.equal(`s:${'h'.repeat(254)}`)
      expect(frames[0][1]).to.equal('9')
    }
  })

  it('hands on a frame whose last part is skipped as soon as its last byte arrives', () => {
    const reader = new FrameReader(1024)
    const frame = encodeFrame(['topic', 'y'.repeat(3000)])
    const frames: unknown[][] = []
    reader.push(frame.subarray(0, 2000), (parts) => void frames.push(parts))
    expect(frames).to.have.length(0)
    reader.push(frame.subarray(2000), (parts) => void frames.push(parts))
    expect(frames).to.have.length(1)
    expect((frames[0][1] as OversizedPart).length).to.equal(3002)
  })

  it('refuses a wrong version, an empty frame, and a part over the limit after a raw one', () => {
    expect(() => readAll([Buffer.from([0x21, 0, 0, 0, 1, 0x41])])).to.throw(FrameError, /not a frame/)
    expect(() => readAll([Buffer.from([0x10])])).to.throw(FrameError, /not a frame/)
    expect(() => readAll([encodeFrame([Buffer.from([1, 2]), 'z'.repeat(2000)])], 1024)).to.throw(FrameError, /follows a raw one/)
    // Parts each under the limit, but together over it (and the 64 KB the other parts may take).
    const parts = Buffer.concat([Buffer.from([0x13]), ...[0, 1].map(() => Buffer.concat([Buffer.from([0, 1, 0, 0]), Buffer.alloc(65536, 0x41)]))])
    expect(() => readAll([parts], 65536)).to.throw(FrameError, /frame of more than/)
    expect(() => readAll([parts.subarray(0, 100)], 65536)).not.to.throw()
    expect(() => encodeFrame(new Array(16).fill('x'))).to.throw(FrameError)
  })
})

describe('large buffer pool', () => {
  it('lends a buffer given back again, for any size that fits', () => {
    const pool = new BufferPool()
    const first = pool.take(LARGE * 3)
    expect(first.length).to.equal(LARGE * 3)
    pool.give(first)
    const second = pool.take(LARGE * 3 - 100)
    expect(second.buffer).to.equal(first.buffer)
    expect(second.length).to.equal(LARGE * 3 - 100)
  })

  it('ignores a second give-back and buffers it never lent', () => {
    const pool = new BufferPool()
    const lent = pool.take(LARGE)
    pool.give(lent)
    pool.give(lent)
    pool.give(Buffer.alloc(LARGE))
    const a = pool.take(LARGE)
    const b = pool.take(LARGE)
    expect(a.buffer).to.equal(lent.buffer)
    expect(b.buffer).not.to.equal(lent.buffer)
  })

  it('keeps no buffer larger than its cap (64 MB by default)', () => {
    const pool = new BufferPool({ maxKept: 4 * LARGE })
    pool.give(pool.take(2 * LARGE))
    expect(pool.held()).to.be.greaterThan(0)
    const big = new BufferPool({ maxKept: 4 * LARGE })
    big.give(big.take(5 * LARGE))
    expect(big.held()).to.equal(0)
  })

  it('frees idle buffers once unused for a while (10 s by default)', async () => {
    const pool = new BufferPool({ idleMs: 50 })
    pool.give(pool.take(LARGE))
    expect(pool.held()).to.be.greaterThan(0)
    const deadline = Date.now() + 2000
    while (pool.held() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(pool.held()).to.equal(0)
  })

  it('keeps at most two idle buffers of LARGE bytes or more, and eight smaller ones', () => {
    const pool = new BufferPool()
    const lent = [pool.take(LARGE), pool.take(LARGE), pool.take(LARGE)]
    for (const buffer of lent) pool.give(buffer)
    expect(pool.held()).to.equal(2 * lent[0].buffer.byteLength)
    const smalls = new BufferPool()
    const small = Array.from({ length: 10 }, () => smalls.take(LENT_FRAME))
    for (const buffer of small) smalls.give(buffer)
    expect(smalls.held()).to.equal(8 * small[0].buffer.byteLength)
    // The newest are kept: the first two given back went.
    expect(smalls.take(LENT_FRAME).buffer).to.equal(small[2].buffer)
  })

  it('lends no idle buffer more than twice the size asked: a small frame does not hold a large one', () => {
    const pool = new BufferPool()
    const large = pool.take(4 * LARGE)
    pool.give(large)
    expect(pool.take(LENT_FRAME).buffer).not.to.equal(large.buffer)
    expect(pool.take(3 * LARGE).buffer).to.equal(large.buffer)
  })

  it('lends frames of LENT_FRAME bytes or more, so a burst of 64 KB batches reuses the same memory', () => {
    const before = largeBuffers.take(LENT_FRAME + 100)
    largeBuffers.give(before)
    const frame = encodeFrame(['topic', 'x'.repeat(LENT_FRAME)])
    expect(frame.buffer).to.equal(before.buffer)
    largeBuffers.give(frame)
    expect(encodeFrame(['topic', 'x'.repeat(100)]).buffer).not.to.equal(before.buffer)
  })
})
