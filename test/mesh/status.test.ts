import { expect } from 'chai'
import net from 'net'
import { NotAuthenticated } from '@feathersjs/errors'
import { Registry } from 'prom-client'
import type { OpenMetricsContentType } from 'prom-client'
import { feathers } from '@feathersjs/feathers'
import express from '@feathersjs/express'
import { distribution, finalize } from '../../src'
import { Mesh, waitFor } from '../helpers/mesh'
import { http } from '../helpers/clients'

// eslint-disable-next-line @typescript-eslint/no-var-requires
const parsePrometheus: (text: string) => Array<{ name: string; type: string; metrics: any[] }> = require('parse-prometheus-text-format')

describe('status and metrics', function () {
  const mesh = new Mesh(__filename)
  let gateway: any
  let one: Awaited<ReturnType<Mesh['child']>>
  let two: Awaited<ReturnType<Mesh['child']>>

  before(async () => {
    one = await mesh.child('one', { key: 'todos-app', services: ['todos'], replica: 'one' })
    two = await mesh.child('two', { key: 'todos-app', services: ['todos'], replica: 'two' })
    gateway = await mesh.app({ key: 'gateway' })
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(() => todos.replicas.size === 2, 5000, 'both replicas')
    for (let i = 0; i < 10; i++) await todos.find({})
    await todos.get(999).catch(() => undefined)
  })
  after(() => mesh.close())

  it('status() describes this app, its peers, its proxies and its counters', () => {
    const status = gateway.distribution.status()
    expect(status.app).to.include({ uuid: gateway.distribution.uuid, key: 'gateway', protocol: 1 })
    expect(status.app.package.name).to.equal('feathers-mesh')
    const peers = status.peers.filter((p: any) => p.key === 'todos-app')
    expect(peers.map((p: any) => p.uuid).sort()).to.deep.equal([one.uuid, two.uuid].sort())
    for (const peer of peers) {
      expect(peer.state).to.equal('admitted')
      expect(peer.services).to.deep.equal(['todos'])
      expect(peer.lastHeard).to.be.a('number')
      expect(peer.rtt).to.be.a('number')
    }
    const [proxy] = status.proxies
    expect(proxy).to.include({ path: 'todos', remotePath: 'todos', key: 'todos-app', inFlight: 0 })
    expect(proxy.replicas.map((r: any) => r.state)).to.deep.equal(['admitted', 'admitted'])
    expect(proxy.calls.find.ok).to.equal(10)
    expect(proxy.calls.get.error).to.equal(1)
    expect(status.counters.calls.ok).to.equal(10)
  })

  it('counts the calls of a proxy in flight, standard methods included (Feathers runs them on a wrapper object)', async () => {
    const slow = [gateway.service('todos').find({ query: { $delay: 400 } }), gateway.service('todos').find({ query: { $delay: 400 } })]
    await waitFor(() => gateway.distribution.status().proxies[0].inFlight === 2, 2000, 'two calls in flight')
    await Promise.all(slow)
    expect(gateway.distribution.status().proxies[0].inFlight).to.equal(0)
  })

  it('counts the discovery hellos it hears (they stand for heartbeats without a secret)', async () => {
    // Peers that heard this app first connect back to it, so discovery may not have heard them yet.
    await waitFor(() => gateway.distribution.status().app.discovery.seen === 2, 5000, 'discovery to see both peers')
    const before = gateway.distribution.status()
    expect(before.app.discovery).to.include({ mode: 'broadcast', connected: true })
    expect(before.app.discovery.heard).to.be.greaterThan(0)
    // Each of the two peers says hello every 200 ms.
    await waitFor(() => gateway.distribution.status().app.discovery.heard >= before.app.discovery.heard + 4, 5000, 'hellos to be counted')
    expect(before.counters.heartbeatsIn).to.be.a('number')
    expect(before.counters.heartbeatsOut).to.be.a('number')
  })

  it('is a Feathers service at statusPath, which takes hooks', async () => {
    const response = await http(`${gateway.url}/distribution/status`)
    expect(response.status).to.equal(200)
    expect(response.body.app.uuid).to.equal(gateway.distribution.uuid)
    gateway.service('distribution/status').hooks({ before: { find: [async (context: any) => { if (context.params.provider) throw new NotAuthenticated('no token') }] } })
    expect((await http(`${gateway.url}/distribution/status`)).status).to.equal(401)
    expect((await gateway.service('distribution/status').find()).app.key).to.equal('gateway')
  })

  it('shows a leaving peer after its goodbye', async () => {
    const leaving = await mesh.child('leaving', { key: 'todos-app', services: ['todos'], replica: 'leaving' })
    await waitFor(() => gateway.distribution.status().peers.some((p: any) => p.uuid === leaving.uuid && p.state === 'admitted'), 5000, 'the peer to be admitted')
    await leaving.kill('SIGTERM')
    await waitFor(() => gateway.distribution.status().peers.some((p: any) => p.uuid === leaving.uuid && p.state === 'leaving'), 5000, 'the peer to be leaving')
  })

  it('serves Prometheus metrics that a real parser reads', async () => {
    const response = await fetch(`${gateway.url}/distribution/metrics`)
    expect(response.status).to.equal(200)
    expect(response.headers.get('content-type')).to.match(/text\/plain/)
    const text = await response.text()
    const families = parsePrometheus(text)
    const byName = Object.fromEntries(families.map((family) => [family.name, family]))
    for (const name of ['feathers_mesh_calls_total', 'feathers_mesh_call_duration_seconds', 'feathers_mesh_calls_in_flight', 'feathers_mesh_call_retries_total', 'feathers_mesh_events_total', 'feathers_mesh_peers', 'feathers_mesh_replicas', 'feathers_mesh_messages_dropped_total']) {
      expect(byName, name).to.have.property(name)
    }
    const okFinds = byName.feathers_mesh_calls_total.metrics.find((m: any) => m.labels.service === 'todos' && m.labels.method === 'find' && m.labels.outcome === 'ok')
    expect(Number(okFinds.value)).to.be.at.least(10)
    // This parser keeps one series per histogram family; the per-label counts are read from the text.
    expect(byName.feathers_mesh_call_duration_seconds.type).to.equal('HISTOGRAM')
    expect(text).to.match(/feathers_mesh_call_duration_seconds_count\{service="todos",method="find"\} (\d+)/)
    const count = Number(/feathers_mesh_call_duration_seconds_count\{service="todos",method="find"\} (\d+)/.exec(text)![1])
    expect(count).to.be.at.least(10)
    // Buckets are cumulative, in order of their bounds, and +Inf holds every call.
    const buckets = [...text.matchAll(/feathers_mesh_call_duration_seconds_bucket\{le="([^"]+)",service="todos",method="find"\} (\d+)/g)].map((m) => ({ le: m[1], value: Number(m[2]) }))
    expect(buckets.length).to.equal(15)
    expect(buckets.map((b) => b.value)).to.deep.equal([...buckets.map((b) => b.value)].sort((a, b) => a - b))
    expect(buckets[buckets.length - 1]).to.deep.equal({ le: '+Inf', value: count })
    const sum = Number(/feathers_mesh_call_duration_seconds_sum\{service="todos",method="find"\} ([\d.e-]+)/.exec(text)![1])
    expect(sum).to.be.greaterThan(0).and.lessThan(count * 10)
    const replicas = byName.feathers_mesh_replicas.metrics.find((m: any) => m.labels.service === 'todos')
    expect(Number(replicas.value)).to.equal(2)
    const admitted = byName.feathers_mesh_peers.metrics.find((m: any) => m.labels.state === 'admitted')
    expect(Number(admitted.value)).to.be.at.least(2)
  })

  it("registers in the app's own registry, and metricsPath: false turns the route off", async () => {
    const registry = new Registry()
    const app = await mesh.app({ key: 'own-registry', metricsRegistry: registry, metricsPath: false })
    const todos = await app.distribution.waitForService('todos')
    await todos.find({})
    expect(await registry.getSingleMetricAsString('feathers_mesh_calls_total')).to.match(/outcome="ok"\} 1/)
    expect((await fetch(`${app.url}/distribution/metrics`)).status).to.equal(404)
    // The latency histogram is the mesh's own, read-only: it is read at scrape time and takes no observations.
    const latency: any = registry.getSingleMetric('feathers_mesh_call_duration_seconds')
    expect(latency.observe).to.equal(undefined)
    const { values } = await latency.get()
    expect(values.find((v: any) => v.metricName === 'feathers_mesh_call_duration_seconds_count' && v.labels.method === 'find').value).to.equal(1)
  })

  it('metricsPath: a path of its own; its counters count outcomes, events in, calls in flight and drops', async () => {
    const app = await mesh.app({ key: 'custom-metrics', metricsPath: '/ops/metrics', timeout: 300 })
    const todos = await app.distribution.waitForService('todos')
    await todos.find({})
    const late = await todos.find({ query: { $delay: 1500 } }).then(() => undefined, (error: any) => error)
    expect(late?.name).to.equal('Timeout')
    await one.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'counted' }] })
    await waitFor(() => app.distribution.status().counters.eventsIn >= 1, 5000, 'the event to arrive')
    // Garbage on the app's responder: dropped, counted, and the connection cut.
    await new Promise<void>((resolve) => {
      const socket = net.connect(app.distribution.ports.responder, '127.0.0.1', () => socket.end(Buffer.from('not a frame\n')))
      socket.on('error', () => resolve())
      socket.on('close', () => resolve())
    })
    await waitFor(() => Object.values(app.distribution.drops() as Record<string, number>).some((count) => count > 0), 5000, 'the garbage to be counted')
    expect((await fetch(`${app.url}/distribution/metrics`)).status).to.equal(404)
    const response = await fetch(`${app.url}/ops/metrics`)
    expect(response.status).to.equal(200)
    const text = await response.text()
    expect(text).to.match(/feathers_mesh_calls_total\{service="todos",method="find",outcome="ok"\} 1\n/)
    expect(text).to.match(/feathers_mesh_calls_total\{service="todos",method="find",outcome="timeout"\} 1\n/)
    expect(text).to.match(/feathers_mesh_events_total\{direction="in"\} [1-9]/)
    expect(text).to.match(/feathers_mesh_calls_in_flight\{service="todos"\} 0\n/)
    expect(text).to.match(/feathers_mesh_messages_dropped_total\{reason="[^"]+"\} [1-9]/)
  })

  it("counts what the provider's service throws as error, whatever its class; timeout, unavailable and refused are the mesh's own", async () => {
    await mesh.child('thrower', { key: 'errors-app', services: ['errors'] })
    const app = await mesh.app({ key: 'outcomes', timeout: 300 })
    const proxy = await app.distribution.waitForService('errors')
    for (const name of ['Unavailable', 'Timeout', 'MethodNotAllowed', 'NotFound']) {
      const error = await proxy.get(name).then(() => undefined, (e: any) => e)
      expect(error?.name, name).to.equal(name)
    }
    expect((await proxy.find({ query: { delay: 1500 } }).catch((e: any) => e)).name).to.equal('Timeout')
    expect((await proxy.remove(1).catch((e: any) => e)).name).to.equal('MethodNotAllowed')
    // A call the mesh cannot encode (a function) is refused before anything is sent.
    expect((await proxy.get(() => 1).catch((e: any) => e)).name).to.equal('BadRequest')
    const calls = app.distribution.status().proxies.find((p: any) => p.path === 'errors').calls
    const zero = { ok: 0, error: 0, timeout: 0, unavailable: 0, refused: 0 }
    expect(calls).to.deep.equal({ get: { ...zero, error: 4, refused: 1 }, find: { ...zero, timeout: 1 }, remove: { ...zero, refused: 1 } })
  })

  it('metrics do no work per call: no prom-client metric is updated until a scrape', async () => {
    const prom = require('prom-client')
    const updates: string[] = []
    const patched = ([['Counter', 'inc'], ['Gauge', 'set'], ['Gauge', 'inc'], ['Gauge', 'dec'], ['Histogram', 'observe'], ['Summary', 'observe']] as const).map(([type, method]) => {
      const original = prom[type].prototype[method]
      prom[type].prototype[method] = function (this: unknown, ...args: unknown[]) {
        updates.push(`${type}.${method}`)
        return original.apply(this, args)
      }
      return () => (prom[type].prototype[method] = original)
    })
    try {
      const app = await mesh.app({ key: 'metrics-per-call' })
      const todos = await app.distribution.waitForService('todos')
      for (let i = 0; i < 20; i++) await todos.find({})
      expect(updates, 'prom-client updates during calls').to.deep.equal([])
      const text = await (await fetch(`${app.url}/distribution/metrics`)).text()
      expect(text).to.match(/feathers_mesh_call_duration_seconds_count\{service="todos",method="find"\} 20/)
    } finally {
      patched.forEach((restore) => restore())
    }
  })

  it('statusPath: false turns the service off', async () => {
    const app = await mesh.app({ key: 'no-status', statusPath: false })
    expect(app.services['distribution/status']).to.equal(undefined)
  })

  it('a peer silent for 2 heartbeats is suspect, admitted again once it speaks, and gone after heartbeatTimeout', async function () {
    this.timeout(60000)
    // The frozen app's hellos (every 200 ms) stand for its heartbeats: with 1 s heartbeats here a live
    // peer is never 2 s silent, and a silent one is suspect for 4 s before its drop (room for a loaded machine).
    const observer = await mesh.app({ key: 'observer', heartbeatInterval: 1000, heartbeatTimeout: 6000 })
    const frozen = await mesh.child('frozen', { key: 'frozen', services: ['todos:frozen'] })
    const view = () => {
      const status = observer.distribution.status()
      const peer = status.peers.find((p: any) => p.uuid === frozen.uuid)
      const replica = status.proxies.find((p: any) => p.path === 'frozen')?.replicas.find((r: any) => r.uuid === frozen.uuid)
      return { peer, replica }
    }
    const admitted = () => view().peer?.state === 'admitted' && view().replica?.state === 'admitted'
    const inState = async (state: string, timeout: number, what: string) => (await waitFor(() => (view().peer?.state === state ? view() : undefined), timeout, what))!
    await waitFor(admitted, 5000, 'the peer to be admitted')
    for (const round of ['thawed while suspect', 'thawed once dropped']) {
      frozen.process.kill('SIGSTOP')
      try {
        const suspect = await inState('suspect', 5000, `the frozen peer to be suspect (${round})`)
        expect(suspect.peer.lastHeard).to.be.at.least(2000)
        expect(suspect.peer.services, 'a suspect peer is still a peer').to.deep.equal(['frozen'])
        expect(suspect.replica?.state).to.equal('suspect')
        if (round === 'thawed once dropped') {
          const { peer } = await inState('gone', 10000, 'the frozen peer to be dropped')
          expect(peer.reason).to.equal('no heartbeat for 6000 ms')
        }
      } finally {
        frozen.process.kill('SIGCONT')
      }
      await waitFor(admitted, 5000, `the peer to be admitted again (${round})`)
    }
  })

  it('forgets a departed peer a minute after it left, in status() and in the peers gauge, though no other peer leaves', async () => {
    const observer = await mesh.app({ key: 'departures' })
    const leaving = await mesh.child('departing', { key: 'departing', services: ['todos:departing'] })
    await waitFor(() => observer.distribution.status().peers.some((p: any) => p.uuid === leaving.uuid && p.state === 'admitted'), 5000, 'the peer to be admitted')
    await leaving.kill('SIGTERM')
    const listed = () => observer.distribution.status().peers.filter((p: any) => p.key === 'departing').map((p: any) => p.state)
    await waitFor(() => listed()[0] === 'leaving', 5000, 'the peer to be leaving')
    const leavingGauge = async () => /feathers_mesh_peers\{state="leaving"\} (\d+)/.exec(await observer.distribution.metrics.getSingleMetricAsString('feathers_mesh_peers'))![1]
    expect(await leavingGauge()).to.equal('1')
    // A minute later by the wall clock (the departures are dated with it), and nobody else left meanwhile.
    const now = Date.now
    Date.now = () => now() + 61_000
    let later: string[]
    try {
      later = listed()
    } finally {
      Date.now = now
    }
    expect(later).to.deep.equal([])
    expect(await leavingGauge()).to.equal('0')
  })

  it('takes its metrics out of the registry on close: none stays stale, and a new app registers in it', async () => {
    const registry = new Registry()
    const own = new (require('prom-client').Counter)({ name: 'app_own_total', help: 'the app\'s own metric', registers: [registry] })
    const first = await mesh.app({ key: 'metrics-first', metricsRegistry: registry, metricsPath: false })
    const meshNames = () => registry.getMetricsAsArray().map((m: any) => m.name).filter((name: string) => name.startsWith('feathers_mesh_'))
    expect(meshNames()).to.have.length(8)
    await finalize(first)
    expect(meshNames()).to.deep.equal([])
    expect(registry.getSingleMetric('app_own_total')).to.equal(own)
    const second = await mesh.app({ key: 'metrics-second', metricsRegistry: registry, metricsPath: false })
    expect(meshNames()).to.have.length(8)
    expect(second.distribution.metrics).to.equal(registry)
    // A second close takes out nothing more, the other app's metrics least of all.
    await finalize(first)
    expect(meshNames()).to.have.length(8)
  })

  it('forgets the figures of a proxy that went away, its metric series too, and keeps its calls in the totals', async () => {
    const provider = await mesh.child('vanishing', { key: 'vanishing-app', services: ['echo:vanishing'] })
    const app = await mesh.app({ key: 'forgetful', replicaTimeout: 0 })
    const echo = await app.distribution.waitForService('vanishing')
    for (let i = 0; i < 3; i++) await echo.create({ i })
    const ok = app.distribution.status().counters.calls.ok
    expect(ok).to.be.at.least(3)
    expect(await app.distribution.metrics!.metrics()).to.include('service="vanishing"')
    await provider.kill('SIGTERM')
    await waitFor(async () => !(await app.distribution.metrics!.metrics()).includes('service="vanishing"'), 10000, 'the series of the gone proxy to go')
    expect(app.distribution.status().proxies.map((proxy: any) => proxy.path)).not.to.include('vanishing')
    expect(app.distribution.status().counters.calls.ok, 'the totals only grow').to.equal(ok)
  })

  it('takes its metrics out of a registry in OpenMetrics mode after a scrape (which renames its counters)', async () => {
    const registry = new Registry<OpenMetricsContentType>()
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    const first = await mesh.app({ key: 'metrics-openmetrics', metricsRegistry: registry, metricsPath: false })
    // The scrape writes counters without `_total`, and renames them so in the registry.
    expect(await registry.metrics()).to.include('# TYPE feathers_mesh_calls counter')
    await finalize(first)
    expect(registry.getMetricsAsArray().map((m: any) => m.name)).to.deep.equal([])
    const second = await mesh.app({ key: 'metrics-openmetrics-2', metricsRegistry: registry, metricsPath: false })
    expect(registry.getMetricsAsArray()).to.have.length(8)
    await finalize(second)
  })

  it('refuses, at configure, a registry that holds the mesh metrics of another live app, with a clear error', async () => {
    const registry = new Registry()
    await mesh.app({ key: 'metrics-live', metricsRegistry: registry, metricsPath: false })
    const app = express(feathers())
    expect(() => app.configure(distribution(mesh.options({ key: 'metrics-shared', metricsRegistry: registry })))).to.throw(
      TypeError,
      /^feathers-mesh: option metricsRegistry already holds the mesh metrics of another app \(feathers_mesh_call_duration_seconds, and 7 more\): give each app its own registry$/
    )
    expect((app as any).distribution).to.equal(undefined)
  })

  it('counts calls per proxy by local path: two keys of one remote path mounted apart count apart, in status() and every metric', async () => {
    const [alpha, beta] = await Promise.all([
      mesh.child('alpha', { key: 'alpha', services: ['todos'], replica: 'alpha' }),
      mesh.child('beta', { key: 'beta', services: ['todos'], replica: 'beta' })
    ])
    try {
      const app = await mesh.app({ key: 'placed', remoteServices: (d: any) => ['alpha', 'beta'].includes(d.key), remoteServicePath: (d: any) => `${d.key}/${d.path}` })
      await Promise.all([app.distribution.waitForService('alpha/todos'), app.distribution.waitForService('beta/todos')])
      for (let i = 0; i < 3; i++) await app.service('alpha/todos').find({})
      const proxies = Object.fromEntries(app.distribution.status().proxies.map((p: any) => [p.path, p]))
      expect(proxies['alpha/todos']).to.include({ remotePath: 'todos', key: 'alpha' })
      expect(proxies['alpha/todos'].calls).to.deep.equal({ find: { ok: 3, error: 0, timeout: 0, unavailable: 0, refused: 0 } })
      expect(proxies['beta/todos'].calls).to.deep.equal({})
      expect(proxies['beta/todos'].latency).to.deep.equal({})
      // Every metric labels a proxy by its local path, the call counts as the in-flight and replica gauges.
      const text = await (await fetch(`${app.url}/distribution/metrics`)).text()
      const services = (metric: string) => [...new Set([...text.matchAll(new RegExp(`^${metric}\\{[^}]*service="([^"]+)"`, 'gm'))].map((m) => m[1]))].sort()
      expect(text).to.match(/^feathers_mesh_calls_total\{service="alpha\/todos",method="find",outcome="ok"\} 3$/m)
      expect(text).to.match(/^feathers_mesh_call_duration_seconds_count\{service="alpha\/todos",method="find"\} 3$/m)
      expect(services('feathers_mesh_calls_total')).to.deep.equal(['alpha/todos'])
      expect(services('feathers_mesh_call_duration_seconds_count')).to.deep.equal(['alpha/todos'])
      expect(services('feathers_mesh_calls_in_flight')).to.deep.equal(['alpha/todos', 'beta/todos'])
      expect(services('feathers_mesh_replicas')).to.deep.equal(['alpha/todos', 'beta/todos'])
    } finally {
      await Promise.all([alpha.kill(), beta.kill()])
    }
  })
})
