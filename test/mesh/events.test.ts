import { expect } from 'chai'
import { MemoryService } from '@feathersjs/memory'
import { Mesh, waitFor } from '../helpers/mesh'
import { socketClient } from '../helpers/clients'
import { quiet, recorder } from '../helpers/events'

describe('events across the mesh', function () {
  const mesh = new Mesh(__filename)
  let gateway: any
  let provider: Awaited<ReturnType<Mesh['child']>>
  const clients: any[] = []

  before(async () => {
    provider = await mesh.child('provider', { key: 'events-app', services: ['todos', 'createdonly:created-only', 'accounts'] })
    gateway = await mesh.app({ key: 'gateway' }, (app) => {
      app.on('connection', (connection: any) => app.channel('everyone').join(connection))
      app.publish(() => app.channel('everyone'))
    })
    await gateway.distribution.waitForService('todos')
    await gateway.distribution.waitForService('created-only')
  })
  after(async () => {
    clients.forEach((client) => client.io.close())
    await mesh.close()
  })

  it('re-emits a provider-side created event once, record unchanged, with the consumer context', async () => {
    const events = recorder(gateway.service('todos'), ['created'])
    const record = { title: 'evt', path: 'p', key: 'k', context: 'c', type: 't' }
    await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [record] })
    await events.until(() => events.seen.length > 0, 'the created event')
    await quiet()
    events.stop()
    expect(events.seen).to.have.length(1)
    const [{ data, context }] = events.seen
    expect(data).to.deep.equal({ ...record, id: data.id })
    expect(context.app).to.equal(gateway)
    expect(context.service).to.equal(gateway.service('todos'))
    expect(context.path).to.equal('todos')
    expect(context.method).to.equal('create')
    expect(context.params).to.deep.equal({})
    expect(context).not.to.have.property('headers')
    expect(context).to.include({ id: undefined, event: 'created', result: data, fromRemote: true })
  })

  it('gives a patched event the id of the call, and the proxy\'s local path under remoteServicePath', async () => {
    const mapped = await mesh.app({ key: 'mapped', remoteServicePath: (descriptor: any) => `remote/${descriptor.path}` })
    const todos = await mapped.distribution.waitForService('remote/todos')
    const { id } = await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'to patch' }] })
    const events = recorder(todos, ['patched'])
    await provider.send({ cmd: 'call', path: 'todos', method: 'patch', args: [id, { done: true }] })
    await events.until(() => events.seen.length > 0, 'the patched event')
    events.stop()
    const [{ data, context }] = events.seen
    expect(data).to.include({ id, done: true })
    expect(context).to.include({ path: 'remote/todos', method: 'patch', id, event: 'patched', result: data, fromRemote: true })
    expect(context.service).to.equal(mapped.service('remote/todos'))
  })

  it('emits once when the consumer itself calls the proxy', async () => {
    const events = recorder(gateway.service('todos'), ['created', 'patched', 'removed'])
    const created = await gateway.service('todos').create({ title: 'mine' })
    await gateway.service('todos').patch(created.id, { done: true })
    await gateway.service('todos').remove(created.id)
    await events.until(() => events.seen.length >= 3, 'three events')
    await quiet()
    events.stop()
    expect(events.seen.map((e) => e.event)).to.deep.equal(['created', 'patched', 'removed'])
  })

  it('forwards a custom event the provider distributes, string payload intact', async () => {
    const events = recorder(gateway.service('todos'), ['status'])
    await provider.send({ cmd: 'emit', path: 'todos', event: 'status', data: 'busy' })
    await events.until(() => events.seen.length > 0, 'the custom event')
    await quiet()
    events.stop()
    expect(events.seen.map((e) => e.data)).to.deep.equal(['busy'])
  })

  it('delivers events to socket.io clients of the consumer exactly once', async () => {
    const client = await socketClient(gateway.url)
    clients.push(client)
    const events = recorder(client.service('todos'), ['created'])
    await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'to-socket', when: new Date(0) }] })
    await events.until(() => events.seen.length > 0, 'the socket event')
    await quiet()
    events.stop()
    expect(events.seen).to.have.length(1)
    expect(events.seen[0].data).to.include({ title: 'to-socket' })
  })

  it("forwards by default every event a service declares, its own as well as the standard four, as feathers-distributed does", async () => {
    const other = await mesh.app({ key: 'declared-app' }, (app) => app.use('declared', new MemoryService(), { events: ['status'] }))
    const declared = await gateway.distribution.waitForService('declared')
    expect(declared.events).to.have.members(['created', 'updated', 'patched', 'removed', 'status'])
    const events = recorder(declared, ['created', 'status'])
    await other.service('declared').create({ title: 'x' })
    other.service('declared').emit('status', { ok: true })
    await events.until(() => events.seen.length >= 2, 'the created and status events')
    await quiet()
    events.stop()
    expect(events.seen.map((e) => [e.event, e.data])).to.deep.equal([['created', { title: 'x', id: 0 }], ['status', { ok: true }]])
  })

  it("applies a service's distributedEvents on the provider", async () => {
    const events = recorder(gateway.service('created-only'), ['created', 'patched'])
    expect(gateway.service('created-only').events).to.deep.equal(['created'])
    const created = await provider.send({ cmd: 'call', path: 'created-only', method: 'create', args: [{ title: 'x' }] })
    await provider.send({ cmd: 'call', path: 'created-only', method: 'patch', args: [created.id, { done: true }] })
    await events.until(() => events.seen.length > 0, 'the created event')
    await quiet()
    events.stop()
    expect(events.seen.map((e) => e.event)).to.deep.equal(['created'])
  })

  it("reads distributedEvents and distributedMethods from the service's options property too (as feathers-distributed); app.use options win", async () => {
    let refused: any
    const other = await mesh.app({ key: 'own-options-app' }, (app) => {
      app.use('own', new MemoryService({ distributedEvents: ['created'], distributedMethods: ['find', 'create'] } as any))
      app.use('both', new MemoryService({ distributedEvents: ['created'] } as any), { distributedEvents: ['patched'] } as any)
      try {
        app.use('bad', new MemoryService({ distributedEvents: 'created' } as any))
      } catch (error) {
        refused = error
      }
    })
    expect(refused?.message).to.equal(`feathers-mesh: service option distributedEvents (in the service's options property) must be an array of strings, got "created"`)
    const [own, both] = await Promise.all([gateway.distribution.waitForService('own'), gateway.distribution.waitForService('both')])
    expect(own.events).to.deep.equal(['created'])
    expect(own.methods).to.have.members(['find', 'create'])
    expect(both.events).to.deep.equal(['patched'])
    const events = recorder(own, ['created', 'patched'])
    // Events are not stored: one seen first means the gateway listens when the patch goes.
    await waitFor(async () => {
      await other.service('own').create({ title: 'first' })
      return events.seen.length > 0
    }, 5000, 'a first created event', 200)
    const created = await other.service('own').create({ title: 'x' })
    await other.service('own').patch(created.id, { done: true })
    await events.until(() => events.seen.some((e) => e.data.title === 'x'), 'the created event')
    await quiet()
    events.stop()
    expect([...new Set(events.seen.map((e) => e.event))]).to.deep.equal(['created'])
  })

  it('applies the app-level distributedEvents of the provider', async () => {
    const other = await mesh.child('other', { key: 'other-app', services: ['plaintodos:plain'], options: { distributedEvents: ['removed'] } })
    const plain = await gateway.distribution.waitForService('plain')
    expect(plain.events).to.deep.equal(['removed'])
    const events = recorder(plain, ['created', 'removed'])
    // Again until one arrives: the gateway's subscription to a new app may come up after its proxy, and events are not stored.
    await waitFor(async () => {
      const created = await other.send({ cmd: 'call', path: 'plain', method: 'create', args: [{ title: 'x' }] })
      await other.send({ cmd: 'call', path: 'plain', method: 'remove', args: [created.id] })
      await quiet(100)
      return events.seen.length > 0
    }, 5000, 'the removed event')
    await quiet()
    events.stop()
    expect(events.seen.map((e) => e.event)).to.include('removed').and.not.to.include('created')
    await other.kill()
  })

  it('filters on the consumer with remoteEvents', async () => {
    const picky = await mesh.app({ key: 'picky', remoteEvents: ['patched'] })
    const todos = await picky.distribution.waitForService('todos')
    const events = recorder(todos, ['created', 'patched'])
    const created = await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'x' }] })
    await provider.send({ cmd: 'call', path: 'todos', method: 'patch', args: [created.id, { done: true }] })
    await events.until(() => events.seen.length > 0, 'the patched event')
    await quiet()
    events.stop()
    expect(events.seen.map((e) => e.event)).to.deep.equal(['patched'])
  })

  it('forwards nothing with publishEvents: false', async () => {
    const silent = await mesh.child('silent', { key: 'silent-app', services: ['plaintodos:silent'], options: { publishEvents: false } })
    const service = await gateway.distribution.waitForService('silent')
    expect(service.events).to.deep.equal([])
    const events = recorder(service, ['created'])
    await silent.send({ cmd: 'call', path: 'silent', method: 'create', args: [{ title: 'x' }] })
    await quiet()
    events.stop()
    expect(events.seen).to.have.length(0)
    await silent.kill()
  })

  it("forwards the provider's context.dispatch, never the raw record, single and multi", async () => {
    const accounts = await gateway.distribution.waitForService('accounts')
    const events = recorder(accounts, ['created'])
    await provider.send({ cmd: 'call', path: 'accounts', method: 'create', args: [{ email: 'one@x' }] })
    await provider.send({ cmd: 'call', path: 'accounts', method: 'create', args: [[{ email: 'two@x' }, { email: 'three@x' }]] })
    await events.until(() => events.seen.length === 3, 'three created events')
    await quiet()
    events.stop()
    expect(events.seen.map((e) => e.data)).to.deep.equal([{ email: 'one@x' }, { email: 'two@x' }, { email: 'three@x' }])
  })

  it('does not fail the call that emitted an event that cannot be sent', async () => {
    const created = await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'ok' }] })
    expect(created.title).to.equal('ok')
  })
})

