import { expect } from 'chai'
import net from 'net'
import * as errors from '@feathersjs/errors'
import { Mesh, waitFor } from '../helpers/mesh'
import { finalize } from '../../src'
import { http, socketClient } from '../helpers/clients'

/** An axon (AMP) frame of text parts, as a requester writes it. */
function textFrame(parts: string[]): Buffer {
  const chunks = [Buffer.from([(1 << 4) | parts.length])]
  for (const part of parts) {
    const bytes = Buffer.from(`s:${part}`)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    chunks.push(length, bytes)
  }
  return Buffer.concat(chunks)
}

/** Sends one request frame to a responder port and resolves with the reply's parts (text parts without their `s:`/`j:` tag). */
function rawRequest(port: number, parts: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(textFrame(parts)))
    let buffered = Buffer.alloc(0)
    socket.setTimeout(3000, () => socket.destroy(new Error('no reply within 3 s')))
    socket.on('error', reject)
    socket.on('close', () => reject(new Error('closed before a reply')))
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      const count = buffered[0] & 0x0f
      const out: string[] = []
      let at = 1
      for (let i = 0; i < count; i++) {
        if (at + 4 > buffered.length) return
        const length = buffered.readUInt32BE(at)
        if (at + 4 + length > buffered.length) return
        out.push(buffered.toString('utf8', at + 4 + 2, at + 4 + length))
        at += 4 + length
      }
      socket.removeAllListeners('close')
      socket.destroy()
      resolve(out)
    })
  })
}

describe('distributedMethods (app option)', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  let gateway: any
  let provider: any
  after(() => mesh.close())

  before(async () => {
    // Without service options of its own (the fixture's `todos` lists its methods), so the app's list applies.
    provider = await mesh.child('provider', { key: 'readonly-app', services: ['plaintodos:todos'], options: { distributedMethods: ['find', 'get'] } })
    gateway = await mesh.app({ key: 'gateway', timeout: 2000 })
    await gateway.distribution.waitForService('todos')
  })

  it('the listed methods work through the proxy', async () => {
    await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'local' }] })
    expect((await gateway.service('todos').find({})).map((todo: any) => todo.title)).to.deep.equal(['local'])
    expect((await gateway.service('todos').get(1)).title).to.equal('local')
  })

  it('any other method fails with MethodNotAllowed (405) before anything is sent, and over REST', async () => {
    for (const call of [() => gateway.service('todos').create({ title: 'x' }), () => gateway.service('todos').patch(1, { done: true }), () => gateway.service('todos').remove(1)]) {
      const error = await call().then(() => undefined, (e: any) => e)
      expect(error).to.be.instanceOf(errors.MethodNotAllowed)
      expect(error.code).to.equal(405)
    }
    expect((await http(`${gateway.url}/todos`, { method: 'POST', body: { title: 'x' } })).status).to.equal(405)
    expect((await http(`${gateway.url}/todos/1`, { method: 'DELETE' })).status).to.equal(405)
    expect((await provider.send({ cmd: 'call', path: 'todos', method: 'find', args: [{}] })).map((todo: any) => todo.title)).to.deep.equal(['local'])
  })

  it('the provider refuses a call to another method itself, whatever a requester sends', async () => {
    const { responder } = await provider.send({ cmd: 'ports' })
    const call = { v: 1, type: 'call', from: 'a-requester-of-its-own', key: 'raw', path: 'todos', method: 'remove', args: [1], params: {} }
    const [, reply, id] = await rawRequest(responder, [JSON.stringify(call), 'raw-1'])
    expect(id).to.equal('raw-1')
    const answer = JSON.parse(reply)
    expect(answer.ok).to.equal(false)
    expect([answer.error.name, answer.error.code]).to.deep.equal(['MethodNotAllowed', 405])
    expect((await gateway.service('todos').get(1)).title, 'the record is still there').to.equal('local')
  })

  it('answers a request of another protocol version with BadRequest naming both versions, and runs nothing', async () => {
    const { responder } = await provider.send({ cmd: 'ports' })
    const call = { v: 99, type: 'call', from: 'a-future-requester', key: 'raw', path: 'todos', method: 'find', args: [{}], params: {} }
    const [, reply, id] = await rawRequest(responder, [JSON.stringify(call), 'raw-2'])
    expect(id).to.equal('raw-2')
    const answer = JSON.parse(reply)
    expect([answer.ok, answer.error.name, answer.error.code]).to.deep.equal([false, 'BadRequest', 400])
    expect(answer.error.message).to.match(/protocol version 99 .*this app speaks 1/)
  })

  it('answers a raw request for a path it does not expose with NotFound, wrong arguments and an unknown type with BadRequest', async () => {
    const { responder } = await provider.send({ cmd: 'ports' })
    const base = { v: 1, from: 'a-raw-requester', key: 'raw', params: {} }
    const ask = async (message: Record<string, unknown>, id: string) => {
      const [, reply, echoed] = await rawRequest(responder, [JSON.stringify({ ...base, ...message }), id])
      expect(echoed).to.equal(id)
      return JSON.parse(reply)
    }
    const found = await ask({ type: 'call', path: 'todos', method: 'find', args: [] }, 'raw-3')
    expect(found.ok, 'a well-formed find').to.equal(true)
    const missing = await ask({ type: 'call', path: 'nope', method: 'find', args: [] }, 'raw-4')
    expect([missing.ok, missing.error.name, missing.error.code]).to.deep.equal([false, 'NotFound', 404])
    const wrongArgs = await ask({ type: 'call', path: 'todos', method: 'get', args: [] }, 'raw-5')
    expect([wrongArgs.ok, wrongArgs.error.name, wrongArgs.error.code]).to.deep.equal([false, 'BadRequest', 400])
    const unknown = await ask({ type: 'bogus' }, 'raw-6')
    expect([unknown.ok, unknown.error.name, unknown.error.code]).to.deep.equal([false, 'BadRequest', 400])
    expect(unknown.error.message).to.include('unknown request type')
  })
})

