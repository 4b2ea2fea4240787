import { expect } from 'chai'
import dgram from 'dgram'
import { Mesh, waitFor } from '../helpers/mesh'
import { finalize } from '../../src'

describe('discovery', function () {
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())

  it('a new app sees the services of running apps, and they see its services, within about one hello interval', async () => {
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'], options: { remoteServices: ['gateway-echo'] } })
    const started = Date.now()
    const gateway = await mesh.app({ key: 'gateway' }, (app) => app.use('gateway-echo', { async find() { return 'from gateway' } }))
    await gateway.distribution.waitForService('todos', { timeout: 3000 })
    const took = Date.now() - started
    const seen = await provider.send({ cmd: 'call', path: 'gateway-echo', method: 'find', args: [] }).catch(() => undefined)
    expect(took).to.be.below(3000)
    await waitFor(async () => (await provider.send({ cmd: 'services' })).includes('gateway-echo'), 3000, 'the provider to see the gateway service')
    expect(seen === undefined || seen === 'from gateway').to.equal(true)
    expect(await provider.send({ cmd: 'call', path: 'gateway-echo', method: 'find', args: [] })).to.equal('from gateway')
  })

  it('with the default 5 s hello interval, a new app still joins at once: apps that hear it connect back and name their address', async () => {
    // Timings left to the library (the other tests shorten them): announcements every 5 s.
    const slow = { cote: { helloInterval: undefined, checkInterval: undefined, nodeTimeout: undefined, masterTimeout: undefined } } as any
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'], options: slow })
    const started = Date.now()
    const gateway = await mesh.app({ key: 'gateway', ...slow }, (app) => app.use('gateway-echo', { async find() { return 'from gateway' } }))
    // The provider's next announcement is up to 5 s away: only its hello with its address can be this quick.
    await gateway.distribution.waitForService('todos', { timeout: 2500 })
    expect(Date.now() - started).to.be.below(2500)
    await waitFor(async () => (await provider.send({ cmd: 'services' })).includes('gateway-echo'), 2500, 'the provider to see the gateway service')
  })

  it('a peer advertising a host that does not resolve, and malformed announcements, crash nobody', async () => {
    const bad = await mesh.child('bad-host', { key: 'todos-app', services: ['todos'], env: { DISCOVERY_HOSTNAME: 'no-such-host.invalid' } })
    const gateway = await mesh.app({ key: 'gateway' })
    await waitFor(() => gateway.distribution.status().app.discovery.seen >= 1, 5000, 'discovery to report the peer')
    const udp = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()))
    udp.setBroadcast(true)
    const malformed = [
      'not json',
      '{"event":"hello","data":"text","iid":"z","pid":"y"}',
      // Each of these crashed every app that heard it (node-discover read `null.pid`)…
      'null', '[]', '42', '"text"', '{"event":"hello","iid":7,"pid":"y","data":{}}',
      // …or wrote the sender's fields onto Object.prototype in each of them.
      '{"event":"hello","iid":"__proto__","pid":"y","data":{"polluted":"yes"}}',
      '{"event":"hello","iid":"constructor","pid":"y","data":{"polluted":"yes"}}',
      '{"event":"hello","iid":"w","pid":"y","data":{"__proto__":{"polluted":"yes"}}}'
    ]
    const dropped = gateway.distribution.drops().malformed ?? 0
    for (const payload of ['{"event":"hello","data":{},"iid":"x","pid":"y"}', ...malformed]) {
      await new Promise((resolve) => udp.send(payload, mesh.port, '127.255.255.255', resolve))
    }
    udp.close()
    await waitFor(() => gateway.distribution.drops().malformed - dropped === malformed.length, 5000, 'the malformed announcements counted as dropped')
    expect(({} as any).polluted, 'a field on Object.prototype').to.equal(undefined)
    // A replica that can be reached still joins and serves; the unreachable one is never used.
    const good = await mesh.child('good', { key: 'todos-app', services: ['todos'], replica: 'good' })
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(() => todos.replicas.has(good.uuid), 5000, 'the reachable replica')
    await todos.create({ title: 'served' })
    expect((await todos.find({})).every((todo: any) => todo.replica === 'good')).to.equal(true)
    expect(todos.replicas.has(bad.uuid)).to.equal(false)
    expect(bad.process.exitCode).to.equal(null)
    expect(good.process.exitCode).to.equal(null)
  })

  it('a forged node naming a known peer, once it times out, does not make the peer lost: links that drop later are opened again', async () => {
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'] })
    const gateway = await mesh.app({ key: 'gateway' })
    const todos = await gateway.distribution.waitForService('todos')
    const ports = await provider.send({ cmd: 'ports' })
    const seen = () => gateway.distribution.status().app.discovery.seen
    await waitFor(() => seen() === 1, 5000, 'discovery to see the provider')
    // One hello from another discovery node advertising the provider's uuid and ports: it times out after nodeTimeout.
    const advertisement = { name: 'forged', key: '$$feathers-mesh', axon_type: 'mesh', mesh: { uuid: provider.uuid, key: 'todos-app', version: 1, calls: ports.responder, events: ports.publisher } }
    const hello = JSON.stringify({ event: 'hello', pid: 'forged-process', iid: 'forged-instance', hostName: 'forged', data: { isMaster: false, isMasterEligible: false, weight: 0, advertisement } })
    const udp = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()))
    udp.setBroadcast(true)
    await new Promise((resolve) => udp.send(hello, mesh.port, '127.255.255.255', resolve))
    udp.close()
    await waitFor(() => seen() === 2, 5000, 'the forged node')
    await waitFor(() => seen() === 1, 5000, 'the forged node to time out')
    // A blip cuts both of the gateway's links to the provider, which discovery still sees.
    const { socketsBy } = require('../helpers/processes')
    const cut = [...socketsBy('remote', ports.responder), ...socketsBy('remote', ports.publisher)]
    expect(cut).to.have.length(2)
    cut.forEach((socket: any) => socket.destroy())
    await waitFor(() => socketsBy('remote', ports.responder).length === 1 && socketsBy('remote', ports.publisher).length === 1, 5000, 'both links opened again')
    await waitFor(() => todos.replicas.has(provider.uuid), 5000, 'the provider back as a replica')
    expect(await todos.find({ query: {} })).to.be.an('array')
  })

  it('cote.log: one plain line per peer coming online and going offline, with what the network sent made printable', async () => {
    const lines: string[] = []
    const consoleLog = console.log
    console.log = (...args: unknown[]) => void lines.push(args.join(' '))
    try {
      const gateway = await mesh.app({ key: 'gateway', cote: { log: true } })
      const me = `feathers-mesh ${gateway.distribution.uuid.slice(0, 8)}`
      // statusLogsEnabled: false keeps cote's banner only.
      const bannerOnly = await mesh.app({ key: 'banner-only', cote: { log: true, statusLogsEnabled: false } })
      const quiet = `feathers-mesh ${bannerOnly.distribution.uuid.slice(0, 8)} > `
      const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'] })
      const online = `${me} > feathers-mesh ${provider.uuid.slice(0, 8)} (key todos-app) online at 127.0.0.1:`
      await waitFor(() => lines.some((line) => line.startsWith(online)), 5000, 'the online line')
      // A hello whose fields carry terminal escapes: logged with them replaced, never as they came.
      const udp = dgram.createSocket('udp4')
      await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()))
      udp.setBroadcast(true)
      const advertisement = { name: 'forged', key: '$$feathers-mesh', axon_type: 'mesh', mesh: { uuid: '\u001b[31mforged-uuid', key: 'evil\u001b[2Jkey', version: 1, calls: 1, events: 2 } }
      const hello = JSON.stringify({ event: 'hello', pid: 'forged-process', iid: 'forged-instance', hostName: 'forged', data: { isMaster: false, isMasterEligible: false, weight: 0, advertisement } })
      await new Promise((resolve) => udp.send(hello, mesh.port, '127.255.255.255', resolve))
      udp.close()
      await waitFor(() => lines.some((line) => line.includes('(key evil?[2Jkey) online')), 5000, 'the forged peer, made printable')
      expect(lines.filter((line) => line.includes('\u001b[2J') || line.includes('\u001b[31m'))).to.deep.equal([])
      await provider.send({ cmd: 'exit' }).catch(() => undefined)
      const offline = `${me} > feathers-mesh ${provider.uuid.slice(0, 8)} (key todos-app) offline at 127.0.0.1:`
      await waitFor(() => lines.some((line) => line.startsWith(offline)), 5000, 'the offline line')
      expect(lines.filter((line) => line.startsWith(online))).to.have.length(1)
      expect(lines.some((line) => line.includes("Hello! I'm") && line.includes(`feathers-mesh ${bannerOnly.distribution.uuid.slice(0, 8)}`))).to.equal(true)
      expect(lines.filter((line) => line.startsWith(quiet))).to.deep.equal([])
    } finally {
      console.log = consoleLog
    }
  })

  it('a late app gets the full current list, services added before it joined included', async () => {
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'] })
    await provider.send({ cmd: 'use', name: 'echo' })
    const gateway = await mesh.app({ key: 'gateway' })
    await gateway.distribution.waitForService('todos')
    await gateway.distribution.waitForService('echo')
  })

  it('a service added after the mesh formed appears on consumers', async () => {
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'] })
    const gateway = await mesh.app({ key: 'gateway' })
    await gateway.distribution.waitForService('todos')
    const appeared = new Promise((resolve) => gateway.once('service', resolve))
    await provider.send({ cmd: 'use', name: 'echo' })
    const event: any = await appeared
    expect(event).to.include({ path: 'echo', key: 'todos-app', localPath: 'echo' })
    expect(event.methods).to.deep.equal(['create'])
  })

  it('forms a mesh from apps started all at once, every time', async () => {
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        mesh.child(`a${round}`, { key: 'a', services: ['todos:a'] }),
        mesh.child(`b${round}`, { key: 'b', services: ['todos:b'] })
      ])
      const gateway = await mesh.app({ key: 'gateway' })
      await gateway.distribution.waitForService('a', { timeout: 3000 })
      await gateway.distribution.waitForService('b', { timeout: 3000 })
      await waitFor(async () => (await a.send({ cmd: 'services' })).includes('b'), 3000, 'a to see b')
      await waitFor(async () => (await b.send({ cmd: 'services' })).includes('a'), 3000, 'b to see a')
      await mesh.close()
    }
  })

  it('ten apps started at the same moment all see each other, with no port collisions', async function () {
    this.timeout(60000)
    const apps = await Promise.all(Array.from({ length: 10 }, (_, i) => mesh.child(`app${i}`, { key: `key${i}`, services: [`echo:echo${i}`] })))
    const expected = apps.map((_, i) => `echo${i}`)
    await Promise.all(
      apps.map((app, i) =>
        waitFor(async () => {
          const services: string[] = await app.send({ cmd: 'services' })
          return expected.every((path) => services.includes(path))
        }, 15000, `app${i} to see all ten services`, 100)
      )
    )
    const ports = await Promise.all(apps.map((app) => app.send({ cmd: 'ports' })))
    const all = ports.flatMap((p) => [p.responder, p.publisher])
    expect(new Set(all).size).to.equal(20)
  })

  it('still forms the mesh with coteDelay and publicationDelay set, and ready waits for them', async () => {
    await mesh.child('provider', { key: 'todos-app', services: ['todos'] })
    const started = Date.now()
    const gateway = await mesh.app({ key: 'gateway', coteDelay: 200, publicationDelay: 200 })
    expect(Date.now() - started).to.be.at.least(400)
    await gateway.distribution.waitForService('todos', { timeout: 3000 })
  })

  it('publicationDelay: peers know the app at once, but see its services only once the delay has passed', async () => {
    const observer = await mesh.child('observer', { key: 'observer' })
    const started = Date.now()
    let provider: any
    const starting = mesh.app({ key: 'delayed', publicationDelay: 1500 }, (app) => {
      provider = app
      app.use('delayed', { async find() { return 'delayed' } })
    })
    // Set in the same turn as the announcement: false when a look begins means nothing was announced yet.
    let published = false
    provider.distribution.ready.then(() => (published = true))
    const look = async () => {
      const early = !published
      const [peers, services] = await Promise.all([observer.send({ cmd: 'peerList' }), observer.send({ cmd: 'services' })])
      return { early, peer: peers.find((p: any) => p.uuid === provider.distribution.uuid), services: services as string[] }
    }
    const first = await waitFor(async () => {
      const seen = await look()
      return seen.peer && seen
    }, 5000, 'the observer to know the app')
    expect(first.early, 'the observer met the app before its delay was over').to.equal(true)
    // Until the delay is over, the observer knows the app with an empty list and mounts nothing of it.
    for (let seen = first; seen.early; seen = await look()) {
      expect(seen.peer?.services).to.deep.equal([])
      expect(seen.services).to.not.include('delayed')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await starting
    expect(Date.now() - started).to.be.at.least(1500)
    await waitFor(async () => (await look()).services.includes('delayed'), 3000, 'the observer to see the service')
    expect(await observer.send({ cmd: 'call', path: 'delayed', method: 'find', args: [] })).to.equal('delayed')
  })

  it('waitForService rejects with Timeout when the service never comes', async () => {
    const gateway = await mesh.app({ key: 'gateway' })
    try {
      await gateway.distribution.waitForService('never', { timeout: 200 })
      expect.fail('waitForService resolved')
    } catch (error: any) {
      expect(error.name).to.equal('Timeout')
      expect(error.code).to.equal(408)
    }
  })

  it('waitForService: a timeout a Node timer cannot hold is refused, Infinity waits as long as it takes, and after close it rejects at once', async () => {
    const gateway = await mesh.app({ key: 'gateway' })
    for (const timeout of [-5, NaN, 2 ** 31, '100' as any]) {
      const error = await gateway.distribution.waitForService('never', { timeout }).then(() => undefined, (e: any) => e)
      expect(error, String(timeout)).to.be.instanceOf(TypeError)
      expect(error.message).to.match(/waitForService's timeout must be a number of milliseconds from 0 to 2147483647, or Infinity/)
    }
    const waiting = gateway.distribution.waitForService('late', { timeout: Infinity })
    await mesh.app({ key: 'late-app' }, (app) => app.use('late', { async find() { return 'here' } }))
    expect(await ((await waiting) as any).find({})).to.equal('here')
    await finalize(gateway)
    const started = Date.now()
    const error = await gateway.distribution.waitForService('never', { timeout: 5000 }).then(() => undefined, (e: any) => e)
    expect([error?.name, error?.code]).to.deep.equal(['Unavailable', 503])
    expect(Date.now() - started).to.be.below(1000)
  })
})
