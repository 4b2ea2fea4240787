import { expect } from 'chai'
import { randomUUID } from 'crypto'
import { createSealer } from '../../src/security'
import { flip, reason, shifted } from '../helpers/sealing'
import type { Sealer } from '../../src/security'

const S1 = 'first-mesh-secret-0123456789'
const S2 = 'second-mesh-secret-9876543210'
const text = JSON.stringify({ v: 1, type: 'call', path: 'todos', method: 'get', args: [1], params: { query: {} } })

/** A sealer whose frames come as one buffer, as they arrive on the wire. */
function joined(sealer: Sealer) {
  return { seal: (text: string, to: string) => Buffer.concat(sealer.seal(text, to)), open: (frame: Buffer, me: string) => sealer.open(frame, me) }
}

function app(partition: string, secrets = [S1]) {
  const uuid = randomUUID()
  return { uuid, sealer: joined(createSealer(secrets, partition, uuid)) }
}

/** Two apps of a mesh: `a` (partition `consumer`) and `b` (partition `todos`). */
const pair = () => ({ a: app('consumer'), b: app('todos') })

/** The header (partition key, key id, uuid) of a sealed frame and where its IV starts. */
const headerOf = (frame: Buffer) => ({ header: frame.toString('utf8', 5, 5 + frame.readUInt16BE(3)), iv: 5 + frame.readUInt16BE(3) })
/** The frame under another header: same IV, ciphertext and tag. */
const sealedLike = (header: string, body: Buffer) => {
  const bytes = Buffer.from(header)
  const length = Buffer.alloc(2)
  length.writeUInt16BE(bytes.length)
  return Buffer.concat([Buffer.from('S1.'), length, bytes, body])
}
const rehead = (frame: Buffer, header: string) => sealedLike(header, frame.subarray(headerOf(frame).iv))
const tick = () => new Promise((resolve) => setImmediate(resolve))


