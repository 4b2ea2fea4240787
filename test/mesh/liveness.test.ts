import { expect } from 'chai'
import net from 'net'
import { KEEPALIVE_MS } from '../../src/links'
import { Mesh, waitFor } from '../helpers/mesh'
import { fakePeer } from '../helpers/fake-peer'
import { quiet } from '../helpers/events'

const SECRET = 'liveness-mesh-secret-0123456789'

// The test mesh says hello every 200 ms and beats every 300 ms (drops a peer after 900 ms of silence) unless told otherwise.
describe('liveness: discovery hellos stand for heartbeats', function () {
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())

  const counters = (app: any) => app.distribution.status().counters
  const knows = (app: any, uuid: string) => app.distribution.peers().some((peer: any) => peer.uuid === uuid)
  const hellosTo = (peer: { calls: any[] }) => peer.calls.filter((message) => message.type === 'hello')

  /**
   * Resolves once `ms` pass with `value()` unchanged, trying a few windows: a loaded machine can
   * make discovery lose a peer for a moment (it is then sent heartbeats, by design). A feature that
   * always sends them never sees a quiet window.
   */
  async function steady(value: () => number, ms: number, what: string, windows = 4) {
    for (let i = 0; i < windows; i++) {
      const before = value()
      await quiet(ms)
      if (value() === before) return
    }
    throw new Error(`${what} changed in each of ${windows} windows of ${ms} ms`)
  }

  // A peer silent for half the heartbeat timeout is asked, and asks for heartbeats: a stall of this
  // busy test process could trigger that, so the tests that expect none use a 3 s timeout.
  const relaxed = { heartbeatInterval: 1000 }

  it('links on both sides use TCP keepalive (60 s), since idle links carry nothing', async () => {
    const setKeepAlive = net.Socket.prototype.setKeepAlive
    const calls: Array<{ port?: number; enable?: boolean; delay?: number }> = []
    net.Socket.prototype.setKeepAlive = function (this: net.Socket, enable?: boolean, delay?: number) {
      calls.push({ port: this.remotePort ?? undefined, enable, delay })
      return setKeepAlive.call(this, enable, delay)
    }
    try {
      await mesh.app({ key: 'todos-app' }, (app) => app.use('todos', { async find() { return [] } }))
      const gateway = await mesh.app({ key: 'gateway' })
      await gateway.distribution.waitForService('todos')
      const onLinks = calls.filter((call) => call.enable === true && call.delay === KEEPALIVE_MS)
      // Links opened (set before they connect: no remote port yet), and the accepted side of them.
      expect(onLinks.filter((call) => call.port === undefined).length, 'links opened').to.be.at.least(2)
      expect(onLinks.filter((call) => call.port !== undefined).length, 'links accepted').to.be.at.least(2)
      expect(KEEPALIVE_MS).to.equal(60_000)
    } finally {
      net.Socket.prototype.setKeepAlive = setKeepAlive
    }
  })

  it('without a secret, apps that take hellos for heartbeats send none, and stay joined', async () => {
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'], options: relaxed })
    const gateway = await mesh.app({ key: 'gateway', ...relaxed })
    await gateway.distribution.waitForService('todos')
    await waitFor(() => knows(gateway, provider.uuid), 5000, 'the provider to be a peer')
    const heard = gateway.distribution.status().app.discovery.heard
    // More than two heartbeat intervals without a heartbeat, either way.
    await steady(() => counters(gateway).heartbeatsOut + counters(gateway).heartbeatsIn, 2500, 'heartbeats sent or received')
    expect(gateway.distribution.status().app.discovery.heard - heard, 'hellos heard').to.be.at.least(5)
    expect(knows(gateway, provider.uuid)).to.equal(true)
    expect(await gateway.service('todos').find()).to.deep.equal([])
  })

  it('a peer that sends only hellos stays joined without being asked, and its hellos carry a list change', async () => {
    const peer = fakePeer({ port: mesh.port, key: 'hello-app', v: 1, heartbeats: false, hellos: true, services: [{ path: 'one', methods: ['find'] }] })
    try {
      const gateway = await mesh.app({ key: 'gateway', ...relaxed })
      await gateway.distribution.waitForService('one')
      await waitFor(() => knows(gateway, peer.uuid), 5000, 'the peer to be admitted')
      await steady(() => hellosTo(peer).length + counters(gateway).heartbeatsOut, 2500, 'hellos or heartbeats sent to it')
      expect(knows(gateway, peer.uuid)).to.equal(true)
      // An announcement lost on the way: the list number in its next hello makes the gateway ask.
      peer.silentlyServe(['one', 'two'])
      await gateway.distribution.waitForService('two')
    } finally {
      peer.close()
    }
  })

  it('a hello left unanswered is tried again, 3 tries in all, each bounded by max(heartbeatInterval, 1000) ms', async () => {
    const peer = fakePeer({ port: mesh.port, key: 'slow-app', v: 1, heartbeats: false, hellos: true, services: [{ path: 'slow', methods: ['find'] }] })
    peer.ignoreNextHellos(2)
    try {
      const gateway = await mesh.app({ key: 'gateway', heartbeatInterval: 300 })
      await gateway.distribution.waitForService('slow', { timeout: 10_000 })
      const [first, second, third] = peer.helloTimes
      expect(peer.helloTimes.length, 'hellos until the third was answered').to.be.at.least(3)
      for (const gap of [second - first, third - second]) expect(gap, 'ms before the next try').to.be.at.least(950)
      expect(knows(gateway, peer.uuid)).to.equal(true)
    } finally {
      peer.close()
    }
  })

  it('with a secret, heartbeats go out as before: hellos are not sealed', async () => {
    await mesh.child('provider', { key: 'todos-app', services: ['todos'], options: { secret: SECRET } })
    const gateway = await mesh.app({ key: 'gateway', secret: SECRET })
    await gateway.distribution.waitForService('todos')
    const before = counters(gateway)
    await waitFor(() => counters(gateway).heartbeatsOut >= before.heartbeatsOut + 3, 5000, 'heartbeats to be sent')
    await waitFor(() => counters(gateway).heartbeatsIn >= before.heartbeatsIn + 3, 5000, 'heartbeats to be received')
  })

  it('a peer whose advertisement does not take hellos for heartbeats (protocol 1.0–1.1) still gets them', async () => {
    const old = fakePeer({ port: mesh.port, key: 'old-app', v: 1, services: [{ path: 'old', methods: ['find'] }] })
    try {
      const gateway = await mesh.app({ key: 'gateway' })
      await gateway.distribution.waitForService('old')
      const before = counters(gateway).heartbeatsOut
      await waitFor(() => counters(gateway).heartbeatsOut >= before + 3, 5000, 'heartbeats to be sent to the old peer')
      // Its announcement lost on the way: the newer list number in its heartbeats makes the gateway ask.
      old.silentlyServe(['old', 'newer'])
      await gateway.distribution.waitForService('newer')
    } finally {
      old.close()
    }
  })

  it('the hellos of a peer refused for its protocol version do not make the app greet it again and again', async () => {
    const future = fakePeer({ port: mesh.port, key: 'future-app', v: 2, services: [{ path: 'future', methods: ['find'] }] })
    const warn = console.warn
    console.warn = () => undefined // the refusal's one line
    try {
      const gateway = await mesh.app({ key: 'gateway' })
      await waitFor(() => gateway.distribution.refused().some((r: any) => r.uuid === future.uuid), 5000, 'the v2 peer to be refused')
      const asked = hellosTo(future).length
      await quiet(1500) // 7 of its hellos
      expect(hellosTo(future).length).to.equal(asked)
    } finally {
      console.warn = warn
      future.close()
    }
  })

  for (const [label, heartbeatInterval] of [
    ['hellos off the heartbeat grid', 300],
    ['hellos on the heartbeat grid', 200]
  ] as const) {
    it(`a peer whose hellos stop is asked directly (and for heartbeats) while it answers, dropped once it does not, and back once it answers again (${label})`, async () => {
      const peer = fakePeer({ port: mesh.port, key: 'quiet-app', v: 1, heartbeats: false, hellos: true, services: [{ path: 'quiet', methods: ['find'] }] })
      try {
        const gateway = await mesh.app({ key: 'gateway', heartbeatInterval })
        const timeout = gateway.distribution.options.heartbeatTimeout
        await gateway.distribution.waitForService('quiet')
        await waitFor(() => knows(gateway, peer.uuid), 5000, 'the quiet peer to be a peer')
        // While its hellos flow, the gateway publishes no heartbeats.
        await steady(() => counters(gateway).heartbeatsOut, 1000, 'heartbeats sent while hellos flow')
        // No heartbeats and now no hellos: only its answers to direct hellos keep it.
        peer.stopHellos()
        const asked = hellosTo(peer).length
        const beatsBefore = counters(gateway).heartbeatsOut
        await quiet(3 * timeout)
        expect(knows(gateway, peer.uuid), 'kept while it answers').to.equal(true)
        // Discovery no longer sees it: the gateway publishes heartbeats (which it need not while hellos flow).
        expect(counters(gateway).heartbeatsOut, 'heartbeats published').to.be.greaterThan(beatsBefore)
        const probes = hellosTo(peer).slice(asked)
        expect(probes.length, 'hellos sent to it').to.be.greaterThan(0)
        expect(probes.every((hello) => hello.beats === true), 'each asks for heartbeats').to.equal(true)
        expect(await gateway.service('quiet').find({})).to.equal('fake answer')
        const hungAt = Date.now()
        peer.ignoreHellos()
        await waitFor(() => !knows(gateway, peer.uuid), 5000, 'the hung peer to be dropped')
        expect(Date.now() - hungAt).to.be.below(timeout + 2 * heartbeatInterval + 500)
        // Its links stayed up: it is asked again at each sweep, and comes back once it answers (still without hellos).
        peer.answerHellos()
        await waitFor(() => knows(gateway, peer.uuid), 5000, 'the recovered peer to come back')
        expect(await gateway.distribution.waitForService('quiet').then((quiet: any) => quiet.find({}))).to.equal('fake answer')
      } finally {
        peer.close()
      }
    })
  }
})
