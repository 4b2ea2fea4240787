import { expect } from 'chai'
import { MemoryService } from '@feathersjs/memory'
import { PROTOCOL_VERSION } from '../../src'
import { fakePeer } from '../helpers/fake-peer'
import { Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp } from '../helpers/mesh'
import { socketClient } from '../helpers/clients'
import { quiet, recorder } from '../helpers/events'

describe('replica event sync', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  const clients: any[] = []
  let replicas: ChildApp[]

  before(async () => {
    replicas = await Promise.all(['a', 'b', 'c'].map((name) => mesh.child(name, { key: 'chat', services: ['chat:messages', 'unsynced:quiet'], options: { sync: true } })))
    // Every replica knows the two others before the test starts.
    await Promise.all(replicas.map((replica) => waitFor(async () => (await replica.send({ cmd: 'peers' })) >= 2, 5000, `${replica.name} to see its fellow replicas`)))
  })
  after(async () => {
    clients.forEach((client) => client.io.close())
    await mesh.close()
  })

  /** Two more apps of one key, `b` knowing `a` serves `path`, and a socket.io client of `b`. */
  async function twoReplicas(key: string, services: string[], path: string, options: Record<string, unknown> = {}) {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => mesh.child(`${key}-${name}`, { key, services, options })))
    await waitFor(async () => (await b.send({ cmd: 'peerList' })).some((peer: any) => peer.uuid === a.uuid && peer.services.includes(path)), 5000, 'b to know a')
    const client = await socketClient(b.url)
    clients.push(client)
    return { a, b, client }
  }

  it('a client of every replica gets every created event once, in the order one replica emitted them, values intact', async () => {
    const sockets = await Promise.all(replicas.map((replica) => socketClient(replica.url)))
    clients.push(...sockets)
    const seen = sockets.map((client) => recorder(client.service('messages'), ['created']))
    for (let round = 0; round < 3; round++) {
      for (const replica of replicas) await replica.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ text: `${replica.name}${round}` }] })
    }
    await Promise.all(seen.map((events, i) => events.until(() => events.seen.length >= 9, `client ${i} to get nine events`)))
    await quiet()
    for (const events of seen) {
      expect(events.seen).to.have.length(9)
      for (const replica of replicas) {
        const fromReplica = events.seen.map((e) => e.data).filter((m) => m.id.startsWith(`${replica.name}-`)).map((m) => m.text)
        expect(fromReplica).to.deep.equal([0, 1, 2].map((round) => `${replica.name}${round}`))
      }
      const [first] = events.seen
      expect(first.data.at).to.be.a('string') // socket.io clients get JSON: dates as ISO strings
    }
  })

  it('keeps Date and Buffer values intact on the fellow replicas', async () => {
    const [a, b] = replicas
    await b.send({ cmd: 'recordEvents', path: 'messages' })
    await a.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ text: 'typed' }] })
    const events = await waitFor(async () => {
      const list = await b.send({ cmd: 'recordedEvents' })
      return list.length > 0 && list
    }, 5000, 'the event on b')
    expect(events[0]).to.include({ isDate: true, isBuffer: true, synced: true })
  })

  it('params.sync = false keeps one event local; a service with sync: false is not synced', async () => {
    const [a, b] = replicas
    const client = await socketClient(b.url)
    clients.push(client)
    const events = recorder(client.service('messages'), ['created'])
    const quietEvents = recorder(client.service('quiet'), ['created'])
    await a.send({ cmd: 'createLocal', path: 'messages', data: { text: 'local only' } })
    await a.send({ cmd: 'call', path: 'quiet', method: 'create', args: [{ text: 'not synced' }] })
    await a.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ text: 'synced' }] })
    await events.until(() => events.seen.length > 0, 'the synced event')
    await quiet()
    expect(events.seen.map((e) => e.data.text)).to.deep.equal(['synced'])
    expect(quietEvents.seen).to.have.length(0)
  })

  it('syncs custom events too; a hook setting context.sync = false keeps that event local; apps of another key ignore synced events', async () => {
    const [a, b] = replicas
    // (Its path clashes with the chat replicas' for proxies: it goes at the end, before the gateway test.)
    const outsider = await mesh.child('outsider', { key: 'other-chat', services: ['chat:messages'], options: { sync: true } })
    const [toB, toOutsider] = await Promise.all([socketClient(b.url), socketClient(outsider.url)])
    clients.push(toB)
    try {
      const onB = recorder(toB.service('messages'), ['created', 'typing'])
      const onOutsider = recorder(toOutsider.service('messages'), ['created', 'typing'])
      await a.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ text: 'hook keeps it', keepLocal: true }] })
      await a.send({ cmd: 'emit', path: 'messages', event: 'typing', data: { who: 'a' } })
      await a.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ text: 'synced' }] })
      await onB.until(() => onB.seen.length >= 2, 'the custom event and the synced one on b')
      await quiet()
      expect(onB.seen.map((e) => `${e.event} ${e.data.text ?? e.data.who}`)).to.deep.equal(['typing a', 'created synced'])
      expect(onOutsider.seen).to.deep.equal([])
    } finally {
      // Its HTTP server waits for its clients before it exits.
      toOutsider.io.close()
      await outsider.kill()
    }
  })

  it('sync: true on one service syncs it in apps whose sync option is off; their other services stay unsynced', async () => {
    const { a, client } = await twoReplicas('chat-opt-in', ['synced:opted', 'chat:plain'], 'opted')
    const opted = recorder(client.service('opted'), ['created'])
    const plain = recorder(client.service('plain'), ['created'])
    await a.send({ cmd: 'call', path: 'plain', method: 'create', args: [{ text: 'stays on a' }] })
    await a.send({ cmd: 'call', path: 'opted', method: 'create', args: [{ text: 'synced' }] })
    await opted.until(() => opted.seen.length > 0, 'the event of the synced service')
    await quiet()
    expect(opted.seen.map((e) => e.data.text)).to.deep.equal(['synced'])
    expect(plain.seen).to.have.length(0)
  })

  it("a synced service's fellow replicas get what clients may see (context.dispatch), even when its events are not distributed", async () => {
    const { a, client } = await twoReplicas('accounts-sync', ['accounts'], 'accounts', { sync: true, publishEvents: false })
    const events = recorder(client.service('accounts'), ['created'])
    // An internal call on a: its result holds the password, its dispatch does not.
    await a.send({ cmd: 'call', path: 'accounts', method: 'create', args: [{ email: 'sync@example.com', password: 'hunter2' }] })
    await events.until(() => events.seen.length > 0, 'the synced event on b')
    expect(events.seen[0].data).to.include({ email: 'sync@example.com' })
    expect(events.seen[0].data).not.to.have.property('password')
  })

  it('a gateway consuming the replicas through proxies gets each event once (sync and proxies do not double up)', async () => {
    const gateway = await mesh.app({ key: 'gateway' }, (app) => {
      app.on('connection', (connection: any) => app.channel('all').join(connection))
      app.publish(() => app.channel('all'))
    })
    const messages = await gateway.distribution.waitForService('messages')
    await waitFor(() => messages.replicas.size === 3, 5000, 'three replicas')
    const client = await socketClient(gateway.url)
    clients.push(client)
    const events = recorder(client.service('messages'), ['created'])
    for (const replica of replicas) await replica.send({ cmd: 'call', path: 'messages', method: 'create', args: [{ text: `via-${replica.name}` }] })
    await events.until(() => events.seen.length >= 3, 'three events')
    await quiet()
    expect(events.seen.map((e) => e.data.text).sort()).to.deep.equal(['via-a', 'via-b', 'via-c'])
  })
})

