import { expect } from 'chai'
import fs from 'fs'
import net from 'net'
import os from 'os'
import path from 'path'
import { fork } from 'child_process'
import { feathers } from '@feathersjs/feathers'
import { distribution, finalize } from '../../src'
import { GUARD, Mesh, waitFor } from '../helpers/mesh'
import { fakePeer } from '../helpers/fake-peer'
import { load } from '../helpers/load'
import { quiet, recorder } from '../helpers/events'

const S1 = 'first-mesh-secret-0123456789'
const S2 = 'second-mesh-secret-9876543210'

/** Captures what this process writes to sockets whose remote (or local) port is `port`. */
function tap(port: number, side: 'remote' | 'local') {
  const frames: Buffer[] = []
  const patched: Array<[net.Socket, any]> = []
  for (const handle of (process as any)._getActiveHandles()) {
    if (!(handle instanceof net.Socket)) continue
    if ((side === 'remote' ? handle.remotePort : handle.localPort) !== port) continue
    const write = handle.write
    patched.push([handle, write])
    handle.write = function (this: net.Socket, chunk: any, ...rest: any[]) {
      if (Buffer.isBuffer(chunk)) frames.push(Buffer.from(chunk))
      return write.call(this, chunk, ...rest)
    } as any
  }
  return { frames, restore: () => patched.forEach(([socket, write]) => (socket.write = write)) }
}

/** The parts of an AMP frame (as the mesh writes them), and the frame of some parts. */
function partsOf(frame: Buffer): Buffer[] {
  const parts: Buffer[] = []
  let at = 1
  for (let i = 0; i < (frame[0] & 0x0f); i++) {
    const length = frame.readUInt32BE(at)
    parts.push(frame.subarray(at + 4, at + 4 + length))
    at += 4 + length
  }
  return parts
}

function frameOf(parts: Buffer[]): Buffer {
  const lengthOf = (part: Buffer) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(part.length)
    return length
  }
  return Buffer.concat([Buffer.from([(1 << 4) | parts.length]), ...parts.flatMap((part) => [lengthOf(part), part])])
}

/**
 * On the path from this process to `port`: holds the first two request frames written there
 * (`[sealed request, 's:' + id]`), swaps their clear ids, and lets both go.
 */
function swapIds(port: number) {
  const held: Array<{ socket: net.Socket; write: any; parts: Buffer[] }> = []
  const patched: Array<[net.Socket, any]> = []
  let swapped = 0
  for (const handle of (process as any)._getActiveHandles()) {
    if (!(handle instanceof net.Socket) || handle.remotePort !== port) continue
    const write = handle.write
    patched.push([handle, write])
    handle.write = function (this: net.Socket, chunk: any, ...rest: any[]) {
      const parts = Buffer.isBuffer(chunk) && swapped < 2 ? partsOf(chunk) : []
      if (parts.length !== 2 || !parts[1].subarray(0, 2).equals(Buffer.from('s:'))) return write.call(this, chunk, ...rest)
      held.push({ socket: this, write, parts })
      if (held.length === 2) {
        const [a, b] = held
        a.write.call(a.socket, frameOf([a.parts[0], b.parts[1]]))
        b.write.call(b.socket, frameOf([b.parts[0], a.parts[1]]))
        swapped = 2
      }
      return true
    } as any
  }
  return { swapped: () => swapped, restore: () => patched.forEach(([socket, write]) => (socket.write = write)) }
}

function sendRaw(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes))
    socket.on('close', () => resolve())
    socket.on('error', () => resolve())
  })
}