describe('proxy methods', function () {
  this.timeout(30000)
  const mesh = new Mesh(`${__filename}:proxy`)
  after(() => mesh.close())

  it('an undefined id is refused with BadRequest, as by Feathers clients: it would arrive as null, which means every record', async () => {
    const { MemoryService } = require('@feathersjs/memory')
    const provider = await mesh.app({ key: 'records' }, (app) => app.use('records', new MemoryService({ multi: true })))
    await provider.service('records').create([{ n: 1 }, { n: 2 }, { n: 3 }])
    const gateway = await mesh.app({ key: 'gateway-ids' })
    const records = await gateway.distribution.waitForService('records')
    for (const [method, args, multi] of [['get', [undefined], ''], ['update', [undefined, { n: 0 }], ''], ['patch', [undefined, { n: 0 }], ', only null when patching multiple entries'], ['remove', [undefined], ', only null when removing multiple entries']] as const) {
      const error = await (records as any)[method](...args).then(() => undefined, (e: any) => e)
      expect(error, method).to.be.instanceOf(errors.BadRequest)
      expect(error.message).to.equal(`id for '${method}' can not be undefined${multi}`)
    }
    expect((await provider.service('records').find({ paginate: false })).map((r: any) => r.n)).to.deep.equal([1, 2, 3])
    // null still means every record, as on the provider.
    expect(await records.patch(null, { n: 7 })).to.have.length(3)
  })

  it('a rolling upgrade: a replica that brings a new method and event widens the proxy, which keeps them once the old replica is gone', async () => {
    const v1 = await mesh.app({ key: 'jobs' }, (app) => app.use('jobs', { async find() { return 'v1' } }, { methods: ['find'], distributedMethods: ['find'] }))
    const gateway = await mesh.app({ key: 'gateway-upgrade' })
    const jobs: any = await gateway.distribution.waitForService('jobs')
    expect(jobs.methods).to.deep.equal(['find'])
    // A listener on the proxy: it lives on the object Feathers wraps around each mount, and must outlive the widening.
    const created: unknown[] = []
    jobs.on('created', (data: unknown) => created.push(data))
    const mounted: string[][] = []
    gateway.on('service', (event: any) => event.localPath === 'jobs' && mounted.push(event.methods))
    const v2 = await mesh.app({ key: 'jobs' }, (app) =>
      app.use('jobs', { async find() { return 'v2' }, async complete(data: any) { return { completed: data.id } } }, { methods: ['find', 'complete'], events: ['status'], distributedMethods: ['find', 'complete'], distributedEvents: ['created', 'status'] })
    )
    await waitFor(() => (gateway.service('jobs') as any).methods.includes('complete'), 5000, 'the proxy to take complete')
    expect(mounted).to.deep.equal([['find', 'complete']])
    const widened: any = gateway.service('jobs')
    // The new method goes to the replica that has it, over REST too (Feathers' custom method header).
    expect(await widened.complete({ id: 7 })).to.deep.equal({ completed: 7 })
    const response = await http(`${gateway.url}/jobs`, { method: 'POST', headers: { 'x-service-method': 'complete' }, body: { id: 8 } })
    expect([response.status, response.body]).to.deep.equal([200, { completed: 8 }])
    const statuses: unknown[] = []
    widened.on('status', (data: unknown) => statuses.push(data))
    v2.service('jobs').emit('status', { busy: true })
    await waitFor(() => statuses.length === 1, 5000, 'the new event')
    v2.service('jobs').emit('created', { id: 1 })
    await waitFor(() => created.length === 1, 5000, 'the listener set before the widening')
    await finalize(v1)
    expect((gateway.service('jobs') as any).methods).to.deep.equal(['find', 'complete'])
    expect(await gateway.service('jobs').find({})).to.equal('v2')
  })

  it('hooks registered on the proxy itself come along when it is widened, once; those a service listener registers are left to it', async () => {
    await mesh.app({ key: 'reports' }, (app) => app.use('reports', { async find() { return 'v1' } }, { methods: ['find'], distributedMethods: ['find'] }))
    const gateway = await mesh.app({ key: 'gateway-hooks' })
    const runs = { listener: 0, direct: 0 }
    // The README's way: registered on every mount by the listener, while the event is emitted.
    gateway.on('service', (event: any) => {
      if (event.localPath === 'reports') gateway.service('reports').hooks({ before: { all: [() => void runs.listener++] } })
    })
    const reports: any = await gateway.distribution.waitForService('reports')
    // A gateway's check, registered on the proxy once it is there.
    reports.hooks({
      before: {
        all: [
          (context: any) => {
            runs.direct++
            if (context.params.query?.token !== 'letmein') throw new errors.NotAuthenticated('no token')
          }
        ]
      }
    })
    await mesh.app({ key: 'reports' }, (app) =>
      app.use('reports', { async find() { return 'v2' }, async summarize() { return 'summary' } }, { methods: ['find', 'summarize'], distributedMethods: ['find', 'summarize'] })
    )
    await waitFor(() => (gateway.service('reports') as any).methods.includes('summarize'), 5000, 'the proxy to take summarize')
    const widened: any = gateway.service('reports')
    expect(widened).to.not.equal(reports)
    for (const call of [() => widened.find({ query: {} }), () => widened.summarize({}, { query: {} })]) {
      const error = await call().then(() => undefined, (e: any) => e)
      expect(error).to.be.instanceOf(errors.NotAuthenticated)
    }
    const response = await http(`${gateway.url}/reports`)
    expect(response.status, 'over REST').to.equal(401)
    Object.assign(runs, { listener: 0, direct: 0 })
    expect(await widened.summarize({}, { query: { token: 'letmein' } })).to.equal('summary')
    expect(runs, 'each hook once per call').to.deep.equal({ listener: 1, direct: 1 })
  })

  it("widened twice, a proxy's events reach a socket.io client, each listener and a once listener exactly once", async () => {
    const versions = [['find'], ['find', 'complete'], ['find', 'complete', 'archive']]
    const provide = (methods: string[]) => (app: any) => app.use('tasks', Object.fromEntries(methods.map((m) => [m, async () => m])), { methods, distributedMethods: methods })
    await mesh.app({ key: 'tasks' }, provide(versions[0]))
    const heard = { on: [] as number[], once: [] as number[], fromServiceListener: [] as number[] }
    const gateway = await mesh.app({ key: 'gateway-channels' }, (app) => {
      app.on('connection', (connection: any) => app.channel('everyone').join(connection))
      app.publish(() => app.channel('everyone'))
      // Added on each mount by the listener itself: never handed on, or it would hear each event twice.
      app.on('service', (event: any) => event.localPath === 'tasks' && app.service('tasks').on('created', (data: any) => heard.fromServiceListener.push(data.n)))
    })
    const tasks: any = await gateway.distribution.waitForService('tasks')
    tasks.on('created', (data: any) => heard.on.push(data.n))
    tasks.once('created', (data: any) => heard.once.push(data.n))
    const client = await socketClient(gateway.url)
    try {
      const received: number[] = []
      client.service('tasks').on('created', (data: any) => received.push(data.n))
      let last: any
      for (const methods of versions.slice(1)) {
        last = await mesh.app({ key: 'tasks' }, provide(methods))
        await waitFor(() => (gateway.service('tasks') as any).methods.length === methods.length, 5000, `the proxy widened to ${methods}`)
      }
      for (const n of [1, 2]) last.service('tasks').emit('created', { n })
      // Copies of an event leave the gateway together, and the client reads them in order: all of 1's are in once 2 is.
      await waitFor(() => received.includes(2), 5000, 'the last event at the client')
      expect(received, 'socket.io client').to.deep.equal([1, 2])
      expect(heard).to.deep.equal({ on: [1, 2], once: [1], fromServiceListener: [1, 2] })
    } finally {
      client.io.close()
    }
  })

  it("methods a provider keeps from its own clients (its Feathers methods) are not offered to the gateway's clients, and stay callable from the gateway's code", async () => {
    const { MemoryService } = require('@feathersjs/memory')
    const provider = await mesh.app({ key: 'ledger' }, (app) => app.use('entries', new MemoryService(), { methods: ['find', 'get'] }))
    expect((await http(`${provider.url}/entries`, { method: 'POST', body: { amount: 1 } })).status, "the provider's own REST").to.equal(405)
    const gateway = await mesh.app({ key: 'gateway-internal' })
    const entries: any = await gateway.distribution.waitForService('entries')
    // The gateway's code may write through the proxy, as the provider's own code may.
    expect(await entries.create({ amount: 2 })).to.include({ amount: 2 })
    const post = await http(`${gateway.url}/entries`, { method: 'POST', body: { amount: 3 } })
    expect(post.status, "the gateway's REST").to.equal(405)
    const client = await socketClient(gateway.url)
    try {
      const error = await client.service('entries').remove(0).then(() => undefined, (e: any) => e)
      expect(error?.name, "the gateway's socket.io").to.equal('MethodNotAllowed')
      expect((await client.service('entries').find({})).map((e: any) => e.amount)).to.deep.equal([2])
    } finally {
      client.io.close()
    }
    expect((await provider.service('entries').find({})).map((e: any) => e.amount)).to.deep.equal([2])
  })

  it('a method is offered to the gateway\'s clients only while no replica keeps it internal, through rolling upgrades both ways', async () => {
    const { MemoryService } = require('@feathersjs/memory')
    const version = (methods?: string[]) => mesh.app({ key: 'journal' }, (app) => app.use('journal', new MemoryService(), methods ? { methods } : {}))
    const v1 = await version()
    const gateway = await mesh.app({ key: 'gateway-journal' })
    const journal: any = await gateway.distribution.waitForService('journal')
    const post = async () => (await http(`${gateway.url}/journal`, { method: 'POST', body: { n: 1 } })).status
    expect(await post(), 'v1 offers create').to.equal(201)
    // v2 keeps create from its clients: from then on, so does the gateway, though v1 still offers it.
    const v2 = await version(['find', 'get'])
    await waitFor(() => journal.replicas.size === 2, 5000, 'both versions')
    await waitFor(async () => (await post()) === 405, 5000, 'create kept from clients')
    await finalize(v1)
    expect(await post(), 'v2 alone').to.equal(405)
    expect(await (gateway.service('journal') as any).create({ n: 2 }), "the gateway's own code").to.include({ n: 2 })
    // Back: a version that offers it again, and the one that kept it gone.
    await version()
    await waitFor(() => (gateway.service('journal') as any).replicas.size === 2, 5000, 'v3 beside v2')
    await finalize(v2)
    await waitFor(async () => (await post()) === 201, 5000, 'create offered again once no replica keeps it')
  })

  it('custom methods named send or call work; one named as a member of every proxy (key) is left out, with a warning', async () => {
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (...args: unknown[]) => void warnings.push(args.join(' '))
    try {
      const methods = ['find', 'send', 'call', 'key']
      const service = { async find() { return 'found' }, async send(data: any) { return { sent: data } }, async call(data: any) { return { called: data } }, async key() { return 'key method' } }
      await mesh.app({ key: 'mailer' }, (app) => app.use('mail', service, { methods, distributedMethods: methods }))
      const gateway = await mesh.app({ key: 'gateway-names' })
      let mounts = 0
      gateway.on('service', (event: any) => event.localPath === 'mail' && mounts++)
      const mail: any = await gateway.distribution.waitForService('mail')
      // A second replica with the same list: the name left out is not "new", so the proxy is not mounted again.
      await mesh.app({ key: 'mailer' }, (app) => app.use('mail', service, { methods, distributedMethods: methods }))
      await waitFor(() => mail.replicas.size === 2, 5000, 'the second replica')
      expect(mail.methods).to.deep.equal(['find', 'send', 'call'])
      expect(mail.key).to.equal('mailer')
      expect(await gateway.service('mail').find({})).to.equal('found')
      expect(await (gateway.service('mail') as any).send({ to: 'a' })).to.deep.equal({ sent: { to: 'a' } })
      expect(await (gateway.service('mail') as any).call({ n: 1 })).to.deep.equal({ called: { n: 1 } })
      expect(gateway.service('mail')).to.equal(mail)
      expect(mounts).to.equal(1) // mounted once, never again
      // Once per app that mounts the proxy (the apps of the test before this one too).
      expect([...new Set(warnings)]).to.deep.equal(['feathers-mesh: the proxy of mail (key mailer) leaves out its custom method key: the name is a member of every proxy'])
    } finally {
      console.warn = warn
    }
  })
})
