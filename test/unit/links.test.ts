import { expect } from 'chai'
import net from 'net'
import type { AddressInfo } from 'net'
import { Links } from '../../src/links'
import { waitFor } from '../helpers/mesh'

/**
 * Links over real loopback sockets, to two local servers standing for a peer's responder and
 * publisher: what discovery losing a peer does to its links, with both up and with one.
 */
describe('links', function () {
  const servers: net.Server[] = []
  const accepted: net.Socket[] = []
  let links: Links | undefined

  async function listen(): Promise<net.Server> {
    const server = net.createServer((socket) => accepted.push(socket))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return server
  }
  const portOf = (server: net.Server) => (server.address() as AddressInfo).port

  /** Links of this process to a peer whose responder and publisher are `calls` and `events`. */
  async function linkedPeer() {
    const [calls, events] = [await listen(), await listen()]
    const adopted: Record<'calls' | 'events', net.Socket[]> = { calls: [], events: [] }
    const ups: string[] = []
    links = new Links('me', { calls: { adopt: (socket) => adopted.calls.push(socket) }, events: { adopt: (socket) => adopted.events.push(socket) } }, { up: (peer) => ups.push(peer.uuid), down: () => undefined })
    links.found({ uuid: 'peer', key: 'todos', version: 1, host: '127.0.0.1', calls: portOf(calls), events: portOf(events) })
    await waitFor(() => links!.linked('peer'), 2000, 'both links')
    expect(ups).to.deep.equal(['peer'])
    return { calls, events, adopted }
  }
  const open = (sockets: net.Socket[]) => sockets.filter((socket) => !socket.destroyed)

  afterEach(async () => {
    links?.close()
    links = undefined
    accepted.splice(0).forEach((socket) => socket.destroy())
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
  })

  it('keeps both links of a peer that discovery lost (they, not discovery, say whether it is alive)', async () => {
    const { adopted } = await linkedPeer()
    links!.lost('peer')
    await new Promise((resolve) => setImmediate(resolve))
    expect(links!.linked('peer')).to.equal(true)
    expect(open(adopted.calls)).to.have.length(1)
    expect(open(adopted.events)).to.have.length(1)
  })

  it('closes the one link left of a peer that discovery lost: it cannot be used, and may reach another app', async () => {
    const { events, adopted } = await linkedPeer()
    // The publisher goes away: its link closes, and reconnecting is refused.
    const eventsPort = portOf(events)
    servers.splice(servers.indexOf(events), 1)
    const closed = new Promise((resolve) => events.close(resolve))
    accepted.filter((socket) => socket.localPort === eventsPort).forEach((socket) => socket.destroy())
    await closed
    await waitFor(() => open(adopted.events).length === 0, 2000, 'the events link to close')
    expect(links!.linked('peer')).to.equal(false)
    expect(open(adopted.calls)).to.have.length(1)
    links!.lost('peer')
    expect(open(adopted.calls)).to.have.length(0)
    await waitFor(() => links!.endpoint('peer') === undefined, 2000, 'the peer to be forgotten once its link closed')
  })

  it('re-opens a link that drops while discovery has lost the peer, as long as its other link is open', async () => {
    const { events, adopted } = await linkedPeer()
    links!.lost('peer') // a Redis outage: discovery sees nobody, the links stay
    accepted.filter((socket) => socket.localPort === portOf(events)).forEach((socket) => socket.destroy())
    await waitFor(() => open(adopted.events).length === 1 && adopted.events.length === 2, 3000, 'the events link to be opened again')
    expect(links!.linked('peer')).to.equal(true)
  })

  it('ignores an advertisement that moves a peer whose links are open: a forged one must not redirect them', async () => {
    const { calls } = await linkedPeer()
    links!.found({ uuid: 'peer', key: 'todos', version: 1, host: '127.0.0.2', calls: 1, events: 2 })
    expect(links!.endpoint('peer')).to.include({ host: '127.0.0.1', calls: portOf(calls) })
  })

  it('forgets a peer whose address another app answers at: its links close, and it is no longer known', async () => {
    const { adopted } = await linkedPeer()
    links!.forget('peer')
    expect(open(adopted.calls)).to.have.length(0)
    expect(open(adopted.events)).to.have.length(0)
    expect(links!.endpoint('peer'), 'the peer, forgotten').to.equal(undefined)
    expect(links!.linked('peer')).to.equal(false)
  })

  it('re-opens a link that keeps closing young after 100 ms, doubling up to 2 s; a steady link that closes is re-opened at once', async function () {
    this.timeout(30_000)
    // The peer's responder cuts every connection as soon as it is made (as an app that took a dead peer's ports does).
    let cutting = true
    const opened: number[] = []
    const calls = net.createServer((socket) => {
      opened.push(performance.now())
      if (cutting) socket.destroy()
      else accepted.push(socket)
    })
    servers.push(calls)
    await new Promise<void>((resolve) => calls.listen(0, '127.0.0.1', resolve))
    const events = await listen()
    links = new Links('me', { calls: { adopt: () => undefined }, events: { adopt: () => undefined } }, { up: () => undefined, down: () => undefined })
    links.found({ uuid: 'peer', key: 'todos', version: 1, host: '127.0.0.1', calls: portOf(calls), events: portOf(events) })
    await waitFor(() => opened.length === 8, 15_000, 'eight connections', 5)
    const gaps = opened.slice(1).map((at, i) => at - opened[i])
    const backOff = [100, 200, 400, 800, 1600, 2000, 2000]
    // Timers never fire early; a busy machine only makes them late. Uncapped, the last two would be 3.2 s and 6.4 s.
    gaps.forEach((gap, i) => expect(gap, `gap ${i + 1} of ${gaps.map(Math.round).join(', ')} ms`).to.be.at.least(backOff[i] * 0.95))
    expect(gaps[6], 'the cap of 2 s').to.be.below(4000)
    // Once a link has stayed up a while (1 s), its closing is not the loop above: it is re-opened at once.
    cutting = false
    await waitFor(() => accepted.some((socket) => socket.localPort === portOf(calls)), 5000, 'a link that stays')
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const before = opened.length
    const cutAt = performance.now()
    accepted.filter((socket) => socket.localPort === portOf(calls)).forEach((socket) => socket.destroy())
    await waitFor(() => opened.length > before, 3000, 'the link re-opened', 5)
    // Taken for young, it would wait the 2 s its seven young closes reached.
    expect(opened[before] - cutAt, 'ms to re-open a steady link').to.be.below(1000)
  })

  it("a later sealed hello naming the peer's new address is followed once its links at the old one are gone", async () => {
    const [calls, events] = [await listen(), await listen()]
    links = new Links('me', { calls: { adopt: () => undefined }, events: { adopt: () => undefined } }, { up: () => undefined, down: () => undefined })
    const peer = { uuid: 'peer', key: 'todos', version: 1, host: '127.0.0.1', calls: portOf(calls), events: portOf(events) }
    links.found(peer)
    links.vouchedBy(peer) // its first sealed hello
    await waitFor(() => links!.linked('peer'), 2000, 'both links')
    // The peer's servers move (same process, same uuid: new ports here, a new DHCP address in life).
    for (const server of [calls, events]) server.close()
    accepted.splice(0).forEach((socket) => socket.destroy())
    await waitFor(() => !links!.linked('peer'), 2000, 'links closed')
    const [calls2, events2] = [await listen(), await listen()]
    const moved = { ...peer, calls: portOf(calls2), events: portOf(events2) }
    links.found(moved) // discovery
    links.vouchedBy(moved) // and its own sealed hello
    await waitFor(() => links!.linked('peer'), 3000, 'links at the address its latest sealed hello names')
    expect(links.endpoint('peer')?.calls).to.equal(moved.calls)
  })
})