describe('security', function () {
  this.timeout(60000)
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())

  it('with a secret, calls and events work; apps without it or with another one are never admitted', async () => {
    await mesh.child('good', { key: 'secure-app', services: ['todos'], options: { secret: S1 }, replica: 'good' })
    const open = await mesh.child('open', { key: 'secure-app', services: ['todos'], replica: 'open' })
    const wrong = await mesh.child('wrong', { key: 'secure-app', services: ['todos'], options: { secret: S2 }, replica: 'wrong' })
    const gateway = await mesh.app({ key: 'gateway', secret: S1 })
    const todos = await gateway.distribution.waitForService('todos')
    const events = recorder(todos, ['created'])
    for (let i = 0; i < 10; i++) expect((await todos.create({ title: `t${i}` })).title).to.equal(`t${i}`)
    expect(new Set((await todos.find({})).map((t: any) => t.replica))).to.deep.equal(new Set(['good']))
    await events.until(() => events.seen.length === 10, 'ten events')
    await quiet()
    expect(todos.replicas.size).to.equal(1)
    expect(gateway.distribution.peers().map((p: any) => p.uuid)).not.to.include.members([open.uuid, wrong.uuid])
    const health = await gateway.distribution.healthcheck('secure-app')
    expect(health.status).to.equal(200)
    expect(Object.values(health.body.services as Record<string, string[]>).flat()).to.have.length(1)
    expect(gateway.distribution.refused().map((r: any) => r.key)).to.include('secure-app')
    // ...and the open app never sees the secret apps' services either.
    expect((await open.send({ cmd: 'services' })).filter((path: string) => !path.startsWith('distribution/'))).to.deep.equal(['todos'])
  })

  it('FEATHERS_MESH_SECRET_FILE: an app reads its secrets from a file, as from a Docker secret (the first line seals, every line opens)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-secret-'))
    try {
      const file = path.join(dir, 'mesh_secret')
      fs.writeFileSync(file, `${S2}\n${S1}\n`)
      await mesh.child('from-file', { key: 'file-app', services: ['todos'], env: { FEATHERS_MESH_SECRET_FILE: file, FEATHERS_MESH_SECRET: '' }, replica: 'from-file' })
      // The gateway seals with the file's second line and opens only what its first seals.
      const gateway = await mesh.app({ key: 'gateway', secret: [S1, S2] })
      const todos = await gateway.distribution.waitForService('todos')
      const { id } = await todos.create({ title: 'sealed' })
      expect((await todos.get(id)).replica).to.equal('from-file')
      const stranger = await mesh.app({ key: 'stranger', secret: S1 })
      await waitFor(() => stranger.distribution.refused().some((r: any) => r.key === 'file-app'), 10000, 'the app of the file to be refused by an app that cannot open its seals')
      expect(Object.keys(stranger.services)).not.to.include('todos')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('with a secret, large calls and results (up to 3 MB, read a slice at a time) arrive whole and typed', async () => {
    await mesh.child('echo', { key: 'secure-echo', services: ['echo'], options: { secret: S1 } })
    const gateway = await mesh.app({ key: 'gateway', secret: S1 })
    const echo = await gateway.distribution.waitForService('echo')
    const payload = (records: number) => ({ at: new Date(records), items: Array.from({ length: records }, (_, n) => ({ n, name: `ü€ ${n}`, when: new Date(n), more: [n, 'x\ny'] })) })
    for (const records of [3000, 12_000, 40_000]) {
      const data = payload(records)
      const result: any = await echo.create(data)
      expect(result.data.items, `${records} records`).to.have.length(records)
      expect(result.data).to.deep.equal(data)
    }
  })

  it('a captured call, replayed from a raw socket, does not run twice', async () => {
    const provider = await mesh.child('provider', { key: 'replay-app', services: ['todos'], options: { secret: S1 } })
    const gateway = await mesh.app({ key: 'gateway', secret: S1 })
    const todos = await gateway.distribution.waitForService('todos')
    const ports = await provider.send({ cmd: 'ports' })
    const captured = tap(ports.responder, 'remote')
    await todos.create({ title: 'once' })
    captured.restore()
    // Apps of 1.5 seal on streams with Poly1305 tags (S4): a replay opens (its tag is right) and is refused for its position.
    const frame = captured.frames.find((f) => f.includes(Buffer.from('S4.')))
    expect(frame, 'a stream-sealed frame was captured').to.exist
    expect(frame!.includes(Buffer.from('once'))).to.equal(false) // sealed: the record is not readable
    await sendRaw(ports.responder, frame as Buffer)
    await sendRaw(ports.responder, frame as Buffer)
    await quiet()
    expect(await todos.find({ query: { title: 'once' } })).to.have.length(1)
  })

  it('request ids swapped on the way (they travel in clear) get neither call run: each is sealed with its id, on a stream or on its own', async () => {
    const provider = await mesh.child('provider', { key: 'ids-app', services: ['todos'], options: { secret: S1 } })
    const gateway = await mesh.app({ key: 'gateway', secret: S1, timeout: 1500 })
    const todos = await gateway.distribution.waitForService('todos')
    expect((await todos.create({ title: 'before' })).title).to.equal('before')
    const ports = await provider.send({ cmd: 'ports' })
    // Small calls go on a stream (`S4.`); calls over 2 KB are sealed on their own (`S1.`).
    for (const [round, pad] of [[1, ''], [2, 'x'.repeat(5000)]] as const) {
      const path = swapIds(ports.responder)
      try {
        const results = await Promise.allSettled([todos.create({ title: 'first', pad }), todos.create({ title: 'second', pad })])
        expect(path.swapped(), 'two request frames had their ids swapped').to.equal(2)
        expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected'])
        expect(results.map((r) => (r as PromiseRejectedResult).reason?.name)).to.deep.equal(['Timeout', 'Timeout'])
      } finally {
        path.restore()
      }
      expect((await provider.send({ cmd: 'drops' }))['another request']).to.equal(2 * round)
    }
    // None ran, and the link still works.
    expect((await todos.find({ query: {} })).map((t: any) => t.title)).to.deep.equal(['before'])
  })

  it('what an unauthenticated frame claims (uuid, key) reaches the log and refused() printable only', async () => {
    const { encodeFrame } = require('../../src/wire')
    const app = await mesh.app({ key: 'todos', secret: S1 })
    const lines: string[] = []
    const warn = console.warn
    console.warn = (...args: unknown[]) => void lines.push(args.join(' '))
    try {
      // An unsealed frame whose claimed uuid writes a line of its own and clears the screen…
      await sendRaw(app.distribution.ports.responder, encodeFrame(['{"from":"x) refused: fine\nfeathers-mesh: ALL GOOD \u001b[2J","key":"k"}', '1']))
      // …and a sealed-looking frame whose clear header names such a partition.
      const header = Buffer.from('evil\nfeathers-mesh: forged line.deadbeef.abc')
      await sendRaw(app.distribution.ports.responder, encodeFrame([Buffer.concat([Buffer.from('S1.'), Buffer.from([0, header.length]), header, Buffer.alloc(38)]), '2']))
      await waitFor(() => lines.filter((line) => line.includes('refused')).length >= 2, 5000, 'both refusals logged')
    } finally {
      console.warn = warn
    }
    const printableOnly = /^[\x20-\x7e]*$/
    for (const line of lines) expect(line, JSON.stringify(line)).to.match(printableOnly)
    const refused = app.distribution.refused()
    expect(refused).to.have.length(2)
    for (const entry of refused) for (const field of [entry.uuid, entry.key, entry.reason]) expect(field, JSON.stringify(field)).to.match(printableOnly)
  })

  it('a stale or replayed frame is dropped and leaves its connection open; a forged one cuts it', async () => {
    const provider = await mesh.child('provider', { key: 'stale-app', services: ['todos'], options: { secret: S1 } })
    const gateway = await mesh.app({ key: 'gateway', secret: S1, timeout: 1500 })
    const todos = await gateway.distribution.waitForService('todos')
    const ports = await provider.send({ cmd: 'ports' })
    const links = () => (process as any)._getActiveHandles().filter((h: any) => h instanceof net.Socket && h.remotePort === ports.responder)
    expect(links(), "the gateway's calls link").to.have.length(1)
    const [link] = links()
    const captured = tap(ports.responder, 'remote')
    try {
      expect((await todos.create({ title: 'before' })).title).to.equal('before')
    } finally {
      captured.restore()
    }
    const frame = captured.frames.find((f) => f.includes(Buffer.from('S4.')))
    expect(frame, 'a stream-sealed frame was captured').to.exist

    // Sealed by a clock two minutes behind: it authenticates, and it is too old. Only that one frame's clock is moved.
    const now = Date.now
    const write = link.write
    const restore = () => {
      Date.now = now
      link.write = write
    }
    link.write = function (this: net.Socket, ...args: any[]) {
      restore()
      return write.apply(this, args)
    }
    Date.now = () => now() - 120_000
    let stale: string
    try {
      stale = await todos.create({ title: 'stale' }).then(
        () => 'ran',
        (error: Error) => error.name
      )
    } finally {
      restore()
    }
    expect(stale).to.equal('Timeout')
    expect((await provider.send({ cmd: 'drops' }))['too old']).to.equal(1)
    expect(links(), 'the same link, still open').to.deep.equal([link])
    expect((await todos.create({ title: 'after' })).title).to.equal('after')

    // The captured frame again, on a connection of its own that stays open.
    const raw = net.connect(ports.responder, '127.0.0.1')
    try {
      let closed = false
      raw.on('close', () => (closed = true)).on('error', () => {})
      await new Promise((resolve) => raw.once('connect', resolve))
      raw.write(frame as Buffer)
      await waitFor(async () => (await provider.send({ cmd: 'drops' })).replayed === 1, 5000, 'the replay to be dropped')
      await quiet(200)
      expect(closed, 'a replayed frame leaves its connection open').to.equal(false)
      // The same frame with its tag altered: it fails authentication, and the provider cuts the connection.
      const parts = partsOf(frame as Buffer)
      parts[0] = Buffer.from(parts[0])
      parts[0][parts[0].length - 1] ^= 0x10
      raw.write(frameOf(parts))
      await waitFor(() => closed, 5000, 'the provider to cut the connection')
    } finally {
      raw.destroy()
    }
    expect((await provider.send({ cmd: 'drops' }))['authentication failed']).to.equal(1)
    expect(await todos.find({ query: {} })).to.have.length(2)
  })

  it('a captured event, replayed through a fake publisher, is not delivered twice', async () => {
    const provider: any = feathers()
    provider.configure(distribution(mesh.options({ key: 'events-app', secret: S1 })))
    provider.use('news', { async create(data: any) { return data } })
    try {
      await replayEvent(provider)
    } finally {
      await finalize(provider)
    }
  })

  async function replayEvent(provider: any) {
    const gateway = await mesh.app({ key: 'gateway', secret: S1 })
    await provider.distribution.ready
    const news = await gateway.distribution.waitForService('news')
    const events = recorder(news, ['created'])
    // A first event: a subscriber's word that it opens streams may arrive just after the links are up.
    await provider.service('news').create({ headline: 'first' })
    await events.until(() => events.seen.length === 1, 'the first event')
    const captured = tap(provider.distribution.ports.publisher, 'local')
    await provider.service('news').create({ headline: 'once' })
    await events.until(() => events.seen.length === 2, 'the event')
    captured.restore()
    const frame = captured.frames.find((f) => f.includes(Buffer.from('S4.')))
    expect(frame, 'a stream-sealed frame was captured').to.exist
    // Re-send the same bytes to every subscriber connected to the provider's publisher.
    for (const handle of (process as any)._getActiveHandles()) {
      if (handle instanceof net.Socket && handle.localPort === provider.distribution.ports.publisher) handle.write(frame as Buffer)
    }
    await quiet(500)
    events.stop()
    expect(events.seen).to.have.length(2)
  }

  it('rotation: three apps move from one secret to another one by one under load, with no failed call', async () => {
    const phases = [[S1], [S1, S2], [S2, S1], [S2]]
    let generation = 0
    const provider = (secret: string[]) => mesh.child(`p${generation++}`, { key: 'rotating', services: ['todos'], options: { secret } })
    let providers: Awaited<ReturnType<typeof provider>>[] = await Promise.all([provider(phases[0]), provider(phases[0])])
    let gateway = await mesh.app({ key: 'gateway', secret: phases[0] })
    await waitFor(async () => (await gateway.distribution.waitForService('todos')).replicas.size === 2, 5000, 'two replicas')
    let current = gateway
    const stream = load(() => current.service('todos').find({}), { concurrency: 2, maxMs: 45000 })
    for (const secret of phases.slice(1)) {
      // The gateway: start its successor, move the load, close the old one.
      const next = await mesh.app({ key: 'gateway', secret })
      await waitFor(async () => (await next.distribution.waitForService('todos')).replicas.size === 2, 10000, 'the new gateway to see both replicas')
      const old = current
      current = next
      await finalize(old)
      // Each provider: start its successor, wait until it serves, stop the old one gracefully.
      const replaced = []
      for (const old of providers) {
        const fresh = await provider(secret)
        await waitFor(() => current.service('todos').replicas.has(fresh.uuid), 10000, 'the new replica to join')
        await old.kill('SIGTERM')
        replaced.push(fresh)
      }
      providers = replaced
    }
    await waitFor(() => stream.records.length > 50, 5000, 'traffic')
    await stream.stop()
    expect(stream.failures().map((r) => r.error?.message).slice(0, 3)).to.deep.equal([])
    void gateway
  })

  it('an app sealing each message on its own (1.2) and a 1.3 app call and hear each other, in the 1.2 format', async () => {
    const old = await mesh.child('old', { key: 'old-app', services: ['todos'], options: { secret: S1 }, env: { FEATHERS_MESH_STREAMS: 'off' } })
    const gateway = await mesh.app({ key: 'gateway', secret: S1 }, (app) => app.use('notes', { async find() { return ['a note'] }, async create(data: any) { return data } }))
    const todos = await gateway.distribution.waitForService('todos')
    const ports = await old.send({ cmd: 'ports' })
    const toOld = tap(ports.responder, 'remote')
    const published = tap(gateway.distribution.ports.publisher, 'local')
    const events = recorder(todos, ['created'])
    for (let i = 0; i < 3; i++) expect((await todos.create({ title: `t${i}` })).title).to.equal(`t${i}`)
    await events.until(() => events.seen.length === 3, 'three events from the 1.2 app')
    // ...and the other way: the 1.2 app sees the gateway's service, calls it and hears its events.
    await waitFor(async () => (await old.send({ cmd: 'services' })).includes('notes'), 10000, 'the 1.2 app to see notes')
    expect(await old.send({ cmd: 'call', path: 'notes', method: 'find', args: [{}] })).to.deep.equal(['a note'])
    await old.send({ cmd: 'recordEvents', path: 'notes' })
    await gateway.service('notes').create({ at: new Date() })
    await waitFor(async () => (await old.send({ cmd: 'recordedEvents' })).length === 1, 5000, 'the 1.2 app to hear the event')
    toOld.restore()
    published.restore()
    events.stop()
    // What the 1.3 app wrote to it was sealed the 1.2 way: it advertises no streams.
    const written = [...toOld.frames, ...published.frames]
    expect(written.some((f) => f.includes(Buffer.from('S1.')))).to.equal(true)
    expect(written.some((f) => ['S2.', 'S3.', 'S4.'].some((magic) => f.includes(Buffer.from(magic))))).to.equal(false)
    expect(Object.keys(await old.send({ cmd: 'drops' }))).to.deep.equal([])
  })

  it('a message published to a 1.2 and a 1.3 subscriber travels in one form only, and both hear it', async () => {
    const old = await mesh.child('old', { key: 'old-app', options: { secret: S1 }, env: { FEATHERS_MESH_STREAMS: 'off' } })
    const fresh = await mesh.child('new', { key: 'new-app', options: { secret: S1 } })
    const gateway = await mesh.app({ key: 'gateway', secret: S1 }, (app) => app.use('notes', { async create(data: any) { return data } }))
    for (const app of [old, fresh]) {
      await waitFor(async () => (await app.send({ cmd: 'services' })).includes('notes'), 10000, `${app.name} to see notes`)
      await app.send({ cmd: 'recordEvents', path: 'notes' })
    }
    const published = tap(gateway.distribution.ports.publisher, 'local')
    await gateway.service('notes').create({ at: new Date() })
    for (const app of [old, fresh]) await waitFor(async () => (await app.send({ cmd: 'recordedEvents' })).length === 1, 5000, `${app.name} to hear the event`)
    published.restore()
    // Both subscribers got the same frame, sealed on its own: a copy on a stream would open once more beside it.
    expect(published.frames.filter((f) => f.includes(Buffer.from('S1.'))).length).to.be.at.least(2)
    expect(published.frames.some((f) => ['S2.', 'S3.', 'S4.'].some((magic) => f.includes(Buffer.from(magic))))).to.equal(false)
  })

  it('apps of 1.3, 1.4 and 1.5 call and hear each other, each pair with the newest tag both open (SHA3, SHA-256, Poly1305)', async () => {
    // Three replicas of one key: an app of 1.3, one of 1.4 and one of 1.5, as in rolling upgrades.
    const old = await mesh.child('old', { key: 'todos-app', services: ['todos'], options: { secret: S1 }, env: { FEATHERS_MESH_STREAMS: '1.3' } })
    const mid = await mesh.child('mid', { key: 'todos-app', services: ['todos'], options: { secret: S1 }, env: { FEATHERS_MESH_STREAMS: '1.4' } })
    const fresh = await mesh.child('new', { key: 'todos-app', services: ['todos'], options: { secret: S1 } })
    const gateway = await mesh.app({ key: 'gateway', secret: S1 }, (app) => app.use('notes', { async find() { return ['a note'] }, async create(data: any) { return data } }))
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(() => todos.replicas.size === 3, 10000, 'the three todos replicas')
    const toOld = tap((await old.send({ cmd: 'ports' })).responder, 'remote')
    const toMid = tap((await mid.send({ cmd: 'ports' })).responder, 'remote')
    const toNew = tap((await fresh.send({ cmd: 'ports' })).responder, 'remote')
    const published = tap(gateway.distribution.ports.publisher, 'local')
    const events = recorder(todos, ['created'])
    // Replicas are picked in turn: nine calls reach all three.
    for (let i = 0; i < 9; i++) expect((await todos.create({ title: `t${i}` })).title).to.equal(`t${i}`)
    await events.until(() => events.seen.length === 9, 'nine events from the three replicas')
    for (const app of [old, mid, fresh]) {
      await waitFor(async () => (await app.send({ cmd: 'services' })).includes('notes'), 10000, `${app.name} to see notes`)
      expect(await app.send({ cmd: 'call', path: 'notes', method: 'find', args: [{}] })).to.deep.equal(['a note'])
      await app.send({ cmd: 'recordEvents', path: 'notes' })
    }
    await gateway.service('notes').create({ at: new Date() })
    for (const app of [old, mid, fresh]) await waitFor(async () => (await app.send({ cmd: 'recordedEvents' })).length === 1, 5000, `${app.name} to hear the event`)
    for (const t of [toOld, toMid, toNew, published]) t.restore()
    events.stop()
    const kinds = (frames: Buffer[]) => ['S2.', 'S3.', 'S4.'].filter((magic) => frames.some((f) => f.includes(Buffer.from(magic))))
    // Calls to the 1.3 app are tagged with SHA3, to the 1.4 app with SHA-256, to the 1.5 app with Poly1305.
    expect(kinds(toOld.frames)).to.deep.equal(['S2.'])
    expect(kinds(toMid.frames)).to.deep.equal(['S3.'])
    expect(kinds(toNew.frames)).to.deep.equal(['S4.'])
    // A message published to all travels in one form only: the one the 1.3 subscriber opens.
    expect(kinds(published.frames)).to.deep.equal(['S2.'])
    for (const app of [old, mid, fresh]) expect(Object.keys(await app.send({ cmd: 'drops' }))).to.deep.equal([])
  })

  it('an app that cannot run WebAssembly (node --jitless) acts as one of 1.4: calls go both ways, tagged with SHA-256', async () => {
    const jitless = await mesh.child('jitless', { key: 'todos-app', services: ['todos'], options: { secret: S1 }, execArgv: ['--jitless'] }, 20000)
    const gateway = await mesh.app({ key: 'gateway', secret: S1 }, (app) => app.use('notes', { async find() { return ['a note'] } }))
    const todos = await gateway.distribution.waitForService('todos')
    const toIt = tap((await jitless.send({ cmd: 'ports' })).responder, 'remote')
    expect((await todos.create({ title: 'no wasm' })).title).to.equal('no wasm')
    toIt.restore()
    await waitFor(async () => (await jitless.send({ cmd: 'services' })).includes('notes'), 10000, 'the jitless app to see notes')
    expect(await jitless.send({ cmd: 'call', path: 'notes', method: 'find', args: [{}] })).to.deep.equal(['a note'])
    const kinds = ['S2.', 'S3.', 'S4.'].filter((magic) => toIt.frames.some((f) => f.includes(Buffer.from(magic))))
    expect(kinds).to.deep.equal(['S3.'])
    expect(Object.keys(await jitless.send({ cmd: 'drops' }))).to.deep.equal([])
  })

  it('a peer on another major protocol version is refused with one log line; a newer minor interoperates', async () => {
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (line: string) => warnings.push(line)
    const old = fakePeer({ port: mesh.port, key: 'future-major', v: 2, services: [{ path: 'future', methods: ['find'] }] })
    const minor = fakePeer({ port: mesh.port, key: 'future-minor', v: 1, extra: { m: 7, shiny: { new: true } }, services: [{ path: 'minor', methods: ['find'] }] })
    try {
      const gateway = await mesh.app({ key: 'gateway' })
      const service = await gateway.distribution.waitForService('minor')
      expect(await service.find({})).to.equal('fake answer')
      await waitFor(() => gateway.distribution.refused().some((r: any) => r.uuid === old.uuid), 5000, 'the v2 peer to be refused')
      await quiet(600) // several heartbeats of the refused peer
      expect(warnings.filter((w) => w.includes(old.uuid))).to.have.length(1)
      expect(gateway.services.future).to.equal(undefined)
      const health = await gateway.distribution.healthcheck('future-major')
      expect(health.status).to.equal(404)
      expect(health.body.refused[0]).to.include({ uuid: old.uuid, key: 'future-major' })
    } finally {
      console.warn = warn
      old.close()
      minor.close()
    }
  })

  it('a flood of 50k bad frames from another process leaves calls working, with p99 under 100 ms', async () => {
    // Its drop log is read here: a flood must not flood the log.
    const provider = await mesh.child('provider', { key: 'flood-app', services: ['todos'], options: { secret: S1 }, env: { DEBUG: 'feathers-mesh:drops', DEBUG_COLORS: 'no' }, stderr: 'pipe' })
    let log = ''
    provider.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log += chunk))
    const gateway = await mesh.app({ key: 'gateway', secret: S1 })
    const todos = await gateway.distribution.waitForService('todos')
    const ports = await provider.send({ cmd: 'ports' })
    const stream = load(() => todos.find({}), { concurrency: 1, maxMs: 30000 })
    await waitFor(() => stream.records.length > 50, 5000, 'calls before the flood')
    // The attacker is another process: 50k frames over 10 connections. It boots first, then floods.
    const flooder = fork(path.join(__dirname, '..', 'fixtures', 'flooder.js'), [String(ports.responder), '50000', '10'], { execArgv: ['-r', GUARD] })
    const exited = new Promise((resolve) => flooder.once('exit', resolve))
    await new Promise((resolve) => flooder.once('message', resolve))
    const floodStart = Date.now()
    flooder.send('go')
    await exited
    const floodEnd = Date.now()
    const after = stream.records.length
    await waitFor(() => stream.records.length > after + 100, 5000, 'calls after the flood')
    await stream.stop()
    const dropped = Object.values(await provider.send({ cmd: 'drops' })).reduce((a: number, b: any) => a + b, 0) as number
    expect(dropped).to.be.above(0)
    // Each source is logged at most once a minute: the flooder's connections are one source.
    const logLines = log.split('\n').filter((line) => line.includes('feathers-mesh:drops'))
    console.log(`      ${dropped} frame(s) dropped and counted, ${logLines.length} drop log line(s)`)
    expect(logLines.length, log).to.be.within(1, 3)
    // Every call that overlapped the flood, and the 100 after it.
    const during = stream.records.filter((r) => r.ended >= floodStart && r.started <= floodEnd + 1000)
    const latencies = during.map((r) => r.ended - r.started).sort((a, b) => a - b)
    const p99 = latencies[Math.floor(latencies.length * 0.99)]
    console.log(`      ${latencies.length} calls during the flood (${floodEnd - floodStart} ms): p50 ${latencies[Math.floor(latencies.length / 2)]} ms, p99 ${p99} ms`)
    expect(stream.failures()).to.have.length(0)
    // Issue #7 targets 10 ms, measured 6-9 ms here alone; other suites' processes share these 2 cores: bound it.
    expect(p99, 'p99 (ms)').to.be.below(100)
    expect(provider.process.exitCode).to.equal(null)
  })

  it('a flood of forged identities keeps the refused list to its newest 1000 and the log to 10 lines a minute', async () => {
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (message: unknown) => void warnings.push(String(message))
    try {
      const app = await mesh.app({ key: 'claimed', secret: S1 })
      const { responder } = app.distribution.ports
      // Unsealed requests, each claiming another app: each connection is cut at its first frame.
      for (let i = 0; i < 1100; i++) {
        const claim = JSON.stringify({ v: 1, type: 'call', from: `forged-${i}`, key: `claim-${i}`, path: 'x', method: 'find', args: [{}] })
        await sendRaw(responder, frameOf([Buffer.from(`s:${claim}`), Buffer.from(`s:id-${i}`)]))
      }
      await waitFor(() => app.distribution.refused().some((r: any) => r.uuid === 'forged-1099'), 5000, 'the last claim to be refused')
      const refused = app.distribution.refused()
      expect(refused).to.have.length(1000)
      expect(refused.some((r: any) => r.uuid === 'forged-99')).to.equal(false)
      expect(refused.some((r: any) => r.uuid === 'forged-100')).to.equal(true)
      expect(warnings.filter((line) => /^feathers-mesh: peer forged-\d+ \(key claim-\d+\) refused: it sends unsealed messages/.test(line))).to.have.length(10)
    } finally {
      console.warn = warn
    }
  })

  it('without a secret, warns once at start when NODE_ENV=production', async () => {
    const warnings: string[] = []
    const warn = console.warn
    const env = process.env.NODE_ENV
    console.warn = (line: string) => warnings.push(line)
    process.env.NODE_ENV = 'production'
    try {
      const app = feathers()
      app.configure(distribution(mesh.options({ coteDelay: 60_000 })))
      const secured = feathers()
      secured.configure(distribution(mesh.options({ coteDelay: 60_000, secret: S1 })))
      await finalize(app)
      await finalize(secured)
    } finally {
      console.warn = warn
      process.env.NODE_ENV = env
    }
    expect(warnings.filter((w) => w.includes('unauthenticated'))).to.have.length(1)
  })

  it('refuses short secrets and reads FEATHERS_MESH_SECRET', () => {
    expect(() => distribution({ secret: 'short' })).to.throw(/at least 16/)
    const env = process.env.FEATHERS_MESH_SECRET
    process.env.FEATHERS_MESH_SECRET = S1
    try {
      const app = feathers()
      app.configure(distribution(mesh.options({ coteDelay: 60_000 })))
      expect(app.distribution.options.secrets).to.deep.equal([S1])
      return finalize(app)
    } finally {
      if (env === undefined) delete process.env.FEATHERS_MESH_SECRET
      else process.env.FEATHERS_MESH_SECRET = env
    }
  })
})