describe('security: sealed frames', () => {
  it('opens what a peer sealed for it, naming the sender, and hides the text', () => {
    const { a, b } = pair()
    const frame = a.sealer.seal(text, b.uuid)
    expect(frame.subarray(0, 3).toString()).to.equal('S1.')
    expect(headerOf(frame).header.startsWith('consumer.')).to.equal(true)
    expect(frame.includes('todos')).to.equal(false) // the text is not readable on the wire
    expect(b.sealer.open(frame, b.uuid)).to.deep.equal({ ok: true, text, from: a.uuid })
    const reply = b.sealer.seal('{"ok":true,"value":{"title":"é ✓ 漢字"}}', a.uuid)
    expect(a.sealer.open(reply, a.uuid)).to.deep.equal({ ok: true, text: '{"ok":true,"value":{"title":"é ✓ 漢字"}}', from: b.uuid })
  })

  it('binds a frame sealed on its own to its channel and request: moved to another call or channel, it does not open', () => {
    const a = { uuid: randomUUID(), sealer: createSealer([S1], 'consumer', randomUUID()) }
    const b = { uuid: randomUUID(), sealer: createSealer([S1], 'todos', randomUUID()) }
    const large = (user: string) => JSON.stringify({ ok: true, value: { user, rows: 'x'.repeat(5000) } })
    const sealed = (text: string, channel: 'calls' | 'replies' | 'events', context?: string, kind?: 'calls' | 'replies' | 'events') =>
      Buffer.concat(b.sealer.seal(text, '*', kind ? undefined : channel, context, undefined, kind))
    // A large reply (too long for a stream) to call 7, delivered as the reply to call 8: refused, and still opens as 7's.
    const forSeven = sealed(large('alice'), 'replies', '7')
    expect(reason(a.sealer.open(forSeven, a.uuid, 'replies', '8'))).to.equal('another request')
    expect(reason(a.sealer.open(forSeven, a.uuid, 'calls', '7'))).to.equal('another request')
    const opened = a.sealer.open(forSeven, a.uuid, 'replies', '7')
    expect(opened.ok && JSON.parse(opened.text as string)).to.deep.equal({ '@': 'replies|7', ...JSON.parse(large('alice')) })
    // Bound by its kind even when the recipient takes no streams (the channel is then not given): a published frame is no request.
    const event = sealed('{"v":1,"type":"heartbeat"}', 'events', undefined, 'events')
    expect(reason(a.sealer.open(event, a.uuid, 'calls', '1'))).to.equal('another request')
    expect(a.sealer.open(event, a.uuid, 'events').ok).to.equal(true)
    expect(a.sealer.open(sealed('{}', 'replies', '9', 'replies'), a.uuid, 'replies', '9')).to.deep.include({ ok: true, text: '{"@":"replies|9"}' })
    // A frame of an app older than bindings (none in its text) opens as before.
    const legacy = Buffer.concat(b.sealer.seal(large('bob'), '*'))
    expect(a.sealer.open(legacy, a.uuid, 'replies', '3')).to.deep.include({ ok: true, text: large('bob') })
  })

  it('round-trips empty and large texts', () => {
    const { a, b } = pair()
    expect(b.sealer.open(a.sealer.seal('', '*'), b.uuid)).to.deep.equal({ ok: true, text: '', from: a.uuid })
    const big = JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => ({ i, name: `item ${i} ✓` })) })
    const opened = b.sealer.open(a.sealer.seal(big, b.uuid), b.uuid)
    expect(opened.ok && opened.text === big).to.equal(true)
    // Texts encoded into the reused buffer, one after the other: each opens as itself.
    for (const text of ['é'.repeat(3000), 'x'.repeat(100_000), '✓'.repeat(20_000), 'y'.repeat(5000)]) {
      const result = b.sealer.open(a.sealer.seal(text, b.uuid), b.uuid)
      expect(result.ok && result.text === text).to.equal(true)
    }
  })

  it('never seals two frames under the same nonce, even for two sealers of one uuid', () => {
    const uuid = randomUUID()
    const first = createSealer([S1], 'todos', uuid)
    const second = createSealer([S1], 'todos', uuid)
    const ivs = new Set<string>()
    // The pieces of a sealed frame: preamble and header, IV, ciphertext, tag.
    for (let i = 0; i < 500; i++) {
      ivs.add(first.seal(text, '*')[1].toString('hex'))
      ivs.add(second.seal(text, '*')[1].toString('hex'))
    }
    expect(ivs.size).to.equal(1000)
  })

  it('refuses a frame sealed for another app, but opens published frames for anyone', () => {
    const { a, b } = pair()
    const other = randomUUID()
    const result = b.sealer.open(a.sealer.seal(text, other), b.uuid)
    expect(result).to.deep.equal({ ok: false, reason: 'addressed to another app', from: a.uuid })
    expect(reason(b.sealer.open(a.sealer.seal(text, '*'), b.uuid))).to.equal('opened')
  })

  it('refuses every altered frame, in the header or in the body, without naming a sender', () => {
    const { a, b } = pair()
    const frame = a.sealer.seal(text, b.uuid)
    const { header, iv } = headerOf(frame)
    const positions = [3, 4, 5, iv - 40, iv - 1, iv, iv + 11, iv + 12, iv + 40, frame.length - 1]
    for (const index of positions) {
      const result = b.sealer.open(flip(frame, index), b.uuid)
      expect(result.ok, `altered at ${index}`).to.equal(false)
      expect(result.ok === false && result.from, `no sender for an alteration at ${index}`).to.equal(undefined)
    }
    expect(reason(b.sealer.open(frame.subarray(0, -4), b.uuid))).to.equal('authentication failed')
    expect(reason(b.sealer.open(frame.subarray(0, iv + 20), b.uuid))).to.equal('malformed')
    // A sealed frame moved under another partition key or uuid does not open either.
    expect(reason(b.sealer.open(rehead(frame, header.replace('consumer.', 'gateway.')), b.uuid))).to.equal('unknown secret')
    expect(reason(b.sealer.open(rehead(frame, header.replace(a.uuid, randomUUID())), b.uuid))).to.equal('authentication failed')
    // The original still opens: failed attempts leave no state behind.
    expect(reason(b.sealer.open(frame, b.uuid))).to.equal('opened')
  })

  it('refuses unsealed, garbage and foreign frames', () => {
    const { b } = pair()
    expect(reason(b.sealer.open(Buffer.from('{"v":1,"type":"call"}'), b.uuid))).to.equal('not sealed')
    expect(reason(b.sealer.open(Buffer.from('S1.'), b.uuid))).to.equal('malformed')
    expect(reason(b.sealer.open(Buffer.from('S1.\xff\xffflood'), b.uuid))).to.equal('malformed')
    expect(reason(b.sealer.open(sealedLike('flood.deadbeef', Buffer.alloc(60, 65)), b.uuid))).to.equal('malformed')
    expect(reason(b.sealer.open(sealedLike(`flood.deadbeef.${randomUUID()}`, Buffer.alloc(60, 65)), b.uuid))).to.equal('unknown secret')
  })

  it('opens each frame once', () => {
    const { a, b } = pair()
    const frame = a.sealer.seal(text, b.uuid)
    expect(reason(b.sealer.open(frame, b.uuid))).to.equal('opened')
    expect(b.sealer.open(frame, b.uuid)).to.deep.equal({ ok: false, reason: 'replayed', from: a.uuid })
  })

  it('accepts frames out of order within the window, and refuses those further behind', () => {
    const { a, b } = pair()
    const frames = Array.from({ length: 5000 }, () => a.sealer.seal(text, '*'))
    expect(reason(b.sealer.open(frames[4999], b.uuid))).to.equal('opened')
    expect(reason(b.sealer.open(frames[1000], b.uuid))).to.equal('opened') // 3999 behind
    expect(reason(b.sealer.open(frames[1000], b.uuid))).to.equal('replayed')
    expect(reason(b.sealer.open(frames[900], b.uuid))).to.equal('replayed') // 4099 behind: too far to tell
    expect(reason(b.sealer.open(frames[4998], b.uuid))).to.equal('opened')
  })

  it('refuses frames more than 60 s old or early', () => {
    const { a, b } = pair()
    const old = shifted(-61_000, () => a.sealer.seal(text, b.uuid))
    expect(b.sealer.open(old, b.uuid)).to.deep.equal({ ok: false, reason: 'too old', from: a.uuid })
    const early = shifted(61_000, () => a.sealer.seal(text, b.uuid))
    expect(reason(b.sealer.open(early, b.uuid))).to.equal('too old')
    expect(reason(b.sealer.open(shifted(-50_000, () => a.sealer.seal(text, b.uuid)), b.uuid))).to.equal('opened')
  })

  it('rotates: the first secret seals, every secret opens', () => {
    const frameUnder = (secrets: string[], to: string) => joined(createSealer(secrets, 'todos', randomUUID())).seal(text, to)
    const me = randomUUID()
    const opens = (secrets: string[], frame: Buffer) => reason(createSealer(secrets, 'gateway', me).open(frame, me))
    expect(opens([S1, S2], frameUnder([S2], me))).to.equal('opened')
    expect(opens([S2, S1], frameUnder([S1], me))).to.equal('opened')
    expect(opens([S2], frameUnder([S1, S2], me))).to.equal('unknown secret')
    expect(opens([S1], frameUnder([S2, S1], me))).to.equal('unknown secret')
  })

  it('keeps working across many frames in both directions, interleaved with other peers', () => {
    const { a, b } = pair()
    const c = app('todos')
    for (let i = 0; i < 300; i++) {
      expect(reason(b.sealer.open(a.sealer.seal(`${i}`, b.uuid), b.uuid))).to.equal('opened')
      if (i % 3 === 0) expect(reason(c.sealer.open(a.sealer.seal(`${i}`, c.uuid), c.uuid))).to.equal('opened')
      expect(a.sealer.open(b.sealer.seal(`r${i}`, a.uuid), a.uuid)).to.deep.equal({ ok: true, text: `r${i}`, from: b.uuid })
    }
  })

  it('with turns of the event loop between frames (ciphers set up ahead), still opens each frame once and refuses forgeries', async () => {
    const { a, b } = pair()
    for (let i = 0; i < 50; i++) {
      const frame = a.sealer.seal(`${i}`, b.uuid)
      await tick()
      if (i % 10 === 5) {
        // A forgery carrying the very nonce b expects next: refused, and the real frame still opens.
        expect(reason(b.sealer.open(flip(frame, frame.length - 1), b.uuid))).to.equal('authentication failed')
      }
      expect(b.sealer.open(frame, b.uuid)).to.deep.equal({ ok: true, text: `${i}`, from: a.uuid })
      expect(reason(b.sealer.open(frame, b.uuid))).to.equal('replayed')
      await tick()
      const reply = b.sealer.seal(`r${i}`, a.uuid)
      await tick()
      expect(reason(a.sealer.open(reply, a.uuid))).to.equal('opened')
      await tick()
    }
  })
})
