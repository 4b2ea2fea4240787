/**
 * README claims that were true by reading and had no test: each `it` names the README section it
 * checks. Apps run in processes of their own where a process boundary matters (the sender of a
 * synced event, the gateway of a proxied call, the replicas on the mesh page, the app of 1.3).
 */
import fs from 'fs'
import net from 'net'
import { randomUUID } from 'crypto'
import { expect } from 'chai'
import { MemoryService } from '@feathersjs/memory'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp, Transport } from '../helpers/mesh'
import { http, socketClient } from '../helpers/clients'
import { recorder } from '../helpers/events'
import { CHROMIUM, CHROMIUM_ARGS, loopbackContext } from '../helpers/browser'
import { referenceStream } from '../helpers/sealing'
import { encodeFrame } from '../../src/wire'

const SECRET = 'documented-more-secret-0123'
const DEFAULT_REMOTE_PARAMS = ['query', 'provider', 'route', 'user', 'authentication']

/** What this process writes to, and reads from, the sockets whose remote (or local) port is `port`. */
function tapBoth(port: number, side: 'remote' | 'local') {
  const written: Buffer[] = []
  const read: Buffer[] = []
  const undo: Array<() => void> = []
  for (const handle of (process as any)._getActiveHandles()) {
    if (!(handle instanceof net.Socket) || (side === 'remote' ? handle.remotePort : handle.localPort) !== port) continue
    const socket = handle
    const write = socket.write
    socket.write = function (this: net.Socket, chunk: any, ...rest: any[]) {
      if (Buffer.isBuffer(chunk)) written.push(Buffer.from(chunk))
      return write.call(this, chunk, ...rest)
    } as any
    const onData = (chunk: Buffer) => read.push(Buffer.from(chunk))
    socket.on('data', onData)
    undo.push(() => {
      socket.write = write
      socket.removeListener('data', onData)
    })
  }
  return { written, read, count: undo.length, restore: () => undo.forEach((step) => step()) }
}

/** The stream-frame kinds found in some bytes (one buffer: a magic split across chunks is still found). */
const kindsIn = (chunks: Buffer[]) => {
  const all = Buffer.concat(chunks)
  return ['S2.', 'S3.', 'S4.'].filter((magic) => all.includes(Buffer.from(magic)))
}

/** A raw TCP connection of this test to a port of an app, recording what comes back and when it closes. */
function rawConnection(port: number) {
  const socket = net.connect(port, '127.0.0.1')
  const received: Buffer[] = []
  let closed = false
  socket.on('data', (chunk) => received.push(Buffer.from(chunk)))
  socket.on('error', () => undefined)
  socket.on('close', () => (closed = true))
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  return { socket, received, connected, closed: () => closed, bytes: () => Buffer.concat(received) }
}

