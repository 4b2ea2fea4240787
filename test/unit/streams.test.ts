import { expect } from 'chai'
import { createHash, randomBytes, randomUUID } from 'crypto'
import { createSealer } from '../../src/security'
import { flip, reason, referenceStream, shifted } from '../helpers/sealing'
import { createStreamSealer } from '../../src/streams'
import { commonTag, namedTag, readPosition, ScratchViews, tagFields, writeHead, writePosition } from '../../src/stream-fields'
import type { Channel, StreamTag } from '../../src/streams'
import * as keystreamModule from '../../src/keystream'
import { ownCopy } from '../../src/buffers'

const S1 = 'first-mesh-secret-0123456789'
const S2 = 'second-mesh-secret-9876543210'
const text = JSON.stringify({ v: 1, type: 'call', path: 'todos', method: 'get', args: [1], params: { query: {} } })

/** The tag the apps of a block seal stream frames with: every block runs once per kind. */
let TAG: StreamTag = 'sha3-256'
const MAGIC: Record<StreamTag, string> = { 'sha3-256': 'S2.', sha256: 'S3.', poly1305: 'S4.' }
const PROTOCOL: Record<StreamTag, string> = { 'sha3-256': '1.3', sha256: '1.4', poly1305: '1.5' }

/** An app that seals on streams; its frames come as one buffer, as they arrive on the wire. */
function app(partition: string, secrets = [S1]) {
  const uuid = randomUUID()
  const sealer = createSealer(secrets, partition, uuid)
  return {
    uuid,
    seal: (body: string | string[], to: string, channel: Channel = 'calls', context?: string) => Buffer.concat(sealer.seal(body, to, channel, context, TAG)),
    open: (frame: Buffer, channel: Channel = 'calls', context?: string) => sealer.open(frame, uuid, channel, context),
    sealer,
    /** Seals the 1.2 way: each message on its own. */
    sealMessage: (body: string, to: string) => Buffer.concat(sealer.seal(body, to))
  }
}

const pair = () => ({ a: app('consumer'), b: app('todos') })
const createSealerFor = (app: { sealer: ReturnType<typeof createSealer> }) => app.sealer
/** Where the nonce (then the position, then the ciphertext) of a stream frame starts. */
const nonceAt = (frame: Buffer) => 5 + frame.readUInt16BE(3)


