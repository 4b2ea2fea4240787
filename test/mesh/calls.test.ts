import { expect } from 'chai'
import net from 'net'
import { TRANSPORTS, Mesh, waitFor } from '../helpers/mesh'
import { http, socketClient } from '../helpers/clients'

for (const transport of TRANSPORTS) describe(`calls through a proxy (${transport})`, function () {
  const mesh = new Mesh(__filename)
  let gateway: any
  let provider: Awaited<ReturnType<Mesh['child']>>
  const clients: any[] = []

  before(async () => {
    provider = await mesh.child('provider', { key: 'todos-app', services: ['todos', 'echo', 'accounts'], options: { remoteParams: ['query', 'provider', 'route', 'user', 'authentication', 'headers'] } })
    gateway = await mesh.app({ key: 'gateway', forwardHeaders: ['x-request-id'] }, undefined, transport)
    await Promise.all(['todos', 'echo', 'accounts'].map((path) => gateway.distribution.waitForService(path)))
  })
  after(async () => {
    clients.forEach((client) => client.io.close())
    await mesh.close()
  })

  it('runs all six methods and a custom method', async () => {
    const todos = gateway.service('todos')
    const created = await todos.create({ title: 'one' })
    expect(created).to.include({ title: 'one' })
    expect(await todos.get(created.id)).to.include({ title: 'one', replica: 'provider' })
    expect(await todos.find({ query: { title: 'one' } })).to.have.length(1)
    expect(await todos.update(created.id, { title: 'two' })).to.deep.equal({ title: 'two', id: created.id })
    expect(await todos.patch(created.id, { extra: true })).to.deep.equal({ title: 'two', id: created.id, extra: true })
    expect(await todos.complete({ id: created.id })).to.include({ done: true })
    expect(await todos.remove(created.id)).to.include({ id: created.id })
    expect(await todos.find({ query: { title: 'two' } })).to.deep.equal([])
  })

  it('large calls and results in flight together each arrive whole (frame buffers are reused)', async () => {
    // Distinct contents and sizes, some not ASCII: a buffer lent to two frames at once would mix them.
    const payloads = Array.from({ length: 6 }, (_, i) => ({ i, text: String.fromCharCode(0x61 + i).repeat(300_000 + i * 50_000) + (i % 2 ? 'é✓' : ''), items: Array.from({ length: 2000 }, (_, n) => ({ n, i })) }))
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(payloads.map((data) => gateway.service('echo').create(data)))
      results.forEach((result: any, i: number) => expect(result.data).to.deep.equal(payloads[i]))
    }
  })

  it('writes a lone call at once; with calls in flight, those made in one turn of the event loop leave in one write', async () => {
    const todos = gateway.service('todos')
    const { responder } = await provider.send({ cmd: 'ports' })
    const socket = (process as any)._getActiveHandles().find((handle: any) => handle instanceof net.Socket && handle.remotePort === responder)
    expect(socket, 'the connection to the provider').to.exist
    let flushes = 0
    const { _write, _writev } = socket
    socket._write = function (...args: any[]) {
      flushes++
      return _write.apply(this, args)
    }
    socket._writev = function (...args: any[]) {
      flushes++
      return _writev.apply(this, args)
    }
    try {
      await todos.find({ query: {} })
      expect(flushes).to.equal(1)
      flushes = 0
      // One call in flight, then ten made in ten callbacks of one turn (as a gateway makes them for
      // the HTTP requests of one poll): without gathering, each would be a write of its own.
      const first = todos.find({ query: {} })
      const ten: Promise<unknown>[] = await new Promise((resolve) => {
        const calls: Promise<unknown>[] = []
        for (let i = 0; i < 10; i++) setImmediate(() => calls.push(todos.find({ query: {} })) === 10 && resolve(calls))
      })
      await Promise.all([first, ...ten])
      expect(flushes).to.be.at.most(3)
    } finally {
      socket._write = _write
      socket._writev = _writev
    }
  })

  it("turns Nagle's algorithm off on every mesh connection, the ones it opens and the ones it accepts", async () => {
    const { responder, publisher } = await provider.send({ cmd: 'ports' })
    const own = gateway.distribution.ports
    const sockets = (process as any)._getActiveHandles().filter((handle: any) => handle instanceof net.Socket)
    const opened = sockets.filter((socket: net.Socket) => [responder, publisher].includes(socket.remotePort))
    const accepted = sockets.filter((socket: net.Socket) => [own.responder, own.publisher].includes(socket.localPort))
    expect(opened, 'links to the provider').to.have.length(2)
    expect(accepted, "the provider's links to this app").to.have.length(2)
    // Node keeps what setNoDelay set under this symbol (the only way to read it back).
    const noDelay = (socket: any) => socket[Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'kSetNoDelay')!]
    expect([...opened, ...accepted].map(noDelay)).to.deep.equal([true, true, true, true])
  })

  it('exposes proxy properties: remote, key, remoteOptions and the custom methods', () => {
    const todos = gateway.service('todos')
    expect(todos.remote).to.equal(true)
    expect(todos.key).to.equal('todos-app')
    expect(todos.remoteOptions).to.deep.equal({})
    expect(todos.methods).to.include('complete')
    expect(typeof todos.complete).to.equal('function')
  })

  it('serves REST clients of the consumer, custom methods included', async () => {
    const created = await http(`${gateway.url}/todos`, { method: 'POST', body: { title: 'rest' } })
    expect(created.status).to.equal(201)
    const got = await http(`${gateway.url}/todos/${created.body.id}`)
    expect(got.body).to.include({ title: 'rest', replica: 'provider' })
    const completed = await http(`${gateway.url}/todos`, { method: 'POST', body: { id: created.body.id }, headers: { 'x-service-method': 'complete' } })
    expect(completed.body).to.include({ done: true })
  })

  it('serves socket.io clients of the consumer, custom methods included', async () => {
    const client = await socketClient(gateway.url)
    clients.push(client)
    client.use('todos', client.rest.service('todos'), { methods: ['find', 'get', 'create', 'patch', 'complete'] })
    const todos = client.service('todos')
    const created = await todos.create({ title: 'socket' })
    expect(await todos.get(created.id)).to.include({ title: 'socket' })
    expect(await todos.complete({ id: created.id })).to.include({ done: true })
  })

  it('sends a whitelist of params, sets fromRemote on the provider and never sends connection or raw headers', async () => {
    const params = { query: { a: '1' }, provider: 'rest', route: { id: '7' }, user: { id: 1 }, authentication: { strategy: 'jwt', accessToken: 'x' }, connection: { secret: true }, headers: { authorization: 'Bearer secret', 'x-request-id': 'abc' }, fromRemote: false, other: 1 }
    const echoed = await gateway.service('echo').create({ n: 1 }, params)
    expect(echoed.fromRemote).to.equal(true)
    expect(echoed.query).to.deep.equal({ a: '1' })
    expect(echoed.provider).to.equal('rest')
    expect(echoed.user).to.deep.equal({ id: 1 })
    const withHash = await gateway.service('echo').create({}, { user: { id: 2, password: '$2a$hash' } })
    expect(withHash.user).to.deep.equal({ id: 2 })
    expect(echoed.authentication).to.deep.equal({ strategy: 'jwt', accessToken: 'x' })
    expect(echoed.hasConnection).to.equal(false)
    expect(echoed.headers).to.deep.equal({ 'x-request-id': 'abc' })
  })

  it('remoteParams: a provider accepts only the params it lists, whatever a consumer sends', async () => {
    const strict = await mesh.child('strict', { key: 'strict-app', services: ['echo:strict-echo'], options: { remoteParams: ['query'] } })
    const echo = await gateway.distribution.waitForService('strict-echo')
    const echoed = await echo.create({}, { query: { a: 1 }, user: { id: 1 }, provider: 'rest', headers: { 'x-request-id': 'abc' } })
    expect(echoed.query).to.deep.equal({ a: 1 })
    expect(echoed.user).to.equal(undefined)
    expect(echoed.provider).to.equal(undefined)
    expect(echoed.headers).to.equal(undefined)
    expect(echoed.fromRemote).to.equal(true)
    await strict.kill()
  })

  it('keeps params.route and params.provider from a REST call on the consumer', async () => {
    await http(`${gateway.url}/todos?title=nothing`)
    const seen = await provider.send({ cmd: 'lastParams', path: 'todos' })
    expect(seen.provider).to.equal('rest')
    expect(seen.query).to.deep.equal({ title: 'nothing' })
    expect(seen.fromRemote).to.equal(true)
    expect(seen.headers).to.equal(undefined)
    expect(seen.hasConnection).to.equal(false)
  })

  it("returns the provider's context.dispatch when its hooks set one", async () => {
    expect(await gateway.service('accounts').get('ann')).to.deep.equal({ id: 'ann', email: 'ann@example.com' })
  })

  it('keeps Date and Buffer values in data, query and results', async () => {
    const when = new Date('2026-01-02T03:04:05.678Z')
    const blob = Buffer.from([0, 1, 2, 255])
    const echoed = await gateway.service('echo').create({ when, blob }, { query: { since: when } })
    expect(echoed.isDate).to.equal(true)
    expect(echoed.isBuffer).to.equal(true)
    expect(echoed.queryDate).to.equal(true)
    expect(echoed.data.when).to.be.instanceOf(Date)
    expect(echoed.data.when.getTime()).to.equal(when.getTime())
    expect(Buffer.isBuffer(echoed.data.blob)).to.equal(true)
    expect(echoed.data.blob.equals(blob)).to.equal(true)
    expect(echoed.query.since).to.be.instanceOf(Date)
  })

  it('leaves records with fields named path, key, context, type, id or $t unchanged', async () => {
    const record = { path: 'p', key: 'k', context: { c: 1 }, type: 't', id: 'i', $t: 'd', nested: [{ path: 'x', v: 1 }] }
    const echoed = await gateway.service('echo').create(record)
    expect(echoed.data).to.deep.equal(record)
  })

  it('spreads calls over replicas and finds new ones', async () => {
    const second = await mesh.child('second', { key: 'todos-app', services: ['todos'] })
    const todos = gateway.service('todos')
    await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'seed' }] })
    await second.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'seed' }] })
    const seen = new Set<string>()
    await waitFor(async () => {
      const [item] = await todos.find({ query: { title: 'seed' } })
      seen.add(item.replica)
      return seen.size === 2
    }, 5000, 'both replicas to answer')
    expect([...seen].sort()).to.deep.equal(['provider', 'second'])
    await second.kill()
  })
})
