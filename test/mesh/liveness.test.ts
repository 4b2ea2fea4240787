import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'
import { fakePeer } from '../helpers/fake-peer'
import { quiet } from '../helpers/events'

const SECRET = 'liveness-mesh-secret-0123456789'

// The test mesh says hello every 200 ms and beats every 300 ms, and drops a peer after 900 ms of silence.
describe('liveness: discovery hellos stand for heartbeats', function () {
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())

  const counters = (app: any) => app.distribution.status().counters
  const knows = (app: any, uuid: string) => app.distribution.peers().some((peer: any) => peer.uuid === uuid)

  it('without a secret, apps that take hellos for heartbeats send none, and stay joined', async () => {
    const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'] })
    const gateway = await mesh.app({ key: 'gateway' })
    await gateway.distribution.waitForService('todos')
    await waitFor(() => knows(gateway, provider.uuid), 5000, 'the provider to be a peer')
    const before = counters(gateway)
    await quiet(2000) // more than twice the heartbeat timeout
    const after = counters(gateway)
    expect(after.heartbeatsOut, 'heartbeats sent').to.equal(before.heartbeatsOut)
    expect(after.heartbeatsIn - before.heartbeatsIn, 'hellos counted as heartbeats').to.be.at.least(5)
    expect(knows(gateway, provider.uuid)).to.equal(true)
    expect(await gateway.service('todos').find()).to.deep.equal([])
  })

  it('with a secret, heartbeats go out as before: hellos are not sealed', async () => {
    await mesh.child('provider', { key: 'todos-app', services: ['todos'], options: { secret: SECRET } })
    const gateway = await mesh.app({ key: 'gateway', secret: SECRET })
    await gateway.distribution.waitForService('todos')
    const before = counters(gateway).heartbeatsOut
    await waitFor(() => counters(gateway).heartbeatsOut >= before + 3, 5000, 'heartbeats to be sent')
  })

  it('a peer whose advertisement does not take hellos for heartbeats (protocol 1.0–1.1) still gets them', async () => {
    const old = fakePeer({ port: mesh.port, key: 'old-app', v: 1, services: [{ path: 'old', methods: ['find'] }] })
    try {
      const gateway = await mesh.app({ key: 'gateway' })
      await gateway.distribution.waitForService('old')
      const before = counters(gateway).heartbeatsOut
      await waitFor(() => counters(gateway).heartbeatsOut >= before + 3, 5000, 'heartbeats to be sent to the old peer')
    } finally {
      old.close()
    }
  })

  it('a peer whose hellos stop is asked directly and kept while it answers; once it does not, it is dropped', async () => {
    const peer = fakePeer({ port: mesh.port, key: 'quiet-app', v: 1, heartbeats: false, services: [{ path: 'quiet', methods: ['find'] }] })
    try {
      const gateway = await mesh.app({ key: 'gateway' })
      await gateway.distribution.waitForService('quiet')
      await waitFor(() => knows(gateway, peer.uuid), 5000, 'the quiet peer to be a peer')
      // No heartbeats and now no hellos: only its answers to direct hellos keep it.
      peer.stopHellos()
      const asked = peer.calls.filter((message) => message.type === 'hello').length
      await quiet(2000)
      expect(knows(gateway, peer.uuid), 'kept while it answers').to.equal(true)
      expect(peer.calls.filter((message) => message.type === 'hello').length, 'hellos sent to it').to.be.greaterThan(asked)
      expect(await gateway.service('quiet').find({})).to.equal('fake answer')
      const hungAt = Date.now()
      peer.ignoreHellos()
      await waitFor(() => !knows(gateway, peer.uuid), 5000, 'the hung peer to be dropped')
      expect(Date.now() - hungAt).to.be.below(900 + 2 * 300 + 500)
    } finally {
      peer.close()
    }
  })
})