for (const tag of ['sha3-256', 'sha256', 'poly1305'] as const) describe(`stream-sealed frames, ${tag} tags (${MAGIC[tag]}, protocol ${PROTOCOL[tag]})`, () => {
  before(() => {
    TAG = tag
  })
  after(() => {
    TAG = 'sha3-256'
  })

  it('open where they were sent; texts over 2048 characters, or in pieces, are sealed the 1.2 way', () => {
    const { a, b } = pair()
    const texts = ['', text, '漢字 🎉'.repeat(409), 'x'.repeat(2048)]
    for (const body of texts) {
      const frame = a.seal(body, b.uuid)
      expect(frame.subarray(0, 3).toString()).to.equal(MAGIC[tag])
      expect(b.open(frame)).to.deep.equal({ ok: true, text: body, from: a.uuid })
    }
    for (const body of ['x'.repeat(2049), 'y'.repeat(300_000)]) {
      const frame = a.seal(body, b.uuid)
      expect(frame.subarray(0, 3).toString()).to.equal('S1.')
      expect(b.open(frame)).to.deep.equal({ ok: true, text: body, from: a.uuid })
    }
    expect(b.open(a.seal(['[1,', '2', ']'], b.uuid))).to.deep.equal({ ok: true, text: '[1,2]', from: a.uuid })
    // The ciphertext does not show the text.
    expect(a.seal('a readable record', b.uuid).includes(Buffer.from('readable'))).to.equal(false)
  })

  it('keep opening across thousands of frames of mixed sizes (keystream chunks refilled)', () => {
    const { a, b } = pair()
    for (let i = 0; i < 3000; i++) {
      const body = i % 97 === 0 ? 'z'.repeat(20_000 + i) : `${i}:${'é'.repeat(i % 700)}`
      const result = b.open(a.seal(body, b.uuid))
      if (!result.ok || result.text !== body) expect.fail(`frame ${i}: ${reason(result)}`)
      const reply = a.open(b.seal(`r${i}`, a.uuid, 'replies'), 'replies')
      if (!reply.ok || reply.text !== `r${i}`) expect.fail(`reply ${i}: ${reason(reply)}`)
    }
  })

  it('keep opening when chunks are refilled ahead, between turns of the event loop', async () => {
    const { a, b } = pair()
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    for (let i = 0; i < 400; i++) {
      const body = `${i}:${'x'.repeat(300 + (i % 7) * 100)}`
      const frame = a.seal(body, b.uuid)
      await turn()
      expect(b.open(frame)).to.deep.equal({ ok: true, text: body, from: a.uuid })
      await turn()
    }
  })

  it('refuses a frame altered anywhere, and the original still opens afterwards', () => {
    const { a, b } = pair()
    for (const body of [text, 'w'.repeat(2000)]) {
      const frame = a.seal(body, b.uuid)
      const nonce = nonceAt(frame)
      const positions = [3, 4, 5, nonce - 1, nonce, nonce + 7, nonce + 8, nonce + 15, nonce + 16, nonce + 30, frame.length - 17, frame.length - 1]
      for (const index of positions) {
        const result = b.open(flip(frame, index))
        expect(result.ok, `altered at ${index}`).to.equal(false)
        expect(result.ok === false && result.from, `no sender for an alteration at ${index}`).to.equal(undefined)
      }
      expect(reason(b.open(frame.subarray(0, -1)))).to.equal('authentication failed')
      expect(reason(b.open(frame.subarray(0, nonce + 20)))).to.equal('malformed')
      expect(b.open(frame)).to.deep.equal({ ok: true, text: body, from: a.uuid })
    }
  })

  it('open only on their own channel and for their own recipient', () => {
    const { a, b } = pair()
    const c = app('todos')
    const call = a.seal(text, b.uuid, 'calls')
    expect(reason(b.open(call, 'replies'))).to.equal('authentication failed')
    expect(reason(b.open(call, 'events'))).to.equal('authentication failed')
    expect(reason(c.open(call))).to.equal('authentication failed')
    expect(reason(b.open(call))).to.equal('opened')
    // Published frames open for every app of the mesh, on the events channel only.
    const event = a.seal(text, '*', 'events')
    expect(reason(b.open(event, 'events'))).to.equal('opened')
    expect(reason(c.open(event, 'events'))).to.equal('opened')
    expect(reason(c.open(a.seal(text, '*', 'events'), 'calls'))).to.equal('authentication failed')
  })

  it('open each frame once, refuse frames older than the newest, and skip over gaps', () => {
    const { a, b } = pair()
    const frames = Array.from({ length: 6 }, (_, i) => a.seal(`${i}`, b.uuid))
    expect(reason(b.open(frames[0]))).to.equal('opened')
    expect(b.open(frames[0])).to.deep.equal({ ok: false, reason: 'replayed', from: a.uuid })
    // Frames 1 and 2 never arrive (a dropped connection, a slow subscriber): 3 opens, and they are then too old.
    expect(reason(b.open(frames[3]))).to.equal('opened')
    expect(reason(b.open(frames[1]))).to.equal('replayed')
    expect(reason(b.open(frames[4]))).to.equal('opened')
    expect(reason(b.open(frames[5]))).to.equal('opened')
  })

  it('refuse frames more than 60 s old or early', () => {
    const { a, b } = pair()
    expect(b.open(shifted(-61_000, () => a.seal(text, b.uuid)))).to.deep.equal({ ok: false, reason: 'too old', from: a.uuid })
    expect(reason(b.open(shifted(61_000, () => a.seal(text, b.uuid))))).to.equal('too old')
    expect(reason(b.open(shifted(-50_000, () => a.seal(text, b.uuid))))).to.equal('opened')
  })

  it('rotate: the first secret seals, every secret opens', () => {
    const to = app('gateway', [S1, S2])
    expect(reason(to.open(app('todos', [S2]).seal(text, to.uuid)))).to.equal('opened')
    expect(reason(to.open(app('todos', [S1, S2]).seal(text, to.uuid)))).to.equal('opened')
    const strict = app('gateway', [S2])
    expect(reason(strict.open(app('todos', [S1, S2]).seal(text, strict.uuid)))).to.equal('unknown secret')
  })

  it('forged frames leave no state: the real stream opens afterwards, from its first frame', () => {
    const { a, b } = pair()
    const real = a.seal(text, b.uuid)
    // A forgery naming the same sender and stream, at a later position (on the grid of S4 frames).
    const forged = Buffer.from(real)
    forged.writeUInt32BE(16, nonceAt(real) + 12)
    expect(reason(b.open(forged))).to.equal('authentication failed')
    expect(reason(b.open(real))).to.equal('opened')
  })

  it('refuse a frame forged from a guessed plaintext, on a recipient that saw the stream and on a new one', () => {
    const { a, b } = pair()
    const late = app('gateway')
    // A published record whose text the attacker chose or guessed: it reveals that stretch of keystream.
    const body = JSON.stringify({ title: 'x'.repeat(900) })
    const known = a.seal(body, '*', 'events')
    const nonce = nonceAt(known)
    const position = known.readUInt32BE(nonce + 12)
    // The plaintext is `<clock>|<context>|<text>`: all but the clock's last digits are known.
    const plain = Buffer.from(`${Date.now()}||${body}`)
    const cipher = known.subarray(nonce + 16, known.length - 16)
    const keystream = Buffer.from(cipher.map((byte, i) => byte ^ plain[i]))
    // A frame placed inside that stretch, with a text of the attacker's, tagged every way the keystream allows.
    const forged = Buffer.from(`${Date.now()}|{"type":"goodbye"}`)
    const at = 96 // the forged frame's position, 32 bytes further, is on the grid of S4 frames
    const ciphertext = Buffer.from(forged.map((byte, i) => byte ^ keystream[at + 32 + i]))
    const frame = Buffer.alloc(nonce + 16 + ciphertext.length + 16)
    known.copy(frame, 0, 0, nonce + 8)
    // Laid out as a first draft of 1.3 did, which took a one-time MAC key from the keystream: it opened.
    frame.writeUInt32BE(position + 32 + at, nonce + 12)
    ciphertext.copy(frame, nonce + 16)
    const oneTimeKey = keystream.subarray(at, at + 32)
    createHash('sha3-256').update(oneTimeKey).update(ciphertext).digest().copy(frame, frame.length - 16, 0, 16)
    for (const recipient of [late, b]) expect(reason(recipient.open(frame, 'events'))).to.equal('authentication failed')
    expect(reason(b.open(known, 'events'))).to.equal('opened')
    expect(reason(late.open(known, 'events'))).to.equal('opened')
  })

  it('open only with the context they were sealed with (a request id travels in clear beside them)', () => {
    const { a, b } = pair()
    const reply = a.seal(text, b.uuid, 'replies', '17')
    expect(b.open(reply, 'replies', '18')).to.deep.equal({ ok: false, reason: 'another request', from: a.uuid })
    expect(reason(b.open(a.seal(text, b.uuid, 'replies', '18'), 'replies'))).to.equal('another request')
    expect(b.open(a.seal(text, b.uuid, 'replies', '19'), 'replies', '19')).to.deep.equal({ ok: true, text, from: a.uuid })
    // A context too long for a stream frame, or not plain ASCII, seals the 1.2 way, which carries none.
    for (const context of ['x'.repeat(17), 'ı1', 'a|b']) expect(a.seal(text, b.uuid, 'calls', context).subarray(0, 3).toString()).to.equal('S1.')
  })

  it('derive a sender\'s keys once: later streams of it, stale and replayed frames cost no derivation', () => {
    const base = randomBytes(32)
    const sender = createStreamSealer(base, 'app-a', Buffer.from('todos.0badc0de.app-a'))
    const receiver = createStreamSealer(base, 'app-b', Buffer.from('gateway.0badc0de.app-b'))
    let derived = 0
    const baseOf = () => {
      derived++
      return base
    }
    const first = Buffer.concat(sender.seal(text, 'app-b', 'calls'))
    expect(reason(receiver.open(first, 'app-b', 'calls', baseOf))).to.equal('opened')
    expect(reason(receiver.open(first, 'app-b', 'calls', baseOf))).to.equal('replayed')
    expect(reason(receiver.open(Buffer.concat(shifted(-61_000, () => sender.seal(text, 'app-b', 'calls'))), 'app-b', 'calls', baseOf))).to.equal('too old')
    // The same app on another stream (a new nonce, as after its sending streams were capped).
    const restarted = createStreamSealer(base, 'app-a', Buffer.from('todos.0badc0de.app-a'))
    const stale = Buffer.concat(shifted(-61_000, () => restarted.seal(text, 'app-b', 'calls')))
    expect(reason(receiver.open(stale, 'app-b', 'calls', baseOf))).to.equal('too old')
    expect(reason(receiver.open(stale, 'app-b', 'calls', baseOf))).to.equal('too old')
    expect(derived).to.equal(1)
    // A forgery under an unknown sender name is derived for, and refused.
    const forged = Buffer.from(first)
    forged.write('x', 5 + 'todos.0badc0de.'.length)
    expect(reason(receiver.open(forged, 'app-b', 'calls', baseOf))).to.equal('authentication failed')
    expect(derived).to.equal(2)
  })

  it('send on at most 1,024 streams: the oldest is forgotten, and a new one takes a new nonce', () => {
    const base = randomBytes(32)
    const sender = createStreamSealer(base, 'app-a', Buffer.from('todos.0badc0de.app-a'))
    const nonceOf = (frame: Buffer) => frame.subarray(nonceAt(frame), nonceAt(frame) + 8).toString('hex')
    const firstNonce = nonceOf(Buffer.concat(sender.seal(text, 'peer-0', 'calls')))
    expect(nonceOf(Buffer.concat(sender.seal(text, 'peer-0', 'calls')))).to.equal(firstNonce)
    for (let i = 1; i <= 1024; i++) sender.seal(text, `peer-${i}`, 'calls')
    const again = Buffer.concat(sender.seal(text, 'peer-0', 'calls'))
    expect(nonceOf(again)).not.to.equal(firstNonce)
    expect(again.readUInt32BE(nonceAt(again) + 12)).to.equal(0) // a new stream starts at position 0
    // Its frames still open at a recipient that knew the forgotten stream.
    const receiver = createStreamSealer(base, 'peer-0', Buffer.from('gateway.0badc0de.peer-0'))
    expect(reason(receiver.open(again, 'peer-0', 'calls', () => base))).to.equal('opened')
  })

  it('a 1.3 app still opens frames sealed the 1.2 way, from the same sender', () => {
    const { a, b } = pair()
    expect(b.open(a.sealMessage(text, b.uuid))).to.deep.equal({ ok: true, text, from: a.uuid })
    expect(reason(b.open(a.seal(text, b.uuid)))).to.equal('opened')
    expect(reason(b.open(a.sealMessage('again', b.uuid)))).to.equal('opened')
  })
})

