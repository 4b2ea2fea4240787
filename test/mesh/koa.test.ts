import { expect } from 'chai'
import type { AddressInfo } from 'net'
import { feathers } from '@feathersjs/feathers'
import { koa, rest, bodyParser, errorHandler } from '@feathersjs/koa'
import socketio from '@feathersjs/socketio'
import { AuthenticationService, JWTStrategy, authenticate } from '@feathersjs/authentication'
import { LocalStrategy, hooks as localHooks } from '@feathersjs/authentication-local'
import { MemoryService } from '@feathersjs/memory'
import { distribution, finalize } from '../../src'
import { Mesh } from '../helpers/mesh'
import { http, socketClient } from '../helpers/clients'
import { recorder } from '../helpers/events'

/** A Koa app with REST and socket.io, the mesh configured after the transports. */
async function koaApp(mesh: Mesh, options: Record<string, unknown>, register?: (app: any) => void) {
  const app: any = koa(feathers())
  app.use(errorHandler())
  app.use(bodyParser())
  app.configure(rest())
  app.configure(socketio())
  register?.(app)
  app.configure(distribution(mesh.options(options)))
  const server = await app.listen(0)
  app.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  await app.distribution.ready
  return app
}

describe('Koa apps', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  const apps: any[] = []
  const clients: any[] = []
  let provider: any
  let gateway: any
  let token: string

  before(async () => {
    // A Koa provider, and a Koa gateway with local + JWT authentication in front of its proxies.
    provider = await koaApp(mesh, { key: 'koa-provider', statusPage: true }, (app) => {
      app.use('todos', new MemoryService({ multi: true }), { methods: ['find', 'get', 'create', 'patch', 'remove'] })
      // What a provider's hooks get of the gateway's authentication.
      app.use('whoami', { async find(params: any) { return { user: params.user, authentication: params.authentication, fromRemote: params.fromRemote, headers: params.headers ?? null } } })
    })
    apps.push(provider)
    gateway = await koaApp(mesh, { key: 'koa-gateway', services: () => false, hooks: { before: { all: [authenticate('jwt')] } }, middlewares: { before: [async (ctx: any, next: any) => { ctx.set('x-mesh-before', 'yes'); await next() }], after: [async (ctx: any, next: any) => { ctx.set('x-mesh-after', String(ctx.body?.title)); await next() }] } }, (app) => {
      app.set('authentication', { secret: 'a-jwt-secret-for-the-koa-test', entity: 'user', service: 'users', authStrategies: ['jwt', 'local'], local: { usernameField: 'email', passwordField: 'password' } })
      const auth = new AuthenticationService(app)
      auth.register('jwt', new JWTStrategy())
      auth.register('local', new LocalStrategy())
      app.use('authentication', auth)
      app.use('users', new MemoryService({}), { methods: ['create'] })
      app.service('users').hooks({ before: { create: [localHooks.hashPassword('password')] } })
      app.on('connection', (connection: any) => app.channel('all').join(connection))
      app.on('login', (_result: unknown, { connection }: any) => connection && app.channel('all').join(connection))
      app.publish(() => app.channel('all'))
    })
    apps.push(gateway)
    await gateway.service('users').create({ email: 'koa@example.com', password: 'secret' })
    const login = await http(`${gateway.url}/authentication`, { method: 'POST', body: { strategy: 'local', email: 'koa@example.com', password: 'secret' } })
    token = login.body.accessToken
    await gateway.distribution.waitForService('todos')
    await gateway.distribution.waitForService('whoami')
  })
  after(async () => {
    clients.forEach((client) => client.io.close())
    for (const app of apps) {
      await finalize(app)
      await app.teardown().catch(() => undefined)
    }
    await mesh.close()
  })

  it('a Koa gateway serves remote services over REST, with hooks, authentication and middlewares', async () => {
    expect((await http(`${gateway.url}/todos`)).status).to.equal(401)
    const auth = { authorization: `Bearer ${token}` }
    const created = await http(`${gateway.url}/todos`, { method: 'POST', body: { title: 'from koa' }, headers: auth })
    expect(created.status).to.equal(201)
    const response = await fetch(`${gateway.url}/todos/${created.body.id}`, { headers: auth })
    expect(response.headers.get('x-mesh-before')).to.equal('yes')
    // `after` runs once the proxy has its result.
    expect(response.headers.get('x-mesh-after')).to.equal('from koa')
    expect(await response.json()).to.include({ title: 'from koa' })
  })

  it("authenticate('jwt') on the gateway: the provider gets the user without its password hash, and the authentication", async () => {
    const anonymous = await http(`${gateway.url}/whoami`)
    expect([anonymous.status, anonymous.body.name]).to.deep.equal([401, 'NotAuthenticated'])
    const { status, body } = await http(`${gateway.url}/whoami`, { headers: { authorization: `Bearer ${token}` } })
    expect(status).to.equal(200)
    expect(body.user).to.include({ email: 'koa@example.com' })
    expect(body.user).not.to.have.property('password')
    expect(body.authentication).to.include({ strategy: 'jwt', accessToken: token })
    expect(body.fromRemote).to.equal(true)
    // The raw Authorization header stays on the gateway.
    expect(body.headers).to.equal(null)
  })

  it('a Koa gateway serves remote services and their events over socket.io', async () => {
    const client = await socketClient(gateway.url)
    clients.push(client)
    await new Promise((resolve, reject) => client.io.emit('create', 'authentication', { strategy: 'jwt', accessToken: token }, (error: any, result: any) => (error ? reject(error) : resolve(result))))
    const events = recorder(client.service('todos'), ['created'])
    const todo = await client.service('todos').create({ title: 'socket koa' })
    expect(todo.title).to.equal('socket koa')
    await events.until(() => events.seen.length === 1, 'the created event')
  })

  it('mounts the healthcheck, status, page and metrics routes on Koa', async () => {
    const health = await http(`${gateway.url}/distribution/healthcheck/koa-provider`)
    expect(health.status).to.equal(200)
    expect(Object.keys(health.body.services)).to.include('todos')
    expect((await http(`${gateway.url}/distribution/healthcheck/nobody`)).status).to.equal(404)
    const status = await http(`${provider.url}/distribution/status`)
    expect(status.body.app.key).to.equal('koa-provider')
    const page = await fetch(`${provider.url}/distribution/status/page`)
    expect(page.headers.get('content-type')).to.match(/text\/html/)
    const metrics = await fetch(`${gateway.url}/distribution/metrics`)
    expect(await metrics.text()).to.match(/feathers_mesh_calls_total\{service="todos",method="create",outcome="ok"\} [1-9]/)
    expect((await http(`${gateway.url}/some/other/route`)).status).to.equal(404)
  })
})
