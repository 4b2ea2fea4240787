import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'

describe('params and replicas of a call', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('route and query travel, a user loses its password, query is at least {}, and default remoteParams drop forwarded headers', async () => {
    await mesh.child('provider', { key: 'params-app', services: ['echo'] })
    const gateway = await mesh.app({ key: 'gateway', forwardHeaders: ['x-request-id'] })
    const echo = await gateway.distribution.waitForService('echo')
    const echoed = await echo.create({}, { route: { id: '7' }, query: { a: 1 }, provider: 'rest', user: { id: 1, password: 'hash' }, headers: { 'x-request-id': 'abc' }, custom: true })
    expect(echoed).to.deep.include({ route: { id: '7' }, query: { a: 1 }, provider: 'rest', user: { id: 1 }, fromRemote: true })
    // The provider's remoteParams (the default) do not list `headers`: the forwarded header stays out.
    expect(echoed.headers).to.equal(undefined)
    expect((await echo.create({}, {})).query).to.deep.equal({})
    expect((await echo.create({})).query).to.deep.equal({})
    expect((await echo.create({}, { query: null })).query).to.deep.equal({})
    // A model instance as authentication loads it (Sequelize, Mongoose): its password is behind a getter, or in its toJSON().
    class Model {
      constructor(private readonly dataValues: Record<string, unknown>) {}
      get password() {
        return this.dataValues.password
      }
      toJSON() {
        return { ...this.dataValues }
      }
    }
    const model = new Model({ id: 2, email: 'a@example.com', password: '$2a$10$hash', since: new Date(0) })
    expect((await echo.create({}, { user: model })).user).to.deep.equal({ id: 2, email: 'a@example.com', since: new Date(0) })
  })

  it("a user loses the fields its authentication strategy names as passwordField and entityPasswordField, as well as password", async () => {
    await mesh.child('provider-pass', { key: 'params-pass', services: ['echo:echo-pass'] })
    const gateway = await mesh.app({ key: 'gateway-pass' }, (app) => {
      app.set('authentication', { entity: 'user', authStrategies: ['jwt', 'local'], local: { usernameField: 'email', passwordField: 'passphrase' } })
    })
    const echo = await gateway.distribution.waitForService('echo-pass')
    const echoed = await echo.create({}, { user: { id: 1, email: 'a@example.com', passphrase: 'hash', password: 'other' } })
    expect(echoed.user).to.deep.equal({ id: 1, email: 'a@example.com' })
    // Settings changed later are read again, replaced or changed in place.
    gateway.set('authentication', { local: { passwordField: 'secretHash' } })
    expect((await echo.create({}, { user: { id: 2, secretHash: 'h', passphrase: 'kept' } })).user).to.deep.equal({ id: 2, passphrase: 'kept' })
    gateway.get('authentication').local.passwordField = 'pin'
    expect((await echo.create({}, { user: { id: 3, pin: '1234', secretHash: 'kept' } })).user).to.deep.equal({ id: 3, secretHash: 'kept' })
    // The local strategy reads the entity's hash from entityPasswordField when it is set.
    gateway.set('authentication', { local: { usernameField: 'email', passwordField: 'password', entityPasswordField: 'passwordHash' } })
    expect((await echo.create({}, { user: { id: 4, passwordHash: '$2a$10$hash' } })).user).to.deep.equal({ id: 4 })
  })

  it("paginate travels and a provider that lists it in remoteParams takes it; forwarded headers match whatever their case", async () => {
    const { MemoryService } = require('@feathersjs/memory')
    const provide = (key: string, remoteParams?: string[]) =>
      mesh.app({ key, ...(remoteParams ? { remoteParams } : {}) }, (app) => {
        app.use(`records-${key}`, new MemoryService({ multi: true, paginate: { default: 2, max: 10 } }))
        app.use(`headers-${key}`, { async find(params: any) { return params.headers ?? null } })
      })
    const open = await provide('paging', ['query', 'provider', 'route', 'user', 'authentication', 'headers', 'paginate'])
    const strict = await provide('paging-default')
    for (const app of [open, strict]) await app.service(`records-${app.distribution.key}`).create([{ n: 1 }, { n: 2 }, { n: 3 }])
    const gateway = await mesh.app({ key: 'gateway-paging', forwardHeaders: ['x-request-id'] })
    const all = await (await gateway.distribution.waitForService('records-paging')).find({ paginate: false })
    expect(all.map((r: any) => r.n)).to.deep.equal([1, 2, 3])
    // The default remoteParams leave it out: the provider's pagination applies.
    const page = await (await gateway.distribution.waitForService('records-paging-default')).find({ paginate: false })
    expect([page.total, page.data.length]).to.deep.equal([3, 2])
    const headers = await (await gateway.distribution.waitForService('headers-paging')).find({ headers: { 'X-Request-Id': 'abc', Authorization: 'secret' } })
    expect(headers).to.deep.equal({ 'x-request-id': 'abc' })
  })

  it('a replica that does not distribute a method is skipped for it; the others take turns', async () => {
    await mesh.child('full', { key: 'mixed-app', services: ['todos:mixed'], replica: 'full' })
    // The fixture's plain todos store lists no methods of its own, so the app's list applies: reads only.
    await mesh.child('reader', { key: 'mixed-app', services: ['plaintodos:mixed'], replica: 'reader', options: { distributedMethods: ['find', 'get'] } })
    const gateway = await mesh.app({ key: 'gateway-mixed' })
    const mixed = await gateway.distribution.waitForService('mixed')
    await waitFor(() => mixed.replicas.size === 2, 5000, 'both replicas')
    const ids: number[] = []
    for (let i = 0; i < 6; i++) ids.push((await mixed.create({ title: `c${i}` })).id)
    // Every create went to the replica that takes them: its ids run 1..6 without gaps.
    expect(ids).to.deep.equal([1, 2, 3, 4, 5, 6])
    // Finds take turns: the reader holds nothing, the full replica the six records.
    const counts = new Set<number>()
    for (let i = 0; i < 6; i++) counts.add((await mixed.find({})).length)
    expect(counts).to.deep.equal(new Set([0, 6]))
  })
})