describe('stream frames of every tag (protocols 1.3 to 1.5)', () => {
  it('share a stream: frames of any kind open in order, and each opens once', () => {
    const { a, b } = pair()
    const kinds = ['sha3-256', 'sha256', 'poly1305'] as const
    const frames = [0, 1, 2, 3, 4, 5].map((i) => Buffer.concat(createSealerFor(a).seal(`${i}`, b.uuid, 'calls', undefined, kinds[i % 3])))
    expect(frames.map((f) => f.subarray(0, 3).toString())).to.deep.equal(['S2.', 'S3.', 'S4.', 'S2.', 'S3.', 'S4.'])
    for (const [i, frame] of frames.entries()) expect(b.open(frame)).to.deep.equal({ ok: true, text: `${i}`, from: a.uuid })
    for (const frame of frames) expect(reason(b.open(frame))).to.equal('replayed')
  })

  it('a sealer turning between kinds and recipients seals every frame whole, with the shortest and the longest header', () => {
    // An S4 frame's preamble is written where S2 and S3 frames keep their MAC key: each kind must rewrite what it needs.
    const base = randomBytes(32)
    for (const header of ['p.1.u', `${'p'.repeat(128)}.12345678.${'u'.repeat(64)}`]) {
      const uuid = header.slice(header.lastIndexOf('.') + 1)
      const sender = createStreamSealer(base, uuid, Buffer.from(header))
      const receivers = { me: createStreamSealer(randomBytes(32), 'me', Buffer.from('g.1.me')), other: createStreamSealer(randomBytes(32), 'other', Buffer.from('g.1.other')) }
      const kinds = ['poly1305', 'sha256', 'poly1305', 'poly1305', 'sha3-256', 'poly1305', 'sha256', 'sha256', 'poly1305'] as const
      for (const [i, kind] of kinds.entries()) {
        const to = i % 3 === 1 ? 'other' : 'me'
        const frame = Buffer.concat(sender.seal(`${i}:${kind}`, to, 'calls', String(i), kind))
        expect(frame.subarray(0, 3).toString()).to.equal(MAGIC[kind])
        expect(frame.subarray(5, 5 + frame.readUInt16BE(3)).toString()).to.equal(header)
        expect(receivers[to].open(frame, to, 'calls', () => base, String(i)), `frame ${i}`).to.deep.equal({ ok: true, text: `${i}:${kind}`, from: uuid })
      }
    }
  })

  it('refuse a frame relabeled as the other kind (its tag is checked with the hash its label names)', () => {
    const { a, b } = pair()
    const kinds = [['sha3-256', 0x32], ['sha256', 0x33], ['poly1305', 0x34]] as const
    for (const [from] of kinds) {
      for (const [to, digit] of kinds) {
        if (to === from) continue
        const frame = Buffer.concat(createSealerFor(a).seal(text, b.uuid, 'calls', undefined, from))
        const relabeled = Buffer.from(frame)
        relabeled[1] = digit
        // (An S4 frame must also sit on a multiple of 16: one of another kind may be refused for its position first.)
        const refusal = to === 'poly1305' && readPosition(frame, nonceAt(frame) + 8) % 16 !== 0 ? 'malformed' : 'authentication failed'
        expect(reason(b.open(relabeled)), `${from} as ${to}`).to.equal(refusal)
        expect(reason(b.open(frame))).to.equal('opened')
      }
    }
    const unknown = Buffer.concat(createSealerFor(a).seal(text, b.uuid, 'calls', undefined, 'sha256'))
    unknown[1] = 0x35 // 'S5.': no such kind
    expect(reason(b.open(unknown))).to.equal('not sealed')
  })

  it('check every frame of the last stream opened: altered, replayed or early frames of it are refused', () => {
    const { a, b } = pair()
    const sealer = createSealerFor(a)
    const frames = [0, 1, 2].map((i) => Buffer.concat(sealer.seal(`frame ${i}`, b.uuid, 'calls', undefined, 'sha256')))
    expect(reason(b.open(frames[0]))).to.equal('opened') // the stream is now the last one opened
    const nonce = nonceAt(frames[1])
    for (const index of [nonce + 15, nonce + 16, frames[1].length - 1]) expect(reason(b.open(flip(frames[1], index))), `altered at ${index}`).to.equal('authentication failed')
    expect(reason(b.open(shifted(-61_000, () => Buffer.concat(sealer.seal('late', b.uuid, 'calls', undefined, 'sha256')))))).to.equal('too old')
    expect(reason(b.open(frames[0]))).to.equal('replayed')
    expect(b.open(frames[2])).to.deep.equal({ ok: true, text: 'frame 2', from: a.uuid })
    expect(reason(b.open(frames[1]))).to.equal('replayed') // older than the newest opened
    // The same stream's frame on another channel is another stream: it does not open.
    expect(reason(b.open(Buffer.concat(sealer.seal('x', b.uuid, 'calls', undefined, 'sha256')), 'replies'))).to.equal('authentication failed')
  })

  it('an app of 1.3 (stood in for) and one of 1.4: SHA3 frames at any position open both ways, S3 frames are unknown to 1.3', () => {
    const old = { uuid: randomUUID() }
    const oldSealer = createSealer([S1], 'old', old.uuid, '1.3')
    const fresh = app('todos')
    for (let i = 0; i < 2000; i++) {
      // Lengths that leave 1.3's positions on every remainder of 4: 1.4 XORs those a byte at a time.
      const body = `${i}:${'é'.repeat(i % 9)}${'x'.repeat(i % 13)}`
      const result = fresh.open(Buffer.concat(oldSealer.seal(body, fresh.uuid, 'calls', String(i))), 'calls', String(i))
      if (!result.ok || result.text !== body) expect.fail(`frame ${i} of 1.3: ${reason(result)}`)
      const reply = oldSealer.open(Buffer.concat(createSealerFor(fresh).seal(body, old.uuid, 'replies', String(i), 'sha3-256')), old.uuid, 'replies', String(i))
      if (!reply.ok || reply.text !== body) expect.fail(`reply ${i} to 1.3: ${reason(reply)}`)
    }
    expect(reason(oldSealer.open(Buffer.concat(createSealerFor(fresh).seal(text, old.uuid, 'calls', undefined, 'sha256')), old.uuid, 'calls'))).to.equal('not sealed')
    expect(() => oldSealer.seal(text, fresh.uuid, 'calls', undefined, 'sha256')).to.throw(RangeError, /1\.3/)
  })

  it('remember 10,000 streams: a frame of a forgotten one, sent again, does not open; new streams still do', () => {
    const base = randomBytes(32)
    const receiver = createStreamSealer(base, 'gateway-0', Buffer.from('gateway.0badc0de.gateway-0'))
    const open = (frame: Buffer[]) => reason(receiver.open(Buffer.concat(frame), 'gateway-0', 'calls', () => base))
    const senderOf = (i: number) => createStreamSealer(base, `app-${i}`, Buffer.from(`todos.0badc0de.app-${i}`))
    const first = senderOf(0).seal(text, 'gateway-0', 'calls').map((piece) => Buffer.from(piece))
    expect(open(first)).to.equal('opened')
    expect(open(first)).to.equal('replayed')
    // 10,000 other streams: the first one is forgotten.
    for (let i = 1; i <= 10_000; i++) {
      const result = open(senderOf(i).seal(text, 'gateway-0', 'calls'))
      if (result !== 'opened') expect.fail(`stream ${i}: ${result}`)
    }
    expect(open(first)).to.equal('too old')
    expect(open(shifted(1, () => senderOf(10_001).seal(text, 'gateway-0', 'calls')))).to.equal('opened')
  })

  it('refuse to put on a stream what does not fit one', () => {
    const sender = createStreamSealer(randomBytes(32), 'app-a', Buffer.from('todos.0badc0de.app-a'))
    expect(() => sender.seal('x'.repeat(2049), 'app-b', 'calls')).to.throw(RangeError)
    expect(() => sender.seal(text, 'app-b', 'calls', 'é')).to.throw(RangeError)
    expect(() => sender.seal(text, 'app-b', 'calls', '1'.repeat(17))).to.throw(RangeError)
  })

  it('open frames from several senders and streams interleaved (the last stream opened is only a shortcut)', () => {
    const b = app('todos')
    const senders = [app('consumer'), app('consumer'), app('other')]
    for (let i = 0; i < 300; i++) {
      const sender = senders[(i * 7) % 3]
      const channel: Channel = i % 5 === 0 ? 'events' : 'calls'
      const frame = Buffer.concat(createSealerFor(sender).seal(`${i}`, channel === 'events' ? '*' : b.uuid, channel, undefined, i % 3 ? 'sha256' : 'sha3-256'))
      expect(b.open(frame, channel)).to.deep.equal({ ok: true, text: `${i}`, from: sender.uuid })
    }
  })
})

