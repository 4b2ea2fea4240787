import { expect } from 'chai'
import { AuthenticationService, JWTStrategy, authenticate } from '@feathersjs/authentication'
import { LocalStrategy, hooks as localHooks } from '@feathersjs/authentication-local'
import { MemoryService } from '@feathersjs/memory'
import { Mesh, waitFor } from '../helpers/mesh'
import { socketClient } from '../helpers/clients'
import { quiet } from '../helpers/events'

/**
 * Real-time clients of a gateway (socket.io, JWT) as the example's: what holds when proxies are
 * mounted after clients connected, and mounted again wider.
 */

/** The example gateway's shape: local + JWT, users with methods: [], status page, `authenticated` channel. */
function gatewaySetup(extra?: (app: any) => void, jwtOptions: Record<string, unknown> = { expiresIn: '1d' }) {
  return (app: any) => {
    app.set('authentication', { secret: 'rt-secret-for-tests', entity: 'user', service: 'users', authStrategies: ['jwt', 'local'], jwtOptions, local: { usernameField: 'email', passwordField: 'password' } })
    const auth = new AuthenticationService(app)
    auth.register('jwt', new JWTStrategy())
    auth.register('local', new LocalStrategy())
    app.use('authentication', auth)
    app.use('users', new MemoryService(), { methods: [] })
    app.service('users').hooks({ before: { create: [localHooks.hashPassword('password')] }, after: { all: [localHooks.protect('password')] } })
    app.on('connection', (connection: any) => app.channel('anonymous').join(connection))
    app.on('login', (_r: unknown, params: any) => {
      if (!params.connection) return
      app.channel('anonymous').leave(params.connection)
      app.channel('authenticated').join(params.connection)
    })
    app.publish(() => app.channel('authenticated'))
    extra?.(app)
  }
}

const gatewayOptions = { key: 'gateway', services: () => false, statusPage: true, hooks: { before: { all: [authenticate('jwt')] } } }

async function login(client: any, email: string) {
  return new Promise<any>((resolve, reject) =>
    client.io.emit('create', 'authentication', { strategy: 'local', email, password: 'pw' }, (error: any, result: any) => (error ? reject(error) : resolve(result)))
  )
}

function collect(client: any, path: string, events: string[]) {
  const seen: Array<[string, any]> = []
  for (const event of events) client.service(path).on(event, (data: any) => seen.push([event, data]))
  return seen
}

describe('real-time clients through the gateway, as proxies come and widen', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  const clients: any[] = []
  afterEach(async () => {
    clients.splice(0).forEach((client) => client.io.close())
    await mesh.close()
  })

  it('a socket.io client connected before a proxy was mounted can call every method of it, custom ones too', async () => {
    const gateway = await mesh.app(gatewayOptions, gatewaySetup())
    await gateway.service('users').create({ email: 'a@x', password: 'pw' })
    const early = await socketClient(gateway.url)
    clients.push(early)
    await login(early, 'a@x')
    const r1 = await mesh.child('r1', { key: 'todos-app', services: ['todos'], replica: 'r1' })
    await gateway.distribution.waitForService('todos')
    const custom = collect(early, 'todos', ['status', 'created'])
    await r1.send({ cmd: 'emit', path: 'todos', event: 'status', data: { busy: true } })
    const created = await early.service('todos').create({ title: 'x' })
    expect(created.title).to.equal('x')
    await waitFor(() => custom.length === 2, 5000, 'custom and created events at the early client')
    // When it connected, no service there had get, patch, update or complete: Feathers gave the connection no handler for them.
    const late = await socketClient(gateway.url)
    clients.push(late)
    await login(late, 'a@x')
    expect(await late.service('todos').get(created.id), 'a client that connected after the mount').to.include({ title: 'x' })
    const bounded = (p: Promise<any>) => Promise.race([p, new Promise((resolve) => setTimeout(() => resolve(new Error('no answer within 3 s')), 3000))])
    const got: any = await bounded(early.service('todos').get(created.id).then((v: any) => v, (e: any) => e))
    expect(got, String(got?.message)).to.include({ title: 'x' })
    const patched: any = await bounded(early.service('todos').patch(created.id, { done: true }).then((v: any) => v, (e: any) => e))
    expect(patched, String(patched?.message)).to.include({ done: true })
    const completed: any = await bounded(new Promise((resolve) => early.io.emit('complete', 'todos', { id: created.id }, {}, (error: any, result: any) => resolve(error ?? result))))
    expect(completed, String(completed?.message)).to.include({ done: true })
  })

  it('a publisher registered on a proxy survives the proxy being mounted again wider (no event reaches anyone else)', async () => {
    await mesh.child('r1', { key: 'todos-app', services: ['todos'], replica: 'r1' })
    const gateway = await mesh.app(gatewayOptions, gatewaySetup())
    await gateway.service('users').create({ email: 'alice@x', password: 'pw' })
    await gateway.service('users').create({ email: 'bob@x', password: 'pw' })
    const todos: any = await gateway.distribution.waitForService('todos')
    // Only the owner hears a todo's events.
    todos.publish((data: any) => gateway.channel('authenticated').filter((connection: any) => connection.user?.email === data.owner))
    const alice = await socketClient(gateway.url)
    const bob = await socketClient(gateway.url)
    clients.push(alice, bob)
    await login(alice, 'alice@x')
    await login(bob, 'bob@x')
    const aliceSeen = collect(alice, 'todos', ['created'])
    const bobSeen = collect(bob, 'todos', ['created'])
    await alice.service('todos').create({ title: 'a1', owner: 'alice@x' })
    await waitFor(() => aliceSeen.length === 1, 5000, 'alice hears her todo')
    await quiet()
    expect(bobSeen, 'before widening').to.deep.equal([])
    // A newer replica with one more method widens the proxy (mounted again).
    await mesh.app({ key: 'todos-app' }, (app) => app.use('todos', { async find() { return [] }, async create(data: any) { return { ...data, id: 99 } }, async archive() { return 'ok' } }, { methods: ['find', 'create', 'archive'], distributedMethods: ['find', 'create', 'archive'] } as any))
    await waitFor(() => (gateway.service('todos') as any).methods.includes('archive'), 5000, 'the proxy widened')
    await alice.service('todos').create({ title: 'a2', owner: 'alice@x' })
    await alice.service('todos').create({ title: 'a3', owner: 'alice@x' })
    await waitFor(() => aliceSeen.length === 3, 5000, 'alice hears both todos')
    await quiet()
    expect(bobSeen.map(([, d]) => d.title), "bob must not hear alice's todos after widening").to.deep.equal([])
  })
})
