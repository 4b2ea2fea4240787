import { expect } from 'chai'
import { Membership } from '../../src/membership'
import { Departures, GOODBYE } from '../../src/peers'
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
      members.beats.ask('peer')
      await until(() => beats(transport) >= 2)
      expect(members.heartbeatsOut).to.equal(beats(transport))
    }))

  it('sends them while a peer does not take hellos for heartbeats', () => withPeer(false, (_members, transport) => until(() => beats(transport) >= 2)))
})

describe('membership: requests for heartbeats', () => {
  it('are noted only where hellos stand for heartbeats, and forgotten with the peer', () => {
    const { BeatRequests } = require('../../src/beat-requests')
    const withSecret = new BeatRequests(false, 1000)
    // With a secret heartbeats always go out: a request changes nothing, and noting it would only grow.
    for (let i = 0; i < 100; i++) withSecret.ask(`peer-${i}`)
    expect(withSecret.size).to.equal(0)
    expect(withSecret.needed(new Map(), () => true)).to.equal(true)
    const withoutSecret = new BeatRequests(true, 1000)
    withoutSecret.ask('peer')
    const peers = new Map([['peer', {}]])
    expect(withoutSecret.needed(peers, () => true)).to.equal(true)
    withoutSecret.forget('peer')
    expect([withoutSecret.size, withoutSecret.needed(peers, () => true)]).to.deep.equal([0, false])
  })
})

describe('membership: departed peers', () => {
  /** Runs `check` with the wall clock `offset` ms ahead (Departures date departures with Date.now). */
  function later<T>(offset: number, check: () => T): T {
    const now = Date.now
    Date.now = () => now() + offset
    try {
      return check()
    } finally {
      Date.now = now
    }
  }

  it('are listed for a minute, then forgotten when read, though no other peer leaves', () => {
    const departed = new Departures()
    departed.note('peer-1', 'todos-app', GOODBYE)
    expect([...departed.keys()]).to.deep.equal(['peer-1'])
    expect(later(59_000, () => departed.saidGoodbye('peer-1'))).to.equal(true)
    expect(later(61_000, () => [...departed.values()])).to.deep.equal([])
    expect(departed.saidGoodbye('peer-1')).to.equal(false)
    // Each way of reading forgets them: a lookup, and an iteration.
    departed.note('peer-2', 'todos-app', 'no heartbeat for 900 ms')
    expect(later(61_000, () => departed.get('peer-2'))).to.equal(undefined)
    departed.note('peer-3', 'todos-app', GOODBYE)
    expect(later(61_000, () => [...departed])).to.deep.equal([])
  })

  it('keep the last hundred, a peer noted again counting as its last departure', () => {
    const departed = new Departures()
    for (let i = 0; i < 150; i++) departed.note(`peer-${i}`, 'todos-app', GOODBYE)
    departed.note('peer-60', 'todos-app', 'its connection closed')
    const kept = [...departed.keys()]
    expect(kept).to.have.length(100)
    expect(kept[0]).to.equal('peer-50')
    expect(kept[kept.length - 1]).to.equal('peer-60')
  })
})

describe('membership: refusals', () => {
  it('a refusal noted under a uuid (an unauthenticated claim) goes once that app is admitted', () => {
    const members = membership(stubTransport(true))
    const warn = console.warn
    console.warn = () => undefined
    try {
      members.refuse('peer', 'peer-app', 'sends unsealed messages (it has no mesh secret)')
    } finally {
      console.warn = warn
    }
    expect(members.refused.has('peer')).to.equal(true)
    members.onAnnounce({ v: PROTOCOL_VERSION, type: 'announce', from: 'peer', key: 'peer-app', seq: 1, services: [] })
    expect([members.peers.has('peer'), members.refused.has('peer')]).to.deep.equal([true, false])
  })
})
