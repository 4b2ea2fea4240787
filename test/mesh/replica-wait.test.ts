import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'

/** The error a promise rejects with; fails when it resolves instead. */
function rejection(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
    },
    (error) => error
  )
}

describe('waiting for replicas and services', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())

  it('maxQueue: per proxy, calls beyond it fail at once with Unavailable, the waiting ones after replicaTimeout', async () => {
    const provider = await mesh.child('provider', { key: 'queued', services: ['todos:qa', 'todos:qb'] })
    const gateway = await mesh.app({ key: 'gateway-queue', replicaTimeout: 2000, maxQueue: 2 })
    const qa = await gateway.distribution.waitForService('qa')
    const qb = await gateway.distribution.waitForService('qb')
    await provider.kill('SIGTERM') // a goodbye: both proxies lose their only replica at once
    await waitFor(() => qa.replicas.size === 0 && qb.replicas.size === 0, 5000, 'the replica to leave')
    const started = Date.now()
    const settle = (proxy: any) => rejection(proxy.find({})).then((error) => ({ error, ms: Date.now() - started }))
    // Three calls on each proxy: the queues are separate, so each has two waiting and one refused.
    const outcomes = await Promise.all([qa, qa, qa, qb, qb, qb].map(settle))
    for (const { error } of outcomes) expect([error.name, error.code]).to.deep.equal(['Unavailable', 503])
    // "At once" is under a quarter of replicaTimeout; the waiters end with the proxy, replicaTimeout after the replica left.
    const label = ({ ms }: { ms: number }) => (ms < 500 ? 'at once' : ms >= 1500 && ms < 4000 ? 'after replicaTimeout' : `${ms} ms`)
    expect(outcomes.slice(0, 3).map(label).sort()).to.deep.equal(['after replicaTimeout', 'after replicaTimeout', 'at once'])
    expect(outcomes.slice(3).map(label).sort()).to.deep.equal(['after replicaTimeout', 'after replicaTimeout', 'at once'])
    // The proxies went with the waiters, and their figures and metric series with them, once
    // their paths were free; the totals keep their calls.
    expect(gateway.distribution.status().counters.calls.unavailable).to.equal(6)
    await waitFor(async () => !/service="q[ab]"/.test(await gateway.distribution.metrics.getSingleMetricAsString('feathers_mesh_calls_total')), 5000, 'the series of the gone proxies to go')
    expect(gateway.distribution.status().counters.calls.unavailable).to.equal(6)
  })

  it('a call waiting for a replica is served by one that joins within replicaTimeout', async () => {
    const first = await mesh.child('first', { key: 'joining', services: ['todos:joining'], replica: 'first' })
    const successor = await mesh.child('successor', { key: 'joining', replica: 'successor' }) // exposes nothing yet
    const gateway = await mesh.app({ key: 'gateway-join', replicaTimeout: 3000, maxQueue: 2 })
    const proxy = await gateway.distribution.waitForService('joining')
    await waitFor(() => gateway.distribution.peers().some((peer: any) => peer.uuid === successor.uuid), 5000, 'the gateway to know the successor')
    await first.kill('SIGTERM')
    await waitFor(() => proxy.replicas.size === 0, 5000, 'the last replica to leave')
    const started = Date.now()
    const waiting = [1, 2].map(() => proxy.find({ query: { $mark: 'waited' } }))
    const overflow = await rejection(proxy.find({}))
    expect(overflow.name).to.equal('Unavailable')
    expect(Date.now() - started).to.be.below(750)
    await successor.send({ cmd: 'use', name: 'todos:joining' })
    expect(await Promise.all(waiting)).to.deep.equal([[], []]) // the successor's store is empty
    expect(Date.now() - started).to.be.below(3000)
    // The first replica is gone: the successor ran them, through the proxy that stayed mounted.
    expect((await successor.send({ cmd: 'lastParams', path: 'joining' })).query).to.deep.equal({ $mark: 'waited' })
    expect(gateway.services.joining).to.equal(proxy)
  })

  it('replicaTimeout 0: the proxy goes as soon as its last replica leaves, and a call with no replica fails at once', async () => {
    const provider = await mesh.child('provider', { key: 'zero-app', services: ['todos:zero'] })
    const removed: any[] = []
    const zero = await mesh.app({ key: 'gateway-zero', replicaTimeout: 0 }, (app) => app.on('service-removed', (event: any) => removed.push(event)))
    const lingering = await mesh.app({ key: 'gateway-lingering', replicaTimeout: 2000 })
    const proxy = await zero.distribution.waitForService('zero')
    const lingeringProxy = await lingering.distribution.waitForService('zero')
    const left = Date.now()
    await provider.send({ cmd: 'unuse', path: 'zero' })
    await waitFor(() => removed.length > 0 && lingeringProxy.replicas.size === 0, 5000, 'both gateways to see the replica leave')
    expect(Date.now() - left).to.be.below(500)
    // Both saw the same departure: the gateway with a replicaTimeout still holds its proxy, the other did not wait.
    expect(removed.map((event) => [event.localPath, event.key])).to.deep.equal([['zero', 'zero-app']])
    expect(zero.services.zero).to.equal(undefined)
    expect(lingering.services.zero).to.equal(lingeringProxy)
    const started = Date.now()
    const error = await rejection(proxy.find({}))
    expect([error.name, error.code]).to.deep.equal(['Unavailable', 503])
    expect(Date.now() - started).to.be.below(500)
  })

  it('a call whose timeout is shorter than replicaTimeout waits for a replica only until its timeout, then fails with Unavailable', async () => {
    const provider = await mesh.child('provider', { key: 'brief-app', services: ['todos:brief'] })
    const gateway = await mesh.app({ key: 'gateway-brief', replicaTimeout: 5000, timeout: 400 })
    const brief = await gateway.distribution.waitForService('brief')
    await provider.kill('SIGTERM')
    await waitFor(() => brief.replicas.size === 0, 5000, 'the replica to leave')
    const started = Date.now()
    const error = await rejection(brief.find({}))
    expect([error.name, error.code]).to.deep.equal(['Unavailable', 503])
    expect(Date.now() - started).to.be.within(350, 2500)
  })

  it('waitForService rejects with Timeout (408) once its timeout passes without the service', async () => {
    const app = await mesh.app({ key: 'waiter' })
    const started = Date.now()
    const error = await rejection(app.distribution.waitForService('/never-announced/', { timeout: 600 }))
    expect([error.name, error.code, error.data]).to.deep.equal(['Timeout', 408, { path: 'never-announced', timeout: 600 }])
    expect(Date.now() - started).to.be.within(550, 3000)
  })

  it('waitForService waits 10000 ms by default', async () => {
    const app = await mesh.app({ key: 'default-waiter' })
    // Waiting 10 s would slow the suite: the timer the wait sets is read, then run shortened.
    const delays: Array<number | undefined> = []
    const original = global.setTimeout
    global.setTimeout = ((callback: (...args: any[]) => void, ms?: number, ...args: any[]) => {
      delays.push(ms)
      return original(callback, ms === 10000 ? 50 : ms, ...args)
    }) as typeof setTimeout
    let waiting: Promise<unknown>
    try {
      waiting = app.distribution.waitForService('never-announced')
    } finally {
      global.setTimeout = original
    }
    expect(delays).to.deep.equal([10000])
    const error = await rejection(waiting)
    expect([error.name, error.code, error.data]).to.deep.equal(['Timeout', 408, { path: 'never-announced', timeout: 10000 }])
  })
})