describe('stream frames against an independent reading of the README', () => {
  // Bodies up to 1,500 characters and turns of the event loop: some 40 keystream chunks, computed
  // ahead or on demand.
  const turn = () => new Promise((resolve) => setImmediate(resolve))
  const bodyOf = (i: number) => `${i}:${'é'.repeat(i % 5)}${'x'.repeat(i % 11)}${'y'.repeat((i * 37) % 1500)}`

  it('an app of 1.5 opens S2, S3 and S4 frames sealed at any byte position', async () => {
    const me = randomUUID()
    const from = randomUUID()
    const receiver = createSealer([S1], 'gateway', me)
    const reference = referenceStream(S1, 'todos', from, me, 'calls')
    let position = 0
    for (let i = 0; i < 400; i++) {
      if (i % 3 === 0) await turn()
      const body = bodyOf(i)
      const kind = (['2', '3', '4'] as const)[i % 3]
      // S4 frames only at multiples of 16 (their pad is the keystream block there, their plaintext follows it).
      if (kind === '4') position = Math.ceil(position / 16) * 16
      const frame = reference.seal(kind, position, body, String(i))
      const result = receiver.open(frame, me, 'calls', String(i))
      if (!result.ok || result.text !== body) expect.fail(`frame ${i} at ${position}: ${reason(result)}`)
      // The next frame starts 0 to 2 bytes after this one ends: every remainder of 4 comes up.
      position += (kind === '4' ? 16 : 0) + frame.length - 16 - (5 + frame.readUInt16BE(3) + 16) + (i % 3)
    }
  })

  it('an app of 1.5 refuses S4 frames off a multiple of 16, and frames reaching past position 2^53, before their tag', () => {
    const me = randomUUID()
    const from = randomUUID()
    const receiver = createSealer([S1], 'gateway', me)
    const reference = referenceStream(S1, 'todos', from, me, 'calls')
    for (const position of [4, 8, 12, 20, 1004]) expect(reason(receiver.open(reference.seal('4', position, 'off the grid', '1'), me, 'calls', '1'))).to.equal('malformed')
    for (const kind of ['2', '3', '4'] as const) expect(reason(receiver.open(reference.seal(kind, 2 ** 53 + 16, 'far', '1'), me, 'calls', '1'))).to.equal('malformed')
    // Nor may a frame's text run past 2^53, where its start is still below it.
    for (const [kind, position] of [['4', 2 ** 53 - 16], ['3', 2 ** 53 - 4], ['2', 2 ** 53 - 3]] as const) {
      expect(reason(receiver.open(reference.seal(kind, position, 'past the end', '1'), me, 'calls', '1')), `S${kind}`).to.equal('malformed')
    }
    // The same frames on the grid open.
    expect(reason(receiver.open(reference.seal('4', 16, 'on the grid', '1'), me, 'calls', '1'))).to.equal('opened')
    expect(reason(receiver.open(reference.seal('4', 2 ** 40, 'far on the grid', '2'), me, 'calls', '2'))).to.equal('opened')
  })

  it('a forged S4 frame makes an app of 1.5 compute no keystream ahead, then or after the turn: one AES block at most, kept nowhere', async () => {
    const me = randomUUID()
    const from = randomUUID()
    const receiver = createSealer([S1], 'gateway', me)
    const reference = referenceStream(S1, 'todos', from, me, 'calls')
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    expect(reason(receiver.open(reference.seal('4', 0, 'first', '1'), me, 'calls', '1'))).to.equal('opened')
    // The stream's second frame: its keystream is computed ahead from there (8 KB, from 8016 on).
    expect(reason(receiver.open(reference.seal('4', 8000, 'later', '1'), me, 'calls', '1'))).to.equal('opened')
    await turn()
    const computed: number[] = []
    const crypto = require('crypto') as typeof import('crypto')
    const createCipheriv = crypto.createCipheriv
    crypto.createCipheriv = ((...args: Parameters<typeof createCipheriv>) => {
      const cipher = createCipheriv(...args)
      const update = cipher.update.bind(cipher)
      cipher.update = ((data: Buffer) => (computed.push(data.length), update(data))) as typeof cipher.update
      return cipher
    }) as typeof createCipheriv
    try {
      // The keystream computed covers 8016 to 16208: forged frames where it runs low (a real frame
      // there would have it refilled), past it, and far away.
      const positions = [...Array.from({ length: 100 }, (_, k) => 16208 - 16 * (k + 1)), ...Array.from({ length: 100 }, (_, k) => 16208 + 16 * k * 97)]
      for (const position of positions) {
        const forged = reference.seal('4', position, 'forged', '2')
        forged[forged.length - 1] ^= 1
        expect(reason(receiver.open(forged, me, 'calls', '2'))).to.equal('authentication failed')
      }
      await turn()
    } finally {
      crypto.createCipheriv = createCipheriv
    }
    expect(Math.max(0, ...computed)).to.be.at.most(32)
    expect(reason(receiver.open(reference.seal('4', 8048, 'next', '3'), me, 'calls', '3'))).to.equal('opened')
  })

  it('what an app of 1.5 seals opens by that reading, with every tag', async () => {
    const from = randomUUID()
    const to = randomUUID()
    const sender = createSealer([S1], 'todos', from)
    const reference = referenceStream(S1, 'todos', from, to, 'replies')
    for (let i = 0; i < 400; i++) {
      if (i % 3 === 0) await turn()
      const body = bodyOf(i)
      const frame = Buffer.concat(sender.seal(body, to, 'replies', String(i), (['sha3-256', 'sha256', 'poly1305'] as const)[i % 3]))
      const plain = reference.open(frame)
      if (!plain.endsWith(`|${i}|${body}`)) expect.fail(`frame ${i}: ${plain}`)
    }
  })
})


