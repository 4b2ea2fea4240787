import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'
import { load } from '../helpers/load'
import { socketsBy } from '../helpers/processes'
import { CutProxy, RedisServer } from '../helpers/redis'

describe('Redis discovery', function () {
  this.timeout(60000)
  const mesh = new Mesh(__filename)
  let redis: RedisServer
  let nextPort = 0
  // Every app gets a UDP discovery port of its own: they can only find each other through Redis.
  const alone = () => ({ port: mesh.port + 100 + nextPort++ })
  const viaOption = (extra: Record<string, unknown> = {}) => ({ discovery: { redis: redis.url }, cote: alone(), ...extra })
  const viaEnv = () => ({ COTE_DISCOVERY_REDIS_URL: redis.url })

  before(async () => {
    redis = await RedisServer.start()
  })
  after(async () => {
    await redis?.stop()
  })
  afterEach(() => mesh.close())

  it('finds peers through Redis (option or COTE_DISCOVERY_REDIS_URL) with one connection pair per app, and carries calls and events', async () => {
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos', 'echo', 'chat'], env: viaEnv(), options: { cote: alone() } })
    const gateway = await mesh.app(viaOption({ key: 'gateway' }))
    const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
    await gateway.distribution.waitForService('echo')
    expect(gateway.distribution.status().app.discovery).to.include({ mode: 'redis', connected: true })

    const created: any[] = []
    todos.on('created', (todo: any) => created.push(todo))
    const todo = await todos.create({ title: 'through redis' })
    expect(await todos.get(todo.id)).to.include({ title: 'through redis' })
    await waitFor(() => created.length === 1, 5000, 'the created event')

    // Two apps, three services, two keys: two connections each, named after the app.
    const names = await redis.clientNames()
    const mine = names.filter((name) => name.startsWith('feathers-mesh:'))
    expect(mine).to.have.length(4)
    for (const app of [gateway.distribution.uuid, provider.uuid]) {
      expect(mine.filter((name) => name === `feathers-mesh:${app.slice(0, 8)}`)).to.have.length(2)
    }
    // The advertised address is the one each app reaches Redis from.
    expect(gateway.distribution.peers().find((peer: any) => peer.uuid === provider.uuid)?.host).to.equal('127.0.0.1')
  })

  it('advertises the advertise option (or DISCOVERY_HOSTNAME) instead, and peers connect to it', async () => {
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'], env: { ...viaEnv(), DISCOVERY_HOSTNAME: 'localhost' }, options: { cote: alone() } })
    const gateway = await mesh.app(viaOption({ key: 'gateway', advertise: '127.0.0.2' }))
    const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
    expect(gateway.distribution.peers().find((peer: any) => peer.uuid === provider.uuid)?.host).to.equal('localhost')
    await todos.create({ title: 'via localhost' })
    const hostOfGateway = async () => (await provider.send({ cmd: 'peerList' })).find((peer: any) => peer.uuid === gateway.distribution.uuid)?.host
    expect(await waitFor(hostOfGateway, 5000, 'the provider to admit the gateway')).to.equal('127.0.0.2')
  })

  it('one Redis server is one mesh, whatever database number the URL names', async () => {
    await mesh.child('provider', { key: 'todos-app', services: ['todos'], env: { COTE_DISCOVERY_REDIS_URL: `${redis.url}/1` }, options: { cote: alone() } })
    const gateway = await mesh.app({ key: 'gateway', discovery: { redis: `${redis.url}/2` }, cote: alone() })
    const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
    expect(await todos.find({ query: {} })).to.be.an('array')
  })

  it("finds peers through Redis set up in cote's own forms (cote: { redis: { host, port } }, COTE_DISCOVERY_REDIS_HOST and _PORT), as feathers-distributed apps do", async () => {
    const env = { COTE_DISCOVERY_REDIS_HOST: redis.host, COTE_DISCOVERY_REDIS_PORT: String(redis.port) }
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'], env, options: { cote: alone() } })
    const gateway = await mesh.app({ key: 'gateway', cote: { ...alone(), redis: { host: redis.host, port: redis.port } } })
    expect(gateway.distribution.status().app.discovery.mode).to.equal('redis')
    expect((await provider.send({ cmd: 'status' })).app.discovery.mode).to.equal('redis')
    const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
    expect(await todos.find({ query: {} })).to.be.an('array')
    const admitted = async () => (await provider.send({ cmd: 'peerList' })).some((peer: any) => peer.uuid === gateway.distribution.uuid)
    await waitFor(admitted, 5000, 'the provider to find the gateway')
  })

  it('refuses a malformed Redis URL with an error naming the option', async () => {
    let error: any
    try {
      await mesh.app({ discovery: { redis: 'http://nope' } })
    } catch (caught) {
      error = caught
    }
    expect(error?.message).to.match(/discovery\.redis must be a URL such as redis:\/\/host:6379/)
  })

  it('survives Redis going away: known apps keep calling with no failure, nobody crashes, a newcomer joins once Redis is back, no duplicates', async () => {
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (...args: unknown[]) => void warnings.push(args.join(' '))
    try {
      const one = await mesh.child('one', { key: 'todos-app', services: ['todos'], replica: 'one', env: viaEnv(), options: { cote: alone() } })
      const two = await mesh.child('two', { key: 'todos-app', services: ['todos'], replica: 'two', env: viaEnv(), options: { cote: alone() } })
      const gateway = await mesh.app(viaOption({ key: 'gateway' }))
      const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
      await waitFor(() => todos.replicas.size === 2, 10000, 'both replicas')

      const calls = load(() => todos.find({ query: { $delay: 5 } }), { concurrency: 4, maxMs: 40000 })
      const writes = load((i) => todos.create({ title: `w${i}` }), { concurrency: 1, maxMs: 40000 })
      await waitFor(() => calls.records.length > 20, 5000, 'some traffic')
      await redis.stop()
      const status = () => gateway.distribution.status().app.discovery
      await waitFor(() => !status().connected, 5000, 'the gateway to see Redis down')
      // Discovery forgets everyone (no announcements arrive) while the links stay in use.
      await waitFor(() => status().seen === 0, 10000, 'discovery to forget the peers')
      const during = calls.records.length
      await waitFor(() => calls.records.length > during + 50, 5000, 'calls during the outage')
      expect(todos.replicas.size).to.equal(2)

      const three = await mesh.child('three', { key: 'todos-app', services: ['todos'], replica: 'three', env: viaEnv(), options: { cote: alone() } })
      await redis.resume()
      await waitFor(() => todos.replicas.size === 3, 10000, 'the newcomer to join once Redis is back')
      await waitFor(() => status().connected && status().seen === 3, 10000, 'discovery to see everyone again')
      await calls.stop()
      await writes.stop()

      expect(calls.failures().map((r) => r.error?.message)).to.deep.equal([])
      expect(writes.failures().map((r) => r.error?.message)).to.deep.equal([])
      for (const child of [one, two, three]) expect(child.process.exitCode).to.equal(null)
      // One proxy, three distinct replicas, three peers: nothing doubled after discovery found them again.
      expect(Object.keys(gateway.services).filter((path) => path === 'todos')).to.have.length(1)
      for (const child of [one, two, three]) expect(todos.replicas.has(child.uuid)).to.equal(true)
      expect(gateway.distribution.peers().map((peer: any) => peer.uuid).sort()).to.deep.equal([one.uuid, two.uuid, three.uuid].sort())
      const everyone = [gateway.distribution.uuid, one.uuid, two.uuid]
      const newcomerSees = async () => (await three.send({ cmd: 'peerList' })).filter((peer: any) => everyone.includes(peer.uuid)).length === 3
      await waitFor(newcomerSees, 5000, 'the newcomer to admit every app')
      // Once per state change: one "down" and one "back" line from this process's app, whatever the outage length.
      expect(warnings.filter((line) => line.includes('discovery through Redis is down'))).to.have.length(1)
      expect(warnings.filter((line) => line.includes('discovery through Redis is back'))).to.have.length(1)
    } finally {
      console.warn = warn
      await redis.resume().catch(() => undefined)
    }
  })

  it('during a Redis outage, a link of a known peer that drops is opened again: its events and calls go on', async () => {
    const warn = console.warn
    console.warn = () => undefined
    try {
      const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'], env: viaEnv(), options: { cote: alone() } })
      const gateway = await mesh.app(viaOption({ key: 'gateway' }))
      const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
      const created: number[] = []
      todos.on('created', (todo: any) => created.push(todo.n))
      await redis.stop()
      await waitFor(() => gateway.distribution.status().app.discovery.seen === 0, 10000, 'discovery to forget the provider')
      const { publisher, responder } = await provider.send({ cmd: 'ports' })
      for (const [link, port] of [['events', publisher], ['calls', responder]]) {
        // A network blip cuts one of the gateway's two links to the provider.
        const cut = socketsBy('remote', port)
        expect(cut, `the ${link} link`).to.have.length(1)
        cut[0].destroy()
        await waitFor(() => socketsBy('remote', port).some((socket) => socket !== cut[0]), 5000, `the ${link} link to be opened again`)
        await waitFor(() => todos.replicas.has(provider.uuid), 5000, 'the provider to serve the proxy')
        const n = created.length + 1
        await todos.create({ n })
        await waitFor(() => created.includes(n), 5000, `the event of a create after the ${link} link came back`)
      }
      expect(gateway.distribution.status().app.discovery.seen).to.equal(0)
    } finally {
      console.warn = warn
      await redis.resume().catch(() => undefined)
    }
  })

  it('sees a connection cut without FIN or RST as down, once, and reconnects by itself when the network heals: a newcomer then finds it', async () => {
    const proxy = await CutProxy.start(redis.port)
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (...args: unknown[]) => void warnings.push(args.join(' '))
    try {
      const app = await mesh.app({ key: 'gateway', discovery: { redis: proxy.url }, cote: alone() })
      const status = () => app.distribution.status().app.discovery
      await waitFor(() => status().connected, 5000, 'the app to reach Redis')

      proxy.partition()
      // Three hello intervals of silence (200 ms each in tests), then the next check.
      await waitFor(() => !status().connected, 3000, 'the app to see its Redis connection dead')
      // Its two clients connect again, and their handshakes hang in the cut too. Meanwhile a newcomer
      // starts, reaching Redis directly: the app does not hear it.
      const retried = proxy.connections + 2
      const [newcomer] = await Promise.all([
        mesh.child('newcomer', { key: 'todos-app', services: ['todos'], env: viaEnv(), options: { cote: alone() } }),
        waitFor(() => proxy.connections >= retried, 10000, 'the app to retry through the cut')
      ])
      expect(status().connected).to.equal(false)
      expect(app.distribution.peers()).to.deep.equal([])

      proxy.heal()
      await waitFor(() => status().connected, 15000, 'the app to reconnect')
      const todos = await app.distribution.waitForService('todos', { timeout: 10000 })
      expect(await todos.find({ query: {} })).to.be.an('array')
      const admitted = async () => (await newcomer.send({ cmd: 'peerList' })).some((peer: any) => peer.uuid === app.distribution.uuid)
      await waitFor(admitted, 5000, 'the newcomer to find the app')
      // Once per state change, however many reconnection attempts the cut took.
      const down = warnings.filter((line) => line.includes('discovery through Redis is down'))
      expect(down).to.have.length(1)
      expect(down[0]).to.match(/none of its announcements came back for \d+ ms/)
      expect(warnings.filter((line) => line.includes('discovery through Redis is back'))).to.have.length(1)
    } finally {
      // The app first: with the proxy gone, its retries would warn past the test.
      await mesh.close()
      console.warn = warn
      await proxy.close()
    }
  })
})
