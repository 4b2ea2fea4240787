import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'
import { http } from '../helpers/clients'
import { quiet } from '../helpers/events'
import { holdPorts } from '../helpers/ports'
import { finalize } from '../../src'


describe('options', function () {
  const mesh = new Mesh(__filename)
  let provider: Awaited<ReturnType<Mesh['child']>>

  before(async () => {
    provider = await mesh.child('provider', { key: 'options-app', services: ['todos', 'echo', 'errors', 'todos:internal'], privatePaths: ['internal'], sharedOptions: { todos: ['replica', 'missing'] } })
  })
  after(() => mesh.close())

  it('services: a predicate keeps a local service private', async () => {
    const gateway = await mesh.app({ key: 'g1' })
    await gateway.distribution.waitForService('errors')
    await quiet()
    expect(gateway.services.internal).to.equal(undefined)
  })

  it('services: a list of paths', async () => {
    const app = await mesh.app({ key: 'g2', services: ['/shared-one/'] }, (app) => {
      app.use('shared-one', { async find() { return 1 } })
      app.use('private-one', { async find() { return 2 } })
    })
    const observer = await mesh.app({ key: 'observer-2' })
    await observer.distribution.waitForService('shared-one')
    expect(observer.distribution.peers().find((p: any) => p.uuid === app.distribution.uuid).services).to.deep.equal(['shared-one'])
  })

  it('remoteServices: a list of paths', async () => {
    const gateway = await mesh.app({ key: 'g3', remoteServices: ['echo'] })
    await gateway.distribution.waitForService('echo')
    await quiet()
    expect(gateway.services.todos).to.equal(undefined)
    expect(gateway.services.errors).to.equal(undefined)
  })

  it('remoteServices: a predicate on the descriptor', async () => {
    const gateway = await mesh.app({ key: 'g4', remoteServices: (descriptor) => descriptor.key === 'options-app' && descriptor.path !== 'echo' })
    await gateway.distribution.waitForService('todos')
    await quiet()
    expect(gateway.services.echo).to.equal(undefined)
  })

  it('remoteServicePath: mounts a remote service elsewhere, and removal uses the mapping once', async () => {
    const gateway = await mesh.app({ key: 'g5', remoteServicePath: (descriptor) => `remote/${descriptor.path}` })
    const todos = await gateway.distribution.waitForService('remote/todos')
    expect(todos.path).to.equal('todos')
    expect(await todos.find({ query: { title: 'none' } })).to.deep.equal([])
    await provider.send({ cmd: 'unuse', path: 'echo' })
    await waitFor(() => !gateway.services['remote/echo'], 5000, 'remote/echo to go')
    await provider.send({ cmd: 'use', name: 'echo' })
    await gateway.distribution.waitForService('remote/echo')
  })

  it("remoteServicePath: the service and service-removed events carry the proxy's path as path (app.service(event.path) works, as in feathers-distributed) and the provider's as remotePath", async () => {
    const events: Array<[string, string, string, string]> = []
    const hooked: string[] = []
    const gateway = await mesh.app({ key: 'g-event-path', remoteServices: ['todos'], remoteServicePath: (d) => `remote/${d.path}` }, (app) => {
      app.on('service', (event: any) => {
        events.push(['service', event.path, event.remotePath, event.localPath])
        // The usual pattern: hooks on the service that just appeared.
        app.service(event.path).hooks({ before: { all: [async () => void hooked.push(event.path)] } })
      })
      app.on('service-removed', (event: any) => events.push(['service-removed', event.path, event.remotePath, event.localPath]))
    })
    const todos: any = await gateway.distribution.waitForService('remote/todos')
    await todos.find({ query: {} })
    expect(hooked).to.deep.equal(['remote/todos'])
    await gateway.unuse('remote/todos')
    await waitFor(() => events.length === 2, 5000, 'service-removed')
    expect(events).to.deep.equal([
      ['service', 'remote/todos', 'todos', 'remote/todos'],
      ['service-removed', 'remote/todos', 'todos', 'remote/todos']
    ])
  })

  it('remoteServicePath: of two services of one app placed at one path, the one kept out neither removes the replica of the other nor sends it its events', async () => {
    const provider = await mesh.app({ key: 'versions' }, (app) => {
      app.use('v1/users', { async find() { return 'v1' } })
      app.use('v2/users', { async find() { return 'v2' } })
    })
    const warn = console.warn
    console.warn = () => undefined
    try {
      const gateway = await mesh.app({ key: 'g-versions', remoteServices: (d: any) => d.key === 'versions', remoteServicePath: (d: any) => d.path.replace(/^v\d\//, '') })
      const users: any = await gateway.distribution.waitForService('users')
      expect(await users.find({})).to.equal('v1')
      const seen: unknown[] = []
      users.on('created', (data: unknown) => seen.push(data))
      provider.service('v2/users').emit('created', { from: 'v2' })
      provider.service('v1/users').emit('created', { from: 'v1' })
      await waitFor(() => seen.length >= 1, 5000, 'the v1 event')
      await provider.unuse('v2/users')
      await waitFor(() => gateway.distribution.peers().find((p: any) => p.key === 'versions')?.services.length === 1, 5000, 'the new list')
      expect(users.replicas.size).to.equal(1)
      expect(await gateway.service('users').find({})).to.equal('v1')
      expect(seen).to.deep.equal([{ from: 'v1' }])
    } finally {
      console.warn = warn
    }
  })

  it("remoteServicePath: a proxy at the root ('/') is found, serves, and goes with its last replica", async () => {
    const provider = await mesh.app({ key: 'rooted' }, (app) => app.use('home', { async find() { return 'home' } }))
    const gateway = await mesh.app({ key: 'g-root', remoteServices: (d: any) => d.key === 'rooted', remoteServicePath: () => '/', replicaTimeout: 0 })
    const removed: string[] = []
    gateway.on('service-removed', (event: any) => removed.push(event.localPath))
    const home: any = await gateway.distribution.waitForService('/', { timeout: 5000 })
    expect(await home.find({})).to.equal('home')
    expect((await http(`${gateway.url}/`)).body).to.equal('home')
    await finalize(provider)
    await waitFor(() => removed.length === 1, 5000, 'the root proxy to go')
    expect(removed).to.deep.equal(['/'])
    expect(gateway.services['/']).to.equal(undefined)
  })

  it('remoteServiceOptions: shares chosen service options as remoteOptions', async () => {
    const gateway = await mesh.app({ key: 'g6' })
    const todos = await gateway.distribution.waitForService('todos')
    expect(todos.remoteOptions).to.deep.equal({ replica: 'provider' })
  })

  it('remoteServiceOptions: also reads app.use options, and skips a value that cannot be sent', async () => {
    await mesh.app({ key: 'shares', remoteServiceOptions: () => ['paginate', 'label', 'formatter', 'absent'] }, (app) => {
      const service = { options: { paginate: { default: 5, max: 50 } }, async find() { return [] } }
      // (Express takes an options object only when it names methods, events or a transport's settings.)
      app.use('labelled', service, { methods: ['find'], label: 'from app.use', formatter: (value: unknown) => String(value) } as any)
    })
    const gateway = await mesh.app({ key: 'g12' })
    const labelled = await gateway.distribution.waitForService('labelled')
    expect(labelled.remoteOptions).to.deep.equal({ paginate: { default: 5, max: 50 }, label: 'from app.use' })
  })

  it('forwardHeaders: names are lower-cased, so any spelling forwards the header', async () => {
    await mesh.app({ key: 'header-echo', remoteParams: ['query', 'headers'] }, (app) => app.use('header-echo', { async find(params: any) { return { headers: params.headers ?? null } } }))
    const gateway = await mesh.app({ key: 'g13', forwardHeaders: ['X-Request-ID'] })
    await gateway.distribution.waitForService('header-echo')
    const response = await http(`${gateway.url}/header-echo`, { headers: { 'X-Request-Id': 'r-42', 'X-Other': 'kept home' } })
    expect(response.status).to.equal(200)
    expect(response.body.headers).to.deep.equal({ 'x-request-id': 'r-42' })
  })

  it('hooks: runs on every proxy', async () => {
    const gateway = await mesh.app({
      key: 'g7',
      hooks: { before: { all: [async (context: any) => { context.params.query = { ...context.params.query, hooked: 'yes' } }] } }
    })
    const echo = await gateway.distribution.waitForService('echo')
    expect((await echo.create({})).query).to.deep.equal({ hooked: 'yes' })
  })

  it('hooks as a map of methods: a proxy gets the hooks of the methods it has, custom methods of other services left out (Feathers refuses them)', async () => {
    await mesh.app({ key: 'find-only' }, (app) => app.use('find-only', { async find() { return { served: true } }, async create() { return {} } }, { methods: ['find', 'create'], distributedMethods: ['find'] }))
    const around = (label: string) => async (context: any, next: () => Promise<void>) => {
      await next()
      context.result = { ...context.result, [label]: true }
    }
    const errors: string[] = []
    const consoleError = console.error
    console.error = (...args: unknown[]) => void errors.push(args.join(' '))
    try {
      // `complete` is a custom method of another service: this proxy does not have it.
      const gateway = await mesh.app({ key: 'g7-methods', hooks: { find: [around('found')], complete: [around('completed')] } })
      const proxy = await gateway.distribution.waitForService('find-only')
      expect(proxy.methods).to.deep.equal(['find'])
      // Registered whole before this fix, the map threw at mount and the proxy served without any hook.
      expect(await gateway.service('find-only').find({})).to.deep.equal({ served: true, found: true })
      expect(errors).to.deep.equal([])
    } finally {
      console.error = consoleError
    }
  })

  it('middlewares: before and after run around the REST route of every proxy', async () => {
    const seen: string[] = []
    const gateway = await mesh.app({
      key: 'g8',
      middlewares: {
        before: [(req: any, _res: any, next: any) => { seen.push(`before ${req.method}`); next() }],
        after: [(_req: any, res: any, next: any) => { seen.push(`after ${res.statusCode}`); res.set('x-after', 'yes'); next() }]
      }
    })
    await gateway.distribution.waitForService('todos')
    const response = await fetch(`${gateway.url}/todos?title=none`)
    expect(response.status).to.equal(200)
    expect(seen).to.deep.equal(['before GET', 'after 200'])
  })

  it('middlewares: nested arrays (Express takes them) run in order, flat', async () => {
    const seen: string[] = []
    const mark = (name: string) => (_req: any, _res: any, next: any) => { seen.push(name); next() }
    const gateway = await mesh.app({ key: 'g8-nested', middlewares: { before: [[mark('a'), [mark('b')]], mark('c')] as any, after: [[mark('after')]] as any } })
    await gateway.distribution.waitForService('todos')
    const response = await fetch(`${gateway.url}/todos?title=none`)
    expect(response.status, await response.text()).to.equal(200)
    expect(seen).to.deep.equal(['a', 'b', 'c', 'after'])
  })

  it('middlewares: an Express error handler in after gets the errors of a proxy', async () => {
    const gateway = await mesh.app({
      key: 'g14',
      middlewares: { after: [(error: any, _req: any, res: any, _next: any) => res.status(418).json({ caught: error.name, code: error.code })] }
    })
    await gateway.distribution.waitForService('todos')
    const response = await http(`${gateway.url}/todos/999999`)
    expect(response.status).to.equal(418)
    expect(response.body).to.deep.equal({ caught: 'NotFound', code: 404 })
  })

  it('middlewares: an async one that rejects gives its error to the error handler on Express, as on Koa (no hang, no crash)', async () => {
    const { NotAuthenticated } = require('@feathersjs/errors')
    const gateway = await mesh.app({
      key: 'g15',
      middlewares: {
        before: [async (req: any, _res: any, next: any) => { if (!req.headers.authorization) throw new NotAuthenticated('no token'); next() }],
        after: [async (error: any, _req: any, res: any, _next: any) => res.status(error.code ?? 500).json({ caught: error.name })]
      }
    })
    await gateway.distribution.waitForService('todos')
    const response = await http(`${gateway.url}/todos`)
    expect([response.status, response.body]).to.deep.equal([401, { caught: 'NotAuthenticated' }])
    expect((await http(`${gateway.url}/todos`, { headers: { authorization: 'Bearer x' } })).status).to.equal(200)
  })

  it('heartbeatInterval: 0 (feathers-distributed\'s "none") runs the default heartbeat, and the app joins the mesh', async () => {
    const gateway = await mesh.app({ key: 'g-no-heartbeat', heartbeatInterval: 0, remoteServices: ['todos'] })
    expect(gateway.distribution.options).to.include({ heartbeatInterval: 5000, heartbeatTimeout: 15000 })
    const todos: any = await gateway.distribution.waitForService('todos')
    expect(await todos.find({ query: { title: 'none' } })).to.deep.equal([])
  })

  it('BASE_PORT and HIGHEST_PORT: the mesh ports come from the range', async () => {
    const ranged = await mesh.child('ranged', { key: 'ranged', services: ['echo:ranged-echo'], env: { BASE_PORT: '39100', HIGHEST_PORT: '39140' } })
    const ports = await ranged.send({ cmd: 'ports' })
    for (const port of [ports.responder, ports.publisher]) expect(port).to.be.within(39100, 39140)
    const gateway = await mesh.app({ key: 'g9' })
    await gateway.distribution.waitForService('ranged-echo')
  })

  it("cote.basePort and cote.highestPort (feathers-distributed's): the mesh ports come from that range, over BASE_PORT", async () => {
    const ranged = await mesh.child('ranged-cote', { key: 'ranged-cote', services: ['echo:ranged-cote-echo'], options: { cote: { basePort: 39200, highestPort: 39240 } } as any, env: { BASE_PORT: '39300', HIGHEST_PORT: '39340' } })
    const ports = await ranged.send({ cmd: 'ports' })
    for (const port of [ports.responder, ports.publisher]) expect(port).to.be.within(39200, 39240)
    const gateway = await mesh.app({ key: 'g9-cote' })
    await gateway.distribution.waitForService('ranged-cote-echo')
  })

  it('BASE_PORT alone: a taken port is skipped, the range going on up to BASE_PORT + 1000', async () => {
    const held = await holdPorts(1)
    try {
      const ranged = await mesh.child('ranged-default', { key: 'ranged-default', env: { BASE_PORT: String(held.port) } })
      const ports = await ranged.send({ cmd: 'ports' })
      for (const port of [ports.responder, ports.publisher]) expect(port).to.be.within(held.port + 1, held.port + 1000)
    } finally {
      await held.close()
    }
  })

  it('a range with no free port: ready rejects, the app says so once on stderr, and its healthcheck answers 503 with the reason', async () => {
    const held = await holdPorts(2)
    const range = { BASE_PORT: String(held.port), HIGHEST_PORT: String(held.port + 1) }
    const saved = { BASE_PORT: process.env.BASE_PORT, HIGHEST_PORT: process.env.HIGHEST_PORT }
    const restore = () => {
      for (const [name, value] of Object.entries(saved)) value === undefined ? delete process.env[name] : (process.env[name] = value)
    }
    const errors: string[] = []
    const consoleError = console.error
    console.error = (...args: unknown[]) => void errors.push(args.join(' '))
    let app: any
    try {
      Object.assign(process.env, range)
      // The app reads the environment when it is configured, before mesh.app's first await.
      const starting = mesh.app({ key: 'no-port' }, (created) => (app = created))
      restore()
      const error = await starting.then(() => undefined, (failed: Error) => failed)
      const reason = `no free port between BASE_PORT ${range.BASE_PORT} and HIGHEST_PORT ${range.HIGHEST_PORT}`
      expect(error?.message).to.equal(`feathers-mesh: ${reason}`)
      expect(errors).to.deep.equal([`feathers-mesh: the mesh did not start: ${reason}`])
      const response = await http(`${app.url}/distribution/healthcheck/no-port`)
      expect(response.status).to.equal(503)
      expect(response.body).to.deep.equal({ key: 'no-port', message: `the mesh did not start: ${reason}` })
    } finally {
      restore()
      console.error = consoleError
      await held.close()
    }
  })

  it('COTE_BROADCAST_ADDRESS: reaches cote as its broadcast option', async () => {
    const child = await mesh.child('env-broadcast', { key: 'env-broadcast', services: ['echo:env-echo'], options: { cote: { broadcast: undefined } } as any, env: { COTE_BROADCAST_ADDRESS: '127.255.255.255' } })
    const gateway = await mesh.app({ key: 'g10' })
    await gateway.distribution.waitForService('env-echo')
    expect(child.uuid).to.be.a('string')
  })

  it("COTE_HELLO_INTERVAL: cote's own variable sets the hello interval when the cote option does not", async () => {
    // A mesh of its own, so that the observer hears this child's hellos only.
    const alone = new Mesh(__filename.replace(/\.js$/, '.hello.js'))
    try {
      const observer = await alone.app({ key: 'hello-observer' })
      const child = await alone.child('env-hello', { key: 'env-hello', options: { cote: { helloInterval: undefined, checkInterval: undefined, nodeTimeout: undefined, masterTimeout: undefined } } as any, env: { COTE_HELLO_INTERVAL: '250' } })
      await waitFor(() => observer.distribution.peers().some((peer: any) => peer.uuid === child.uuid), 5000, 'the observer to know the child')
      const heard = observer.distribution.status().app.discovery.heard
      // Ten hellos within 5 s: every 250 ms, where the default would be one every 5 s.
      await waitFor(() => observer.distribution.status().app.discovery.heard >= heard + 10, 5000, 'ten hellos')
    } finally {
      await alone.close()
    }
  })

  it('the healthcheck answers through the REST app of the consumer', async () => {
    const gateway = await mesh.app({ key: 'g11' })
    await gateway.distribution.waitForService('todos')
    expect((await http(`${gateway.url}/distribution/healthcheck/options-app`)).status).to.equal(200)
  })
})
