import { expect } from 'chai'
import { feathers } from '@feathersjs/feathers'
import express from '@feathersjs/express'
import { distribution, finalize } from '../../src'
import type { DistributionOptions } from '../../src'
import { Membership } from '../../src/membership'
import { Mesh, meshOptions, discoveryPort, TRANSPORTS, waitFor } from '../helpers/mesh'
import { socketClient } from '../helpers/clients'
import type { ChildApp } from '../helpers/mesh'
import { load } from '../helpers/load'

/** Sockets and servers (TCP and UDP); mocha's own timers come and go, so timers are not compared. */
function resources() {
  return process.getActiveResourcesInfo().filter((name) => ['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap'].includes(name)).sort()
}

describe('lifecycle', function () {
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())

  /** Two `todos` replicas in their own processes and a gateway here; a seed item in each store makes a find name its replica. */
  async function replicas(options: DistributionOptions = {}) {
    const one = await mesh.child('one', { key: 'todos-app', services: ['todos'], replica: 'one', options })
    const two = await mesh.child('two', { key: 'todos-app', services: ['todos'], replica: 'two', options })
    const gateway = await mesh.app({ key: 'gateway' })
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(() => todos.replicas.size === 2, 5000, 'both replicas')
    for (const child of [one, two]) await child.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'seed' }] })
    return { one, two, todos }
  }

  /**
   * Starts slow calls (`$delay` ms) until a find and a create run on `target`, each seen arriving
   * there (its lastParams); the ones that landed on `other` are returned to be awaited too.
   */
  async function slowCallsOn(todos: any, target: ChildApp, other: ChildApp, delay: number) {
    const on: { find?: Promise<any>; create?: Promise<any> } = {}
    const elsewhere: Promise<any>[] = []
    for (let mark = 0; !on.find || !on.create; mark++) {
      const method = on.find ? 'create' : 'find'
      const query = { $delay: delay, $mark: mark }
      const call: Promise<any> = method === 'find' ? todos.find({ query }) : todos.create({ title: `slow-${mark}` }, { query })
      call.catch(() => undefined) // settled and checked by the test
      const ran = await waitFor(async () => {
        for (const child of [target, other]) if ((await child.send({ cmd: 'lastParams', path: 'todos' }))?.query?.$mark === mark) return child
        return undefined
      }, 5000, `slow call ${mark} to start`)
      if (ran === target) on[method] = call
      else elsewhere.push(call)
    }
    let settled = false
    Promise.allSettled([on.find, on.create]).then(() => (settled = true))
    return { find: on.find!, create: on.create!, elsewhere, settled: () => settled }
  }

  /** The replicas a find's answer came from (every item names the replica that holds it). */
  const answeredBy = (todos: any[]) => [...new Set(todos.map((todo) => todo.replica))]
  const titlesOn = async (child: ChildApp) => new Set(((await child.send({ cmd: 'call', path: 'todos', method: 'find', args: [] })) as any[]).map((todo) => todo.title))

  it('exposes services registered before configure, with the app-level options', async () => {
    const provider: any = feathers()
    provider.use('early', { async find() { return ['early'] }, async create(data: unknown) { return data } })
    provider.configure(distribution(mesh.options({ key: 'early-app', distributedMethods: ['find'] })))
    try {
      const gateway = await mesh.app({ key: 'gateway' })
      const early = await gateway.distribution.waitForService('early')
      expect(await early.find()).to.deep.equal(['early'])
      const refused = await early.create({ title: 'x' }).then(() => undefined, (error: any) => error)
      expect([refused?.name, refused?.code]).to.deep.equal(['MethodNotAllowed', 405])
    } finally {
      await finalize(provider)
    }
  })

  it("configured before Express, Express sees the mesh's service options and rejects them; in the right order they are the mesh's", async () => {
    const service = () => ({ async find() { return [] } })
    const wrong: any = feathers()
    wrong.configure(distribution(mesh.options({ key: 'wrong-order' })))
    const right: any = express(feathers())
    right.configure(distribution(mesh.options({ key: 'right-order' })))
    try {
      const wrapped = express(wrong)
      expect(() => wrapped.use('things', service(), { distributedEvents: [] } as any)).to.throw(/Invalid options passed to app.use/)
      expect(() => right.use('things', service(), { distributedEvents: [] })).not.to.throw()
      expect(right.service('things')).to.exist
    } finally {
      await Promise.all([finalize(wrong), finalize(right)])
    }
  })

  it('finalize closes every socket and timer, start after start, in one process', async () => {
    const baseline = resources()
    for (let round = 0; round < 3; round++) {
      const provider = feathers()
      provider.configure(distribution(meshOptions(discoveryPort(__filename), { key: 'provider' })))
      provider.use('things', { async find() { return ['thing'] } })
      const consumer = feathers()
      consumer.configure(distribution(meshOptions(discoveryPort(__filename), { key: 'consumer' })))
      await Promise.all([provider.distribution.ready, consumer.distribution.ready])
      const things = await consumer.distribution.waitForService('things', { timeout: 5000 })
      expect(await things.find()).to.deep.equal(['thing'])
      await finalize(consumer)
      await finalize(provider)
      await finalize(provider) // idempotent
    }
    await waitFor(() => JSON.stringify(resources()) === JSON.stringify(baseline), 3000, 'sockets back to the baseline').catch((error) => {
      throw new Error(`${error.message}: ${resources().join(',')} against ${baseline.join(',')}`)
    })
  })

  it('closed before its mesh started, in the turn that configured it or during coteDelay: ready resolves at once, no socket was opened', async () => {
    const baseline = resources()
    for (const when of ['same turn', 'during coteDelay']) {
      const app = feathers()
      app.configure(distribution(meshOptions(discoveryPort(__filename), { key: 'closed-early', coteDelay: 60_000 })))
      app.use('things', { async find() { return [] } })
      if (when === 'during coteDelay') await new Promise((resolve) => setImmediate(resolve))
      await Promise.all([finalize(app), app.distribution.ready])
      expect(app.distribution.ports, when).to.equal(undefined)
      expect(resources(), when).to.deep.equal(baseline)
      expect(await app.distribution.healthcheck('any')).to.deep.equal({ status: 503, body: { key: 'any', message: 'the mesh is closed' } })
    }
  })

  it('app.distribution: its key, a new uuid per configure, read-only options, ports once started, metrics, and close() as finalize', async () => {
    const baseline = resources()
    const uuids = new Set<string>()
    for (const metricsPath of ['/distribution/metrics', false] as const) {
      const app = feathers()
      app.configure(distribution(meshOptions(discoveryPort(__filename), { key: 'handle-app', metricsPath })))
      const handle = app.distribution
      expect(handle.key).to.equal('handle-app')
      uuids.add(handle.uuid)
      expect(handle.ports, 'ports before the mesh has started').to.equal(undefined)
      expect(Object.isFrozen(handle.options)).to.equal(true)
      // What it built inside them too: the cote and discovery settings, and the secrets.
      expect([handle.options.cote, handle.options.discovery, handle.options.secrets].map(Object.isFrozen)).to.deep.equal([true, true, true])
      expect(() => {
        ;(handle.options as any).timeout = 1
      }).to.throw(TypeError)
      expect(handle.options.timeout).to.equal(20000)
      if (metricsPath) expect(await handle.metrics!.metrics()).to.contain('feathers_mesh_')
      else expect(handle.metrics, 'metrics with metricsPath: false and no registry').to.equal(undefined)
      await handle.ready
      expect(handle.ports?.responder).to.be.a('number').above(0)
      expect(handle.ports?.publisher).to.be.a('number').above(0).and.not.equal(handle.ports?.responder)
      await handle.close()
      await finalize(app) // the same close: nothing left to do
    }
    expect(uuids.size).to.equal(2)
    await waitFor(() => JSON.stringify(resources()) === JSON.stringify(baseline), 3000, 'sockets back to the baseline after close()').catch((error) => {
      throw new Error(`${error.message}: ${resources().join(',')} against ${baseline.join(',')}`)
    })
  })

  it('app.teardown() closes the mesh, and peers drop the app at once (goodbye)', async () => {
    const observer = await mesh.app({ key: 'observer', heartbeatInterval: 5000 })
    const app = feathers()
    app.configure(distribution(meshOptions(discoveryPort(__filename), { key: 'torn' })))
    app.use('torn-things', { async find() { return [] } })
    await app.setup()
    await observer.distribution.waitForService('torn-things')
    await app.teardown()
    await waitFor(() => !observer.distribution.peers().some((peer: any) => peer.uuid === app.distribution.uuid), 2000, 'the observer to drop the app')
  })

  for (const transport of TRANSPORTS) {
    it(`app.teardown() closes the mesh while a socket.io client keeps the HTTP server open (${transport})`, async () => {
      const observer = await mesh.app({ key: `teardown-observer-${transport}` })
      const app = await mesh.app({ key: `torn-socket-${transport}` }, (torn) => torn.use(`socket-things-${transport}`, { async find() { return [] } }), transport)
      await observer.distribution.waitForService(`socket-things-${transport}`)
      const client = await socketClient(app.url)
      let tornDown = false
      const teardown = app.teardown().then(() => (tornDown = true))
      try {
        // The server's close waits for the client; the mesh does not: it says goodbye, and says it is closed.
        await waitFor(() => !observer.distribution.peers().some((peer: any) => peer.uuid === app.distribution.uuid), 3000, 'the observer to drop the app')
        expect((await app.distribution.healthcheck('nobody')).body.message).to.equal('the mesh is closed')
        expect(tornDown, 'the HTTP server still waits for its client').to.equal(false)
      } finally {
        client.io.close()
      }
      await teardown
    })
  }

  it('on close, lets its own calls in flight finish within gracePeriod, then fails the rest with Unavailable', async () => {
    const provider = await mesh.child('slow', { key: 'slow', services: ['errors'] })
    const app = feathers()
    app.configure(distribution(meshOptions(discoveryPort(__filename), { key: 'closing', gracePeriod: 400 })))
    const service = await app.distribution.waitForService('errors')
    const quick = service.find({ query: { delay: 100 } })
    const slow = service.find({ query: { delay: 3000 } })
    await finalize(app)
    expect(await quick).to.deep.equal({ waited: 100 })
    try {
      await slow
      expect.fail('the slow call resolved')
    } catch (error: any) {
      expect(error.name).to.equal('Unavailable')
    }
    await provider.kill()
  })

  it('a closing replica finishes the calls running on it, and calls made meanwhile fail nothing and go to the other replica', async () => {
    const { one, two, todos } = await replicas()
    const slow = await slowCallsOn(todos, one, two, 2500)
    void one.send({ cmd: 'exit' }).catch(() => undefined) // finalize(app), then exit (the reply may not make it)
    // Writes keep coming while it closes: whichever replica each reaches, none may fail.
    const writes = load((i) => todos.create({ title: `during-${i}` }), { concurrency: 2 })
    await waitFor(() => !todos.replicas.has(one.uuid), 5000, 'the gateway to take the goodbye')
    const goodbyeAt = Date.now()
    await waitFor(() => writes.records.filter((r) => r.started > goodbyeAt).length >= 10, 5000, 'writes after the goodbye')
    expect(slow.settled(), 'the slow calls were still running').to.equal(false)
    // They ran on the leaving replica to the end: the find answers with its seed, the create is not on the other one.
    expect(answeredBy(await slow.find)).to.deep.equal(['one'])
    const created = await slow.create
    await writes.stop()
    expect(writes.failures().map((r) => r.error?.message)).to.deep.equal([])
    const onTwo = await titlesOn(two)
    expect(onTwo.has(created.title)).to.equal(false)
    const after = writes.records.filter((r) => r.started > goodbyeAt).map((r) => r.value.title)
    expect(after.filter((title) => !onTwo.has(title)), 'writes after the goodbye not on the other replica').to.deep.equal([])
    expect(await one.exited).to.equal(0)
    await Promise.all(slow.elsewhere)
  })

  it('a call that still reaches a closing replica is refused before it runs and is served by the other one, whatever the method', async () => {
    const { one, two, todos } = await replicas()
    const slow = await slowCallsOn(todos, one, two, 3000)
    // The gateway misses the goodbye (its published copy lost, its answer later than the 1 s the replica waits): it keeps sending there.
    const onGoodbye = Membership.prototype.onGoodbye
    Membership.prototype.onGoodbye = () => undefined
    try {
      void one.send({ cmd: 'exit' }).catch(() => undefined)
      // Its goodbye answered, the replica drains: it refuses new calls and lets the running ones finish.
      await waitFor(async () => (await one.send({ cmd: 'status' })).app.state === 'draining', 5000, 'the replica to start draining')
      const finds: string[] = []
      const creates: any[] = []
      for (let i = 0; i < 4; i++) {
        // Round robin: each call tries the leaving replica first, and is refused there.
        expect(todos.replicas.has(one.uuid)).to.equal(true)
        finds.push(...answeredBy(await todos.find({})))
        creates.push(await todos.create({ title: `late-${i}` }))
      }
      expect(slow.settled(), 'the slow calls were still running').to.equal(false)
      expect(finds).to.deep.equal(['two', 'two', 'two', 'two'])
      const onTwo = await titlesOn(two)
      expect(creates.map((todo) => todo.title).filter((title) => !onTwo.has(title))).to.deep.equal([])
      expect(answeredBy(await slow.find)).to.deep.equal(['one'])
      expect(onTwo.has((await slow.create).title)).to.equal(false)
    } finally {
      Membership.prototype.onGoodbye = onGoodbye
    }
    await Promise.all(slow.elsewhere)
  })

  it('a call still running on a closing replica when its gracePeriod runs out is cut: a find moves to the other replica, a create fails with Unavailable', async () => {
    const { one, two, todos } = await replicas({ gracePeriod: 300 })
    // Far longer than the grace period, the goodbye (at most 1 s) and the reply flush (at most 500 ms).
    const slow = await slowCallsOn(todos, one, two, 4000)
    void one.send({ cmd: 'exit' }).catch(() => undefined)
    const cut = await slow.create.then(() => undefined, (error: any) => error)
    expect(cut?.name).to.equal('Unavailable')
    expect(cut?.code).to.equal(503)
    expect(answeredBy(await slow.find)).to.deep.equal(['two'])
    expect(await one.exited).to.equal(0)
    await Promise.all(slow.elsewhere)
  })

  it('a draining app: its running calls still call other apps, their events still arrive, and a newcomer does not take it for a replica', async () => {
    await mesh.app({ key: 'stock' }, (app) => app.use('stock', { async get(id: any) { return { id, count: 3 } } }))
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let started = false
    const orders = await mesh.app({ key: 'orders', gracePeriod: 10_000 }, (app) =>
      app.use('orders', {
        async create(data: any) {
          started = true
          await released
          return { ...data, stock: await app.service('stock').get(data.item) }
        }
      })
    )
    await orders.distribution.waitForService('stock')
    const gateway = await mesh.app({ key: 'gateway' })
    const proxy = await gateway.distribution.waitForService('orders')
    const created: unknown[] = []
    proxy.on('created', (data: unknown) => created.push(data))
    const call = proxy.create({ item: 7 })
    await waitFor(() => started, 5000, 'the call to run on the orders app')
    const closed = finalize(orders)
    await waitFor(() => orders.distribution.status().app.state === 'draining', 5000, 'the orders app to drain')
    // An app that starts now greets the draining one, which offers it nothing.
    const newcomer = await mesh.app({ key: 'newcomer' })
    await waitFor(() => newcomer.distribution.peers().some((peer: any) => peer.uuid === orders.distribution.uuid), 5000, 'the newcomer to hear the draining app')
    expect(newcomer.distribution.peers().find((peer: any) => peer.uuid === orders.distribution.uuid).services).to.deep.equal([])
    expect(newcomer.services.orders).to.equal(undefined)
    release()
    expect(await call).to.deep.equal({ item: 7, stock: { id: 7, count: 3 } })
    await waitFor(() => created.length === 1, 5000, 'the created event of the drained call')
    expect(created).to.deep.equal([{ item: 7, stock: { id: 7, count: 3 } }])
    await closed
  })

  it('a configure that throws leaves the app out of the mesh: no peer ever sees it', async () => {
    const { Registry } = require('prom-client')
    const shared = new Registry()
    const own = new Registry()
    await mesh.app({ key: 'metrics-one', metricsRegistry: shared })
    const failing = [
      // A registry that holds the metrics of a live app: that throws after the mesh was set up.
      { key: 'metrics-two', metricsRegistry: shared, error: /option metricsRegistry already holds the mesh metrics of another app/ },
      // A `services` predicate that throws on a service registered before configure.
      // (Its metrics, registered by then, are taken out of its registry again.)
      { key: 'predicate-throws', metricsRegistry: own, services: () => { throw new Error('predicate failed') }, error: /predicate failed/ }
    ]
    const apps = failing.map(({ error, ...options }) => {
      const app = express(feathers())
      app.use('early', { async find() { return [] } })
      const { use, unuse } = app
      expect(() => app.configure(distribution(meshOptions(mesh.port, options))), options.key).to.throw(error)
      // Nothing of it stays: the app may be configured again.
      expect([app.distribution, app.use, app.unuse]).to.deep.equal([undefined, use, unuse])
      return app
    })
    const observer = await mesh.app({ key: 'observer' })
    await waitFor(() => observer.distribution.peers().some((peer: any) => peer.key === 'metrics-one'), 5000, 'the observer to see the app that started')
    // Both failed apps would have been found as soon as the one that started (they would start at once).
    await waitFor(() => observer.distribution.status().app.discovery.seen >= 1, 5000, 'discovery to report')
    expect(observer.distribution.peers().map((peer: any) => peer.key)).to.deep.equal(['metrics-one'])
    const again = apps[1]
    expect(own.getMetricsAsArray()).to.deep.equal([])
    again.configure(distribution(meshOptions(mesh.port, { key: 'configured-again', metricsRegistry: own })))
    await again.distribution.ready
    await waitFor(() => observer.distribution.peers().some((peer: any) => peer.key === 'configured-again'), 5000, 'the app configured again')
    await finalize(again)
  })

  it('a local service that kept a remote one out: once app.unuse removes it, the remote one is mounted at once', async () => {
    await mesh.app({ key: 'remote-notes' }, (app) => app.use('notes', { async find() { return 'remote' } }))
    const consumer = await mesh.app({ key: 'local-notes' }, (app) => app.use('notes', { async find() { return 'local' } }))
    await waitFor(() => consumer.distribution.peers().some((peer: any) => peer.key === 'remote-notes' && peer.services.includes('notes')), 5000, 'the remote notes to be known')
    expect(await consumer.service('notes').find({})).to.equal('local')
    await consumer.unuse('notes')
    // Before, nothing mounted it until the provider changed its list.
    await consumer.distribution.waitForService('notes', { timeout: 2000 })
    expect(await consumer.service('notes').find({})).to.equal('remote')
    // The other order: the proxy first, a local service over it, then removed.
    consumer.use('notes', { async find() { return 'local again' } })
    expect(await consumer.service('notes').find({})).to.equal('local again')
    await consumer.unuse('notes')
    await consumer.distribution.waitForService('notes', { timeout: 2000 })
    expect(await consumer.service('notes').find({})).to.equal('remote')
  })

  it('throws a clear error when distribution is configured twice on one app', () => {
    const app = feathers()
    app.configure(distribution(meshOptions(discoveryPort(__filename), { coteDelay: 10_000 })))
    expect(() => app.configure(distribution())).to.throw(/already configured/)
    return finalize(app)
  })
})
