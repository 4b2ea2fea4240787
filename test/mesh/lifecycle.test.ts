import { expect } from 'chai'
import { feathers } from '@feathersjs/feathers'
import { distribution, finalize } from '../../src'
import { Mesh, meshOptions, discoveryPort, waitFor } from '../helpers/mesh'

/** Sockets and servers (TCP and UDP); mocha's own timers come and go, so timers are not compared. */
function resources() {
  return process.getActiveResourcesInfo().filter((name) => ['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap'].includes(name)).sort()
}

describe('lifecycle', function () {
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

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

  it('throws a clear error when distribution is configured twice on one app', () => {
    const app = feathers()
    app.configure(distribution(meshOptions(discoveryPort(__filename), { coteDelay: 10_000 })))
    expect(() => app.configure(distribution())).to.throw(/already configured/)
    return finalize(app)
  })
})
