import { expect } from 'chai'
import { Membership } from '../../src/membership'
import { PROTOCOL_VERSION } from '../../src/protocol'

/** A transport stand-in: records what is published, answers hellos with a peer's state. */
function stubTransport(hearsHellos: boolean) {
  const published: any[] = []
  return {
    published,
    publish: (message: any) => published.push(message),
    request: async (uuid: string) => ({ ok: true, value: { v: PROTOCOL_VERSION, from: uuid, key: 'peer-app', seq: 1, services: [] } }),
    linked: () => true,
    hearsHellos: () => hearsHellos,
    abandon: () => undefined,
    forget: () => undefined
  }
}

function membership(transport: ReturnType<typeof stubTransport>) {
  return new Membership(transport as any, {
    uuid: 'me',
    key: 'my-app',
    heartbeatInterval: 40,
    heartbeatTimeout: 1000,
    helloTimeout: 1000,
    hellosForHeartbeats: true,
    localState: () => ({ seq: 0, services: [] }),
    onPeerServices: () => undefined,
    onPeerLeft: () => undefined
  })
}

const beats = (transport: ReturnType<typeof stubTransport>) => transport.published.filter((message) => message.type === 'heartbeat').length
const until = async (condition: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A membership with one admitted peer, its sweeps running; `hearsHellos`: whether that peer takes hellos for heartbeats. */
async function withPeer(hearsHellos: boolean, check: (members: Membership, transport: ReturnType<typeof stubTransport>) => Promise<void>) {
  const transport = stubTransport(hearsHellos)
  const members = membership(transport)
  members.discovered('peer')
  await until(() => members.peers.has('peer'))
  members.start()
  try {
    await check(members, transport)
  } finally {
    members.stop()
  }
}

describe('membership: heartbeats when hellos stand for them', () => {
  it('sends none while every peer takes hellos for heartbeats, and sends them to a peer that asks', () =>
    withPeer(true, async (members, transport) => {
      await new Promise((resolve) => setTimeout(resolve, 200)) // five sweeps
      expect(beats(transport)).to.equal(0)
      members.sendBeatsTo('peer')
      await until(() => beats(transport) >= 2)
      expect(members.heartbeatsOut).to.equal(beats(transport))
    }))

  it('sends them while a peer does not take hellos for heartbeats', () => withPeer(false, (_members, transport) => until(() => beats(transport) >= 2)))
})
