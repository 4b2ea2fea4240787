import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'
import { quiet } from '../helpers/events'

describe('removal', function () {
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('app.unuse on the provider removes the proxy everywhere, with a service-removed event', async () => {
    const provider = await mesh.child('provider', { key: 'removal-app', services: ['todos', 'echo'] })
    const gateway = await mesh.app({ key: 'gateway' })
    const other = await mesh.app({ key: 'other' })
    await gateway.distribution.waitForService('echo')
    await other.distribution.waitForService('echo')
    const removed: any[] = []
    gateway.on('service-removed', (event: any) => removed.push(event))
    await provider.send({ cmd: 'unuse', path: 'echo' })
    await waitFor(() => !gateway.services.echo && !other.services.echo, 5000, 'echo to go on both consumers')
    expect(removed.map((event) => [event.path, event.remotePath, event.key, event.localPath])).to.deep.equal([['echo', 'echo', 'removal-app', 'echo']])
    expect(gateway.services.todos).to.exist
    await provider.send({ cmd: 'use', name: 'echo' })
    await gateway.distribution.waitForService('echo')
  })

  it('a proxy removed on one consumer stays on the others (no cascade)', async () => {
    const gateway = await mesh.app({ key: 'gateway-2' })
    const other = await mesh.app({ key: 'other-2' })
    await gateway.distribution.waitForService('todos')
    await other.distribution.waitForService('todos')
    await gateway.unuse('todos')
    await quiet()
    expect(other.services.todos).to.exist
    expect(await other.service('todos').find({})).to.be.an('array')
  })

  it('proxies are never announced to others', async () => {
    const gateway = await mesh.app({ key: 'gateway-3' })
    await gateway.distribution.waitForService('todos')
    const observer = await mesh.app({ key: 'observer' })
    await observer.distribution.waitForService('todos')
    const gatewayPeer = await waitFor(() => observer.distribution.peers().find((peer: any) => peer.uuid === gateway.distribution.uuid), 5000, 'the observer to know the gateway')
    expect(gatewayPeer.services).to.deep.equal([])
  })

  it('a goodbye drops the leaving app at once, not after the heartbeat timeout', async () => {
    const gateway = await mesh.app({ key: 'gateway-4', heartbeatInterval: 2000, replicaTimeout: 0 })
    const leaving = await mesh.child('leaving', { key: 'leaving-app', services: ['todos:short-lived'] })
    await gateway.distribution.waitForService('short-lived')
    const started = Date.now()
    await leaving.send({ cmd: 'exit' })
    await waitFor(() => !gateway.services['short-lived'], 5000, 'the proxy to go')
    expect(Date.now() - started).to.be.below(1500) // far below the 6 s heartbeat timeout
  })

  it('a local service always wins over a remote one at the same path', async () => {
    const local = { async find() { return 'local' } }
    const app = await mesh.app({ key: 'local-wins', services: [] }, (app) => app.use('todos', local))
    await app.distribution.waitForService('echo') // the mesh is formed
    expect(await app.service('todos').find()).to.equal('local')
    expect(app.service('todos').remote).to.equal(undefined)
  })

  it('a local service registered later replaces the proxy', async () => {
    const app = await mesh.app({ key: 'local-later', services: [] })
    await app.distribution.waitForService('todos')
    app.use('todos', { async find() { return 'local' } })
    expect(await app.service('todos').find()).to.equal('local')
    await quiet()
    expect(await app.service('todos').find()).to.equal('local')
  })

  it('a proxy reference kept after its removal (app.unuse, or a local service taking the path) fails with Unavailable', async () => {
    const errors = require('@feathersjs/errors')
    for (const how of ['unuse', 'local service']) {
      const app = await mesh.app({ key: `kept-${how.replace(' ', '-')}`, services: [] })
      const kept: any = await app.distribution.waitForService('todos')
      expect(await kept.find({}), how).to.be.an('array')
      if (how === 'unuse') await app.unuse('todos')
      else app.use('todos', { async find() { return 'local' } })
      const error = await kept.find({}).then(() => undefined, (e: any) => e)
      expect(error, how).to.be.instanceOf(errors.Unavailable)
      expect(error.message).to.equal('Remote service todos is unavailable for find: this proxy was removed from the app')
    }
  })

  it('service-removed comes replicaTimeout after the last replica left, with the same payload as service', async () => {
    const provider = await mesh.child('lingering', { key: 'lingering-app', services: ['todos:lingering'], sharedOptions: { lingering: ['paginate'] } })
    const added: any[] = []
    const removed: any[] = []
    const gateway = await mesh.app({ key: 'gateway-linger', replicaTimeout: 1500, remoteServicePath: (d) => (d.path === 'lingering' ? 'mounted/lingering' : d.path) }, (app) => {
      app.on('service', (event: any) => event.key === 'lingering-app' && added.push(event))
      app.on('service-removed', (event: any) => event.key === 'lingering-app' && removed.push({ ...event, at: Date.now() }))
    })
    const proxy = await gateway.distribution.waitForService('mounted/lingering')
    await provider.kill('SIGTERM') // a goodbye: the replica is dropped at once, so the wait is replicaTimeout alone
    await waitFor(() => proxy.replicas.size === 0, 5000, 'the last replica to leave')
    const left = Date.now()
    expect(gateway.services['mounted/lingering']).to.equal(proxy) // still mounted: a restart would cost no 404
    await waitFor(() => removed.length > 0, 5000, 'service-removed')
    expect(removed[0].at - left).to.be.within(1200, 3500)
    expect(gateway.services['mounted/lingering']).to.equal(undefined)
    const { at, ...event } = removed[0]
    expect(event).to.deep.equal({
      path: 'mounted/lingering',
      remotePath: 'lingering',
      key: 'lingering-app',
      methods: ['find', 'get', 'create', 'update', 'patch', 'remove', 'complete'],
      events: ['created', 'updated', 'patched', 'removed', 'status'],
      remoteOptions: { paginate: false },
      localPath: 'mounted/lingering'
    })
    expect(added).to.deep.equal([event])
    expect(removed).to.have.length(1)
  })

  it('app.unuse of a proxy on the consumer emits service-removed for it, once', async () => {
    const removed: any[] = []
    const gateway = await mesh.app({ key: 'gateway-unuse' }, (app) => app.on('service-removed', (event: any) => removed.push(event)))
    await gateway.distribution.waitForService('todos')
    await gateway.unuse('todos')
    await waitFor(() => removed.length > 0, 5000, 'service-removed')
    await quiet() // the proxy leaves no lingering timer behind to report it again
    expect(removed.map((event) => [event.path, event.remotePath, event.key, event.localPath])).to.deep.equal([['todos', 'todos', 'removal-app', 'todos']])
    expect(gateway.services.todos).to.equal(undefined)
  })

  it('a proxy its consumer removed comes back when a replica of its path joins or changes its list; remoteServices keeps it out', async () => {
    const gateway = await mesh.app({ key: 'gateway-back' })
    const filtered = await mesh.app({ key: 'gateway-filtered', remoteServices: (descriptor: any) => descriptor.path !== 'todos' })
    await gateway.distribution.waitForService('todos')
    await gateway.unuse('todos')
    expect(gateway.services.todos).to.equal(undefined)
    const replica = await mesh.child('todos-again', { key: 'removal-app', services: ['todos'] })
    const again: any = await gateway.distribution.waitForService('todos')
    // Mounted again with every replica it knows, not only the one that joined: the others do not announce again.
    const serving = gateway.distribution.peers().filter((peer: any) => peer.key === 'removal-app' && peer.services.includes('todos')).map((peer: any) => peer.uuid)
    expect(serving.length, 'the replica that joined and one from before').to.be.at.least(2)
    expect([...again.replicas.replicas.keys()]).to.have.members(serving)
    await gateway.unuse('todos')
    await replica.send({ cmd: 'use', name: 'echo:echo-later' })
    await gateway.distribution.waitForService('echo-later')
    expect(gateway.services.todos, 'mounted again by the changed list').to.exist
    await filtered.distribution.waitForService('echo-later')
    expect(filtered.services.todos).to.equal(undefined)
  })

  it('a local service registered later emits service-removed for the proxy it replaces', async () => {
    const removed: any[] = []
    const app = await mesh.app({ key: 'local-later-event', services: [] }, (app) => app.on('service-removed', (event: any) => removed.push(event)))
    await app.distribution.waitForService('todos')
    app.use('todos', { async find() { return 'local' } })
    await waitFor(() => removed.length > 0, 5000, 'service-removed')
    await quiet()
    expect(removed.map((event) => [event.path, event.remotePath, event.key, event.localPath])).to.deep.equal([['todos', 'todos', 'removal-app', 'todos']])
    expect(await app.service('todos').find()).to.equal('local')
  })

  it('closing the consumer unmounts every proxy, with a service-removed event for each', async () => {
    const removed: any[] = []
    const gateway = await mesh.app({ key: 'gateway-close' }, (app) => app.on('service-removed', (event: any) => removed.push(event)))
    await gateway.distribution.waitForService('todos')
    await gateway.distribution.waitForService('echo')
    const proxies = Object.keys(gateway.services).filter((path) => gateway.services[path].remote === true)
    expect(proxies).to.include.members(['todos', 'echo'])
    const mounted = proxies.map((path) => `${path} of ${gateway.services[path].key}`).sort()
    await gateway.distribution.close()
    expect(removed.map((event) => `${event.localPath} of ${event.key}`).sort()).to.deep.equal(mounted)
    expect(Object.values(gateway.services).filter((service: any) => service.remote === true)).to.deep.equal([])
  })

  it('replicaTimeout 0, a provider that removes and adds a path in one turn: one service-removed, then one service, each round', async () => {
    const provider = await mesh.app({ key: 'flip-app' }, (app) => app.use('flip', { async find() { return 'v0' } }))
    const events: string[] = []
    const gateway = await mesh.app({ key: 'gateway-flip', replicaTimeout: 0 }, (app) => {
      app.on('service', (event: any) => event.localPath === 'flip' && events.push('service'))
      app.on('service-removed', (event: any) => event.localPath === 'flip' && events.push('service-removed'))
    })
    await gateway.distribution.waitForService('flip')
    for (let round = 1; round <= 3; round++) {
      events.length = 0
      // Both lists leave in one turn, and arrive together.
      void provider.unuse('flip')
      provider.use('flip', { async find() { return `v${round}` } })
      await waitFor(() => events.includes('service'), 5000, `the proxy mounted again (round ${round})`)
      expect(events, `round ${round}`).to.deep.equal(['service-removed', 'service'])
      expect(await gateway.service('flip').find()).to.equal(`v${round}`)
    }
  })

  it('app.unuse of a proxy already removed leaves it out; a proxy Feathers refuses is said so and not kept', async () => {
    await mesh.app({ key: 'twice-app' }, (app) => app.use('twice', { async find() { return [] } }))
    const gateway = await mesh.app({ key: 'gateway-twice' })
    await gateway.distribution.waitForService('twice')
    await gateway.unuse('twice')
    // Cleanup code that removes what it may have removed already.
    await gateway.unuse('twice').catch(() => undefined)
    expect(gateway.services.twice).to.equal(undefined)
    expect(gateway.distribution.status().proxies.map((p: any) => p.path)).to.not.include('twice')
    // Express takes a service with a `set` method for middleware: its proxy cannot be mounted there.
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (...args: unknown[]) => void warnings.push(args.join(' '))
    try {
      await mesh.app({ key: 'settings-app' }, (app) => app.use('settings', { async find() { return [] }, async set(data: any) { return data } }, { methods: ['find', 'set'], distributedMethods: ['find', 'set'] }), 'koa')
      const express = await mesh.app({ key: 'gateway-express' })
      await waitFor(() => warnings.some((w) => w.includes('the proxy of settings (key settings-app) cannot be mounted')), 5000, 'the warning')
      expect(express.distribution.status().proxies.map((p: any) => p.path)).to.not.include('settings')
    } finally {
      console.warn = warn
    }
  })
})