describe('stream frame fields', () => {
  it('pick the newest kind of tag both sides open, and read and write what peers advertise of it', () => {
    expect(commonTag('poly1305', 'poly1305')).to.equal('poly1305')
    expect(commonTag('poly1305', 'sha256')).to.equal('sha256')
    expect(commonTag('sha256', 'poly1305')).to.equal('sha256')
    expect(commonTag('sha3-256', 'poly1305')).to.equal('sha3-256')
    // A peer that named no tag opens SHA3 ones only.
    expect(commonTag('poly1305', undefined)).to.equal('sha3-256')
    for (const tag of ['sha3-256', 'sha256', 'poly1305'] as const) {
      const fields = tagFields(tag)
      expect(namedTag(fields.streamTag, fields.poly1305)).to.equal(tag)
    }
    expect(tagFields('poly1305')).to.deep.equal({ streamTag: 'sha256', poly1305: true })
    expect(namedTag('poly1305', true)).to.equal('sha3-256')
    expect(namedTag(undefined, true)).to.equal('sha3-256')
  })

  it('write each frame\'s own clock, whether or not the last frame had the same one', () => {
    const into = Buffer.alloc(64)
    for (const [clock, context] of [[1_765_000_000_123, '42'], [1_765_000_000_123, ''], [999, '7'], [1_765_000_000_124, '8'], [0, '']] as const) {
      const end = writeHead(into, 3, clock, context)
      expect(into.toString('latin1', 3, end)).to.equal(`${clock}|${context}|`)
    }
  })

  it('give the same view of a scratch buffer for the same end, and fresh ones past the kept length', () => {
    const scratch = Buffer.alloc(4096)
    const views = new ScratchViews(scratch, 32)
    const view = views.to(100)
    expect(views.to(100)).to.equal(view)
    expect(view.byteOffset - scratch.byteOffset).to.equal(32)
    expect(view.length).to.equal(68)
    scratch[32] = 7
    expect(view[0]).to.equal(7)
    const long = views.to(3000)
    expect(long.length).to.equal(2968)
    expect(views.to(3000)).not.to.equal(long)
    // The last view is kept apart: going back to an earlier end still gives that end's view.
    const other = views.to(200)
    expect(views.to(100)).to.equal(view)
    expect(views.to(200)).to.equal(other)
  })

  it('write and read positions as 64-bit big-endian numbers, across 2^32 and up to 2^53 - 1', () => {
    const frame = Buffer.alloc(12)
    for (const at of [0, 1, 255, 0xffff_ffff, 0x1_0000_0000, 0x1_2345_6789_abcd, Number.MAX_SAFE_INTEGER]) {
      writePosition(frame, 2, at)
      expect(frame.readBigUInt64BE(2)).to.equal(BigInt(at))
      expect(readPosition(frame, 2)).to.equal(at)
    }
    expect(frame.readUInt16BE(0)).to.equal(0)
    expect(frame.readUInt16BE(10)).to.equal(0)
  })
})