describe('behaviours the README documents: sync params, middlewares, page states, protocol 1.3', function () {
  this.timeout(60000)
  const mesh = new Mesh(__filename)
  const clients: any[] = []
  afterEach(async () => {
    clients.splice(0).forEach((client) => client.io.close())
    await mesh.close()
  })

  it('Replica sync: who called (user, provider, query) that cannot travel (BigInt id) or would pass maxPayload is left out, all three, and the event still arrives', async () => {
    const key = 'sync-who'
    const seen: Array<{ i: number; params: any; inPublisher: boolean }> = []
    const published: any[] = []
    // The fellow replica that watches: its listeners and its publisher get the re-emitted context.
    const watcher = await mesh.app({ key, sync: true, remoteServices: () => false }, (app) => {
      app.use('messages', new MemoryService({ id: 'id' }))
      app.service('messages').on('created', (data: any, context: any) => {
        if (context?.synced) seen.push({ i: data.i, params: context.params, inPublisher: false })
      })
      app.service('messages').publish('created', (data: any, context: any) => {
        if (context?.synced) published.push({ i: data.i, params: context.params })
        return []
      })
    })
    // One sender in this process (a BigInt cannot cross IPC), one in its own process with a small maxPayload.
    const local = await mesh.app({ key, sync: true, remoteServices: () => false }, (app) => app.use('messages', new MemoryService({ id: 'id' })))
    const sender = await mesh.child('sender', { key, services: ['synced:messages'], options: { sync: true, maxPayload: 20000 } })
    await waitFor(() => [local.distribution.uuid, sender.uuid].every((uuid) => watcher.distribution.peers().some((peer: any) => peer.uuid === uuid && peer.services.includes('messages'))), 10000, 'the watcher to know both senders')
    await waitFor(async () => (await sender.send({ cmd: 'peerList' })).some((peer: any) => peer.uuid === watcher.distribution.uuid), 10000, 'the sender to know the watcher')

    await local.service('messages').create({ i: 0 }, { user: { id: 1n, name: 'big' }, provider: 'rest', query: { room: 'a' } })
    await local.service('messages').create({ i: 1 }, { user: { id: 5, name: 'plain' }, provider: 'rest', query: { room: 'a' } })
    await sender.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ i: 2 }, { user: { id: 2, avatar: 'x'.repeat(25000) }, provider: 'socketio', query: { room: 'b' } }] })
    await sender.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ i: 3 }, { user: { id: 6 }, provider: 'socketio', query: { room: 'b' } }] })
    await waitFor(() => seen.length === 4 && published.length === 4, 10000, 'the four events on the fellow replica, its publisher included')

    const byI = (list: any[]) => [0, 1, 2, 3].map((i) => list.find((entry) => entry.i === i)?.params)
    for (const params of [byI(seen), byI(published)]) {
      // Never dropped, and without all three when they cannot travel...
      for (const i of [0, 2]) {
        expect(params[i], `event ${i}`).to.deep.equal({})
        for (const field of ['user', 'provider', 'query']) expect(params[i], `event ${i}`).not.to.have.property(field)
      }
      // ...and with all three when they can.
      expect(params[1]).to.deep.equal({ user: { id: 5, name: 'plain' }, provider: 'rest', query: { room: 'a' } })
      expect(params[3]).to.deep.equal({ user: { id: 6 }, provider: 'socketio', query: { room: 'b' } })
    }
  })

  it('Replica sync: params.sync = false through a proxy never reaches the serving replica\'s hooks as a param, unless its remoteParams lists sync (then it does, as false); either way the event stays on that replica', async () => {
    const key = 'sync-word'
    type Seen = { hasSync: boolean; sync: unknown; text: string }
    const hooks: Record<string, Seen[]> = { plain: [], listing: [] }
    const synced: Record<string, string[]> = { plain: [], listing: [] }
    const replica = (name: 'plain' | 'listing', remoteParams: string[]) =>
      mesh.app({ key, sync: true, remoteServices: () => false, remoteParams }, (app) => {
        app.use('messages', new MemoryService({ id: 'id', startId: name === 'plain' ? 0 : 1000 }))
        app.service('messages').hooks({
          before: { all: [async (context: any) => void (context.params.fromRemote && hooks[name].push({ hasSync: 'sync' in context.params, sync: context.params.sync, text: context.data?.text }))] }
        })
        app.service('messages').on('created', (data: any, context: any) => context?.synced && synced[name].push(data.text))
      })
    const plain = await replica('plain', DEFAULT_REMOTE_PARAMS)
    const listing = await replica('listing', [...DEFAULT_REMOTE_PARAMS, 'sync'])
    // The caller is a gateway in its own process: params.sync = false crosses IPC and then the mesh.
    const gateway = await mesh.child('gateway', { key: 'sync-word-gateway' })
    await waitFor(async () => {
      const peers = await gateway.send({ cmd: 'peerList' })
      return [plain, listing].every((app) => peers.some((peer: any) => peer.uuid === app.distribution.uuid && peer.services.includes('messages')))
    }, 10000, 'the gateway to know both replicas')
    // Calls go to the replicas in turn: call until each has served some (bounded by the deadline).
    let n = 0
    await waitFor(
      async () => {
        await gateway.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ text: `local ${n++}` }, { sync: false }] })
        return hooks.plain.length > 0 && hooks.listing.length > 0
      },
      10000,
      'both replicas to serve a call with params.sync = false'
    )
    // A replica that does not list `sync`: its hooks never see it.
    for (const seen of hooks.plain) expect(seen, seen.text).to.deep.include({ hasSync: false, sync: undefined })
    // A replica that lists it takes it as any other param it accepts: its hooks see false.
    for (const seen of hooks.listing) expect(seen, seen.text).to.deep.include({ hasSync: true, sync: false })
    // Either way the word reached the replica's mesh: no fellow replica got those events. Each replica
    // gets the other's events in the order they were emitted, so once each got the other's marker,
    // any earlier synced event would be there.
    await plain.service('messages').create({ text: 'marker from plain' })
    await listing.service('messages').create({ text: 'marker from listing' })
    await waitFor(() => synced.listing.includes('marker from plain') && synced.plain.includes('marker from listing'), 5000, 'each replica to get the other\'s marker')
    expect(synced.plain).to.deep.equal(['marker from listing'])
    expect(synced.listing).to.deep.equal(['marker from plain'])
  })

  for (const transport of ['express', 'koa'] as Transport[]) {
    it(`middlewares (${transport}): run for REST requests to proxies, not for socket.io calls to them`, async () => {
      await mesh.child('provider', { key: 'mw-app', services: ['todos'] })
      const seen: string[] = []
      // Refuses any request without `x-pass: yes`: a socket.io call that went through it would fail.
      const before =
        transport === 'express'
          ? (req: any, res: any, next: any) => {
              seen.push(`${req.method} ${req.originalUrl}`)
              if (req.headers['x-pass'] !== 'yes') return void res.status(403).json({ blocked: true })
              next()
            }
          : async (ctx: any, next: any) => {
              seen.push(`${ctx.method} ${ctx.url}`)
              if (ctx.get('x-pass') !== 'yes') {
                ctx.status = 403
                ctx.body = { blocked: true }
                return
              }
              await next()
            }
      const gateway = await mesh.app({ key: `mw-gateway-${transport}`, middlewares: { before: [before as any] } }, undefined, transport)
      await gateway.distribution.waitForService('todos')
      // REST: the middleware runs, and decides.
      expect(await http(`${gateway.url}/todos`)).to.deep.equal({ status: 403, body: { blocked: true } })
      const allowed = await http(`${gateway.url}/todos`, { method: 'POST', body: { title: 'over rest' }, headers: { 'x-pass': 'yes' } })
      expect(allowed.status).to.equal(201)
      expect(seen).to.deep.equal(['GET /todos', 'POST /todos'])
      // socket.io: the same proxy answers, with no header, and the middleware never runs.
      const client = await socketClient(gateway.url)
      clients.push(client)
      const created = await client.service('todos').create({ title: 'over socket.io' })
      expect(created.title).to.equal('over socket.io')
      expect((await client.service('todos').find({ query: {} })).map((todo: any) => todo.title)).to.include.members(['over rest', 'over socket.io'])
      expect(await client.service('todos').get(created.id)).to.include({ title: 'over socket.io' })
      expect(seen).to.deep.equal(['GET /todos', 'POST /todos'])
    })
  }

  describe('the mesh page: suspect (amber) and leaving (grey)', function () {
    const HEARTBEAT = 200
    const AMBER = 'rgb(227, 116, 0)' // --warn: #e37400
    const GREY = 'rgb(128, 134, 139)' // --off: #80868b
    let browser: Browser | undefined
    let page: Page | undefined
    let stopped: ChildApp | undefined

    before(async function () {
      this.timeout(30000)
      if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: this test needs it (or CHROMIUM_PATH).`)
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20000 })
    })
    after(async function () {
      this.timeout(20000)
      await Promise.race([browser?.close(), new Promise((resolve) => setTimeout(resolve, 10000).unref())]).catch(() => undefined)
    })
    afterEach(() => {
      // A stopped child must run again to be ended by the mesh's close (SIGKILL would end it anyway).
      if (stopped && stopped.process.exitCode === null) stopped.process.kill('SIGCONT')
      stopped = undefined
    })

    it('Mesh page: a replica silent for two heartbeats shows suspect in amber (its service amber too), and back to healthy; one that said goodbye shows leaving in grey', async () => {
      const replica = (name: string) => mesh.child(name, { key: 'page-todos', services: ['todos'], replica: name, options: { heartbeatInterval: HEARTBEAT, secret: SECRET } })
      const [quiet, leaver] = await Promise.all([replica('quiet'), replica('leaver')])
      // A long heartbeat timeout: a silent replica stays suspect (silent for 2 heartbeats) well before it would be dropped.
      const gateway = await mesh.app({ key: 'page-gateway', services: () => false, statusPage: true, heartbeatInterval: HEARTBEAT, heartbeatTimeout: 30000, secret: SECRET })
      const todos = await gateway.distribution.waitForService('todos')
      await waitFor(() => todos.replicas.size === 2, 5000, 'both replicas')
      const offMachine: string[] = []
      const context = await loopbackContext(browser!, offMachine)
      try {
        page = await context.newPage()
        const pageErrors: string[] = []
        page.on('pageerror', (error) => pageErrors.push(error.message))
        await page.goto(`${gateway.url}/distribution/status/page`)
        const box = (uuid: string) => page!.locator(`.app[data-uuid="${uuid}"]`)
        const stateOf = async (uuid: string) => ((await box(uuid).count()) === 0 ? 'absent' : await box(uuid).getAttribute('data-state'))
        const borderColour = (uuid: string) => box(uuid).evaluate((el: any) => (globalThis as any).getComputedStyle(el).borderLeftColor as string)
        // The page redraws every second: read state and colour of one drawing, polling until they match.
        const shows = (uuid: string, state: string, colour: string) => async () => (await stateOf(uuid)) === state && (await borderColour(uuid)) === colour
        await waitFor(async () => (await shows(quiet.uuid, 'admitted', 'rgb(30, 142, 62)')()) && (await stateOf(leaver.uuid)) === 'admitted', 5000, 'both replicas healthy on the page', 50)

        // Suspect: SIGSTOP silences the replica without closing its connections.
        stopped = quiet
        quiet.process.kill('SIGSTOP')
        await waitFor(() => gateway.distribution.status().peers.some((peer: any) => peer.uuid === quiet.uuid && peer.state === 'suspect'), 5000, 'the gateway to see the replica suspect')
        await waitFor(shows(quiet.uuid, 'suspect', AMBER), 5000, 'the silent replica suspect, in amber, on the page', 50)
        await waitFor(async () => (await page!.locator('tr.service[data-path="todos"]').getAttribute('data-health')) === 'warn', 3000, 'the service row amber (warn)', 50)
        expect(await page.locator('tr.service[data-path="todos"] .dot').first().evaluate((el: any) => (globalThis as any).getComputedStyle(el).backgroundColor)).to.equal(AMBER)
        expect(await box(quiet.uuid).locator('.state').textContent()).to.equal('suspect')
        // Heard again, it is healthy again.
        quiet.process.kill('SIGCONT')
        stopped = undefined
        await waitFor(shows(quiet.uuid, 'admitted', 'rgb(30, 142, 62)'), 5000, 'the replica healthy again on the page', 50)

        // Leaving: a graceful stop says goodbye.
        await leaver.kill('SIGTERM')
        await waitFor(() => gateway.distribution.status().peers.some((peer: any) => peer.uuid === leaver.uuid && peer.state === 'leaving'), 5000, 'the gateway to see the replica leaving')
        await waitFor(shows(leaver.uuid, 'leaving', GREY), 5000, 'the replica that said goodbye leaving, in grey, on the page', 50)
        expect(await box(leaver.uuid).locator('.state').textContent()).to.equal('leaving')
        expect(await stateOf(quiet.uuid)).to.equal('admitted')
        expect(offMachine).to.deep.equal([])
        expect(pageErrors).to.deep.equal([])
      } finally {
        await context.close()
      }
    })
  })

  it('Protocol versions: FEATHERS_MESH_STREAMS=1.3 tags stream frames with SHA3-256 only (S2.), and it calls and hears a default app both ways', async () => {
    const old = await mesh.child('old', { key: 'old-todos', services: ['todos'], options: { secret: SECRET }, env: { FEATHERS_MESH_STREAMS: '1.3' } })
    const gateway = await mesh.app({ key: 'gateway', secret: SECRET }, (app) => app.use('notes', { async find() { return ['a note'] }, async create(data: any) { return data } }))
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(async () => (await old.send({ cmd: 'services' })).includes('notes'), 10000, 'the 1.3 app to see notes')
    await old.send({ cmd: 'recordEvents', path: 'notes' })
    const ports = await old.send({ cmd: 'ports' })
    // Both directions of every link between the two: calls and replies, and published events.
    const toOld = tapBoth(ports.responder, 'remote') // the gateway's calls, the 1.3 app's replies
    const fromOld = tapBoth(gateway.distribution.ports.responder, 'local') // the 1.3 app's calls, the gateway's replies
    const oldPublishes = tapBoth(ports.publisher, 'remote') // events the 1.3 app publishes
    const gatewayPublishes = tapBoth(gateway.distribution.ports.publisher, 'local') // events the gateway publishes
    expect([toOld.count, fromOld.count, oldPublishes.count, gatewayPublishes.count]).to.deep.equal([1, 1, 1, 1])
    const events = recorder(todos, ['created'])
    try {
      // The default app calls the 1.3 app, and hears its events...
      for (let i = 0; i < 3; i++) expect((await todos.create({ title: `t${i}` })).title).to.equal(`t${i}`)
      await events.until(() => events.seen.length === 3, 'three events from the 1.3 app')
      // ...and the 1.3 app calls the default app, and hears its events.
      expect(await old.send({ cmd: 'call', path: 'notes', method: 'find', args: [{}] })).to.deep.equal(['a note'])
      await gateway.service('notes').create({ at: new Date() })
      await waitFor(async () => (await old.send({ cmd: 'recordedEvents' })).length === 1, 5000, 'the 1.3 app to hear the event')
    } finally {
      for (const t of [toOld, fromOld, oldPublishes, gatewayPublishes]) t.restore()
      events.stop()
    }
    // What the 1.3 app writes is tagged with SHA3 only...
    expect(kindsIn(toOld.read), 'replies of the 1.3 app').to.deep.equal(['S2.'])
    expect(kindsIn(fromOld.read), 'calls of the 1.3 app').to.deep.equal(['S2.'])
    expect(kindsIn(oldPublishes.read), 'events of the 1.3 app').to.deep.equal(['S2.'])
    // ...and, as it advertises no other tag, so is what the default app writes to it.
    expect(kindsIn(toOld.written), 'calls to the 1.3 app').to.deep.equal(['S2.'])
    expect(kindsIn(fromOld.written), 'replies to the 1.3 app').to.deep.equal(['S2.'])
    expect(kindsIn(gatewayPublishes.written), 'events to the 1.3 app').to.deep.equal(['S2.'])
    expect(Object.keys(await old.send({ cmd: 'drops' }))).to.deep.equal([])
    expect(Object.keys(gateway.distribution.drops())).to.deep.equal([])
  })

  it('Protocol versions: to an app of FEATHERS_MESH_STREAMS=1.3, S3. frames and the word mesh-opens-streams-sha256 are unknown: it drops the first and cuts the connection that sends the second', async () => {
    const old = await mesh.child('old', { key: 'old-todos', services: ['todos'], options: { secret: SECRET }, env: { FEATHERS_MESH_STREAMS: '1.3' } })
    const ports = await old.send({ cmd: 'ports' })
    const titles = async () => (await old.send({ cmd: 'call', path: 'todos', method: 'find', args: [{ query: {} }] })).map((todo: any) => todo.title)
    const notSealed = async () => (await old.send({ cmd: 'drops' }))['not sealed'] ?? 0

    // A call sealed by a fellow app of the mesh (same secret), written from the README alone.
    const from = randomUUID()
    const callFrame = (kind: '2' | '3', title: string) => {
      const id = `${kind}-${randomUUID()}`
      const call = JSON.stringify({ v: 1, type: 'call', from, key: 'caller', path: 'todos', method: 'create', args: [{ title }], params: {} })
      const sealed = referenceStream(SECRET, 'caller', from, old.uuid, 'calls').seal(kind, 0, call, id)
      return encodeFrame([sealed, id])
    }
    // S2. (SHA3): the 1.3 app opens it, and the call runs.
    const s2 = rawConnection(ports.responder)
    await s2.connected
    s2.socket.write(callFrame('2', 'sealed with SHA3'))
    await waitFor(async () => (await titles()).includes('sealed with SHA3'), 5000, 'the S2. call to run')
    s2.socket.destroy()
    // S3. (SHA-256), the same call: dropped (counted as not sealed), and it never runs.
    const dropsBefore = await notSealed()
    const s3 = rawConnection(ports.responder)
    await s3.connected
    s3.socket.write(callFrame('3', 'sealed with SHA-256'))
    await waitFor(async () => (await notSealed()) === dropsBefore + 1, 5000, 'the S3. frame to be dropped')
    // (The frame is handled at once: a call it carried would have started before the drop was counted.)
    expect(await titles()).to.deep.equal(['sealed with SHA3'])
    s3.socket.destroy()

    // The words, sent to its publisher as a subscriber sends them: the 1.3 word is taken (events
    // then come on a stream), the 1.4 word cuts the connection.
    const known = rawConnection(ports.publisher)
    const unknown = rawConnection(ports.publisher)
    try {
      await Promise.all([known.connected, unknown.connected])
      known.socket.write(encodeFrame(['mesh-opens-streams']))
      unknown.socket.write(encodeFrame(['mesh-opens-streams-sha256']))
      await waitFor(() => unknown.closed(), 5000, 'the connection that sent mesh-opens-streams-sha256 to be cut')
      // The connection that sent the 1.3 word stays, and once it is the only subscriber, gets events on a stream (S2.).
      let n = 0
      await waitFor(
        async () => {
          await old.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: `event ${n++}` }] })
          return known.bytes().includes(Buffer.from('S2.'))
        },
        5000,
        'an event on a stream to the subscriber that sent mesh-opens-streams'
      )
      expect(known.closed()).to.equal(false)
      expect(known.bytes().includes(Buffer.from('S3.'))).to.equal(false)
    } finally {
      known.socket.destroy()
      unknown.socket.destroy()
    }
  })
})