describe('event bursts', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())

  const SECRET = 'a burst secret of more than sixteen characters'
  const cases: Array<[string, Record<string, unknown>]> = [
    ['without a secret', {}],
    ['with a secret', { secret: SECRET }],
    ['with a small maxPayload (many batches)', { maxPayload: 20_000 }]
  ]
  for (const [name, options] of cases) {
    it(`2000 events emitted in one tick arrive once each, in order, values intact, ${name}`, async () => {
      const provider = await mesh.child('provider', { key: 'burst-app', services: ['todos'], options })
      const gateway = await mesh.app({ key: 'gateway', ...options })
      await gateway.distribution.waitForService('todos')
      const events = recorder(gateway.service('todos'), ['status'])
      await provider.send({ cmd: 'emitBurst', path: 'todos', event: 'status', count: 2000 })
      await events.until(() => events.seen.length >= 2000, '2000 events')
      await quiet()
      events.stop()
      expect(events.seen).to.have.length(2000)
      expect(events.seen.map((e) => e.data.i)).to.deep.equal(Array.from({ length: 2000 }, (_, i) => i))
      expect(events.seen.every((e) => e.data.at instanceof Date && e.data.at.getTime() === 1_700_000_000_000 + e.data.i)).to.equal(true)
      expect(await provider.send({ cmd: 'drops' })).to.deep.equal({})
    })
  }
})