describe('streams of departed peers', function () {
  this.timeout(60000)

  it('keep their 8-byte nonces in memory of their own, not each a whole 8 KB slab of Node\'s Buffer pool', () => {
    const Original = keystreamModule.Keystream
    const made: Array<WeakRef<keystreamModule.Keystream>> = []
    ;(keystreamModule as any).Keystream = class extends Original {
      constructor(...args: ConstructorParameters<typeof Original>) {
        super(...args)
        made.push(new WeakRef(this))
      }
    }
    try {
      const me = randomUUID()
      const gateway = createSealer(['0123456789abcdef0123'], 'k', me)
      for (let i = 0; i < 500; i++) {
        // A newcomer's one frame, then the gateway's other traffic: small buffers from the pool.
        const peer = createSealer(['0123456789abcdef0123'], 'k', randomUUID())
        expect(gateway.open(Buffer.concat(peer.seal('{"type":"hello"}', me, 'calls', '1', 'poly1305')), me, 'calls', '1').ok).to.equal(true)
        for (let k = 0; k < 40; k++) Buffer.from(`{"type":"heartbeat","seq":${k},"pad":"${'x'.repeat(150)}"}`)
      }
      const kept = made.map((ref) => ref.deref()).filter((stream): stream is keystreamModule.Keystream => stream !== undefined && stream.peer !== me)
      expect(kept.length).to.be.above(400)
      const slabs = new Set(kept.map((stream) => stream.nonce.buffer).filter((buffer) => buffer.byteLength > 1024))
      expect(slabs.size, 'pool slabs held by remembered nonces').to.equal(0)
    } finally {
      ;(keystreamModule as any).Keystream = Original
    }
  })

  it('ownCopy gives bytes in memory of their own', () => {
    const copy = ownCopy(Buffer.from('a small header'))
    expect(copy.toString()).to.equal('a small header')
    expect(copy.buffer.byteLength).to.equal(copy.length)
  })
})