describe('replica event sync: what fellow replicas get', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename.replace(/\.js$/, '.context.js'))
  const clients: any[] = []
  after(async () => {
    clients.forEach((client) => client.io.close())
    await mesh.close()
  })

  async function client(url: string) {
    const connected = await socketClient(url)
    clients.push(connected)
    return connected
  }

  /** Two in-process replicas of `key`, each knowing the other. */
  async function replicas(key: string, options: Record<string, unknown>, register: (app: any, name: string) => void) {
    // They mount no proxies: every test's replicas serve `messages`, under keys of their own.
    const apps = [await mesh.app({ key, remoteServices: () => false, ...options }, (app) => register(app, 'a')), await mesh.app({ key, remoteServices: () => false, ...options }, (app) => register(app, 'b'))]
    for (const app of apps) await waitFor(() => app.distribution.peers().some((peer: any) => peer.key === key), 5000, 'the fellow replica')
    return apps
  }

  it("a publisher on a fellow replica reads who called (params.user without its password fields, provider, query), as on the sender", async () => {
    const seen: any[] = []
    const [a, b] = await replicas('chat-params', { sync: true }, (app) => {
      app.use('messages', new MemoryService({ id: 'id' }))
      app.set('authentication', { entity: 'user', local: { usernameField: 'email', passwordField: 'passphrase' } })
      app.on('connection', (connection: any) => app.channel('orgs/1').join(connection))
      // As Feathers' channel docs do: publish to the caller's organisation.
      app.service('messages').publish('created', (_data: any, context: any) => {
        if (context.synced) seen.push(context.params)
        return app.channel(`orgs/${context.params.user.orgId}`)
      })
    })
    const onB = recorder((await client(b.url)).service('messages'), ['created'])
    await a.service('messages').create({ text: 'hi' }, { user: { id: 7, orgId: 1, password: 'hash', passphrase: 'hash too' }, provider: 'rest', query: { $select: ['text'] } })
    await onB.until(() => onB.seen.length > 0, 'the event on the client of b')
    expect(onB.seen.map((event) => event.data.text)).to.deep.equal(['hi'])
    expect(seen).to.deep.equal([{ user: { id: 7, orgId: 1 }, provider: 'rest', query: { $select: ['text'] } }])
  })

  it('params.sync = false passed through a proxy keeps the event on the replica that served it', async () => {
    const [a, b] = await replicas('chat-gateway', { sync: true }, (app, name) => {
      app.use('messages', new MemoryService({ id: 'id', startId: name === 'a' ? 0 : 1000 }))
      app.on('connection', (connection: any) => app.channel('all').join(connection))
      app.publish(() => app.channel('all'))
    })
    const gateway = await mesh.app({ key: 'chat-gateway-front', remoteServices: (service) => service.key === 'chat-gateway' })
    const messages = await gateway.distribution.waitForService('messages')
    await waitFor(() => messages.replicas.size === 2, 5000, 'both replicas')
    const [onA, onB] = [recorder((await client(a.url)).service('messages'), ['created']), recorder((await client(b.url)).service('messages'), ['created'])]
    for (let i = 0; i < 4; i++) await gateway.service('messages').create({ text: `local ${i}` }, { sync: false })
    await gateway.service('messages').create({ text: 'synced' })
    await onA.until(() => onA.seen.some((event) => event.data.text === 'synced'), 'the synced event on a')
    await onB.until(() => onB.seen.some((event) => event.data.text === 'synced'), 'the synced event on b')
    await quiet()
    // Each local event once, on the replica that served it; the synced one on both.
    expect(onA.seen.length + onB.seen.length).to.equal(4 + 2)
  })

  it('who called never costs the event: a user that cannot travel (BigInt id, cycle) or would make it too large, it goes without', async () => {
    const [a, b] = await replicas('chat-odd-users', { sync: true, maxPayload: 20000 }, (app) => app.use('messages', new MemoryService({ id: 'id' })))
    const onB = recorder(b.service('messages'), ['created'])
    const cyclic: any = { id: 3 }
    cyclic.self = cyclic
    const users = [{ id: 1n }, cyclic, { id: 2, avatar: 'x'.repeat(25000) }, { id: 4 }]
    for (const [i, user] of users.entries()) await a.service('messages').create({ i }, { user, provider: 'rest' })
    await onB.until(() => onB.seen.length === users.length, 'every event on the fellow replica')
    expect(onB.seen.map((event) => event.data.i)).to.deep.equal([0, 1, 2, 3])
    expect(onB.seen.map((event) => event.context.params.user)).to.deep.equal([undefined, undefined, undefined, { id: 4 }])
  })

  it('re-emits a synced event only from a fellow replica: another key claiming this one is ignored', async () => {
    const [a] = await replicas('chat-forged', { sync: true }, (app) => app.use('messages', new MemoryService({ id: 'id' })))
    const onA = recorder(a.service('messages'), ['created'])
    const intruder = fakePeer({ port: mesh.port, key: 'elsewhere', v: PROTOCOL_VERSION, services: [] })
    try {
      await waitFor(() => a.distribution.peers().some((peer: any) => peer.uuid === intruder.uuid), 5000, 'the other app to be admitted')
      const event = { path: 'messages', event: 'created', data: { text: 'forged' }, sync: true, distributed: false, context: { event: 'created', params: { user: { orgId: 1 } } } }
      intruder.publish({ ...event, key: 'chat-forged' })
      await a.service('messages').create({ text: 'own' })
      await quiet()
      expect(onA.seen.map((seen) => seen.data.text)).to.deep.equal(['own'])
    } finally {
      intruder.close()
    }
  })

  it('an event that cannot be sent (over maxPayload) is not counted as sent', async () => {
    const [a] = await replicas('chat-large', { sync: true, maxPayload: 20000 }, (app) => app.use('messages', new MemoryService({ id: 'id' })))
    await a.service('messages').create({ text: 'small' })
    const before = a.distribution.status().counters.eventsOut
    expect(before).to.equal(1)
    await a.service('messages').create({ text: 'large', blob: 'y'.repeat(30000) })
    expect(a.distribution.status().counters.eventsOut).to.equal(before)
  })
})
