import createDebug from 'debug'
import { Socket } from 'net'
import { performance } from 'perf_hooks'
import type { Endpoint } from './discovery'
import { CONNECT_TIMEOUT, KINDS, retryDelay, STEADY_LINK, UNDISCOVERED_ATTEMPTS } from './link-state'
import type { Attempt, Connector, Kind, LinkHandlers, Peer } from './link-state'

const debug = createDebug('feathers-mesh:links')

export type { Connector, LinkHandlers, PeerInfo } from './link-state'

/**
 * This app's two connections to each peer discovery found: the requester's to its responder (calls)
 * and the subscriber's to its publisher (events). A peer is up only when both are open, so no proxy
 * is mounted before its events can arrive. A link that fails or drops is re-opened with bounded
 * back-off while discovery sees the peer, or while its other link is open. Discovery losing a peer whose links are open changes
 * nothing: the links and the heartbeats over them are the authority on a peer's health (a Redis
 * outage must not cut apps that already know each other).
 */
/** Idle time before TCP keepalive probes start on a link, in ms. */
export const KEEPALIVE_MS = 60_000

export class Links {
  private readonly peers = new Map<string, Peer>()
  private readonly owners = new WeakMap<Socket, string>()
  private closed = false

  constructor(
    private readonly uuid: string,
    private readonly connectors: Record<Kind, Connector>,
    private readonly handlers: LinkHandlers
  ) {}

  /** A peer to connect to: reported by discovery, or (`discovered` false) named by its own hello. */
  found(endpoint: Endpoint, discovered = true) {
    if (this.closed) return
    let peer = this.peers.get(endpoint.uuid)
    if (!peer) {
      peer = { endpoint, sockets: {}, connecting: {}, lost: false, discovered, attachedAt: {}, closedYoung: {} }
      this.peers.set(endpoint.uuid, peer)
    }
    // Links that are up, or an address the peer vouched for, say where the peer is: an advertisement
    // moving it (forged) is not followed; what else it says (hellos, stream tags) is taken.
    if (discovered) peer.endpoint = this.holding(peer) || peer.vouched ? { ...endpoint, host: peer.endpoint.host, calls: peer.endpoint.calls, events: peer.endpoint.events } : endpoint
    peer.discovered ||= discovered
    peer.lost = false
    for (const kind of KINDS) this.open(peer, kind, 0)
  }

  /**
   * Where a peer says it is, in a hello sealed by it (with a secret: discovery is forgeable, this is
   * not). Links opened to another address that no reply of the peer has proved yet (a forged
   * advertisement won the race, and its ports accept and never answer) are moved there.
   */
  vouchedBy(endpoint: Endpoint) {
    if (!this.peers.has(endpoint.uuid)) this.found(endpoint, false)
    const peer = this.peers.get(endpoint.uuid)
    // Links it proved stay; without any (its address changed, a DHCP renewal), its newer word counts.
    if (!peer || (peer.vouched && this.holding(peer))) return
    peer.vouched = true
    const { host, calls, events } = peer.endpoint
    if (host === endpoint.host && calls === endpoint.calls && events === endpoint.events) return
    debug('%s %s says it is at %s:%d/%d, not %s:%d/%d: its links move', this.short, endpoint.uuid.slice(0, 8), endpoint.host, endpoint.calls, endpoint.events, host, calls, events)
    peer.endpoint = { ...peer.endpoint, host: endpoint.host, calls: endpoint.calls, events: endpoint.events }
    this.stopConnecting(peer)
    // Closing them re-opens them (see detach), now to the address the peer named.
    for (const kind of KINDS) peer.sockets[kind]?.destroy()
    for (const kind of KINDS) this.open(peer, kind, 0)
  }

  /** A sealed reply from the peer opened on this calls link: the link reaches it. */
  proved(uuid: string, socket: Socket) {
    const peer = this.peers.get(uuid)
    if (peer && peer.sockets.calls === socket) peer.vouched = true
  }

  lost(uuid: string) {
    const peer = this.peers.get(uuid)
    if (!peer) return
    peer.lost = true
    this.stopConnecting(peer)
    if (this.linked(uuid)) return void debug('%s discovery lost %s; its open links stay in use', this.short, uuid.slice(0, 8))
    // With one link of two the peer is of no use, and that link may even reach an app that took its
    // ports (closing, it leaves through detach).
    for (const kind of KINDS) peer.sockets[kind]?.destroy()
    if (!peer.sockets.calls && !peer.sockets.events) this.peers.delete(uuid)
  }

  /**
   * The app answering at a peer's address is another one (the peer died, and an app started since
   * took its ports): close the links to it and stop connecting, whatever discovery still says.
   */
  forget(uuid: string) {
    const peer = this.peers.get(uuid)
    if (!peer) return
    debug('%s another app answers at the address of %s: its links close', this.short, uuid.slice(0, 8))
    peer.lost = true
    peer.discovered = false
    this.stopConnecting(peer)
    for (const kind of KINDS) peer.sockets[kind]?.destroy()
    this.peers.delete(uuid)
  }

  linked(uuid: string) {
    const peer = this.peers.get(uuid)
    return Boolean(peer?.sockets.calls && peer.sockets.events)
  }

  /** Whether one of the peer's links is open: it is alive, whatever discovery says. */
  private holding(peer: Peer) {
    return Boolean(peer.sockets.calls || peer.sockets.events)
  }

  endpoint(uuid: string): Endpoint | undefined {
    return this.peers.get(uuid)?.endpoint
  }

  /** Whether a peer takes our hellos for heartbeats, as far as we can tell: it says so, and discovery still sees it. */
  hearsHellos(uuid: string): boolean {
    const peer = this.peers.get(uuid)
    return peer !== undefined && !peer.lost && peer.endpoint.hellos === true
  }

  /** The peer a link was opened to (by its socket), while it is open. */
  peerOf(socket: Socket): string | undefined {
    return this.owners.get(socket)
  }

  /** An open connection to the peer's responder. */
  socketOf(uuid: string): Socket | undefined {
    const socket = this.peers.get(uuid)?.sockets.calls
    return socket?.writable ? socket : undefined
  }

  close() {
    this.closed = true
    for (const peer of this.peers.values()) this.stopConnecting(peer)
    this.peers.clear()
  }

  private get short() {
    return this.uuid.slice(0, 8)
  }

  private stopConnecting(peer: Peer) {
    for (const kind of KINDS) {
      const attempt = peer.connecting[kind]
      delete peer.connecting[kind]
      clearTimeout(attempt?.timer)
      attempt?.socket?.destroy()
    }
  }

  /**
   * Connects one link unless it is open or being opened. One attempt at a time, each bounded by
   * CONNECT_TIMEOUT; a failed one is tried again after a bounded back-off.
   */
  private open(peer: Peer, kind: Kind, attempt: number) {
    if (this.closed || (peer.lost && !this.holding(peer)) || peer.sockets[kind] || peer.connecting[kind]) return
    if (!peer.discovered && attempt >= UNDISCOVERED_ATTEMPTS) return this.lost(peer.endpoint.uuid)
    const { host, calls, events } = peer.endpoint
    const socket = new Socket()
    const entry: Attempt = { socket }
    peer.connecting[kind] = entry
    socket.setNoDelay(true)
    // An idle link carries nothing once hellos stand for heartbeats: keepalive probes (sent by the
    // kernel, no wake-up here) keep NAT and firewall entries alive and notice a dead path.
    socket.setKeepAlive(true, KEEPALIVE_MS)
    socket.setTimeout(CONNECT_TIMEOUT, () => socket.destroy())
    socket.on('error', (error) => debug('%s %s link to %s: %s', this.short, kind, peer.endpoint.uuid.slice(0, 8), error.message))
    socket.once('connect', () => {
      socket.setTimeout(0)
      if (peer.connecting[kind] === entry) delete peer.connecting[kind]
      this.attach(peer, kind, socket)
    })
    socket.once('close', () => {
      if (peer.connecting[kind] !== entry || entry.socket !== socket) return
      this.retry(peer, kind, attempt + 1)
    })
    socket.connect(kind === 'calls' ? calls : events, host)
  }

  /** Opens a link again after the back-off of its `attempt`. */
  private retry(peer: Peer, kind: Kind, attempt: number) {
    const entry: Attempt = {}
    peer.connecting[kind] = entry
    entry.timer = setTimeout(() => {
      if (peer.connecting[kind] === entry) delete peer.connecting[kind]
      if (this.peers.get(peer.endpoint.uuid) === peer) this.open(peer, kind, attempt)
    }, retryDelay(attempt))
    entry.timer.unref()
  }

  private attach(peer: Peer, kind: Kind, socket: Socket) {
    if (this.closed || this.peers.get(peer.endpoint.uuid) !== peer || peer.sockets[kind]) {
      socket.destroy()
      return
    }
    peer.sockets[kind] = socket
    peer.attachedAt[kind] = performance.now()
    this.owners.set(socket, peer.endpoint.uuid)
    this.connectors[kind].adopt(socket, peer.endpoint)
    socket.once('close', () => this.detach(peer, kind, socket))
    if (this.linked(peer.endpoint.uuid)) {
      const { uuid, key, version } = peer.endpoint
      this.handlers.up({ uuid, key, version })
    }
  }

  private detach(peer: Peer, kind: Kind, socket: Socket) {
    if (peer.sockets[kind] !== socket) return
    delete peer.sockets[kind]
    if (this.closed) return
    debug('%s %s link to %s closed', this.short, kind, peer.endpoint.uuid.slice(0, 8))
    if (kind === 'calls') this.handlers.down(peer.endpoint.uuid)
    // Only discovery vouches that a peer still exists: one known from its hello alone is not chased.
    if (!peer.discovered) peer.lost = true
    // Lost by discovery (a Redis outage, say) but its other link still open: the peer is alive, and
    // this link is re-opened to its last address, or its calls or events would stop until discovery
    // is back. Once no link is left, it is let go.
    if (peer.lost && !this.holding(peer)) {
      this.stopConnecting(peer)
      // (Unless forgotten and found again meanwhile: the entry is then another one.)
      if (this.peers.get(peer.endpoint.uuid) === peer) this.peers.delete(peer.endpoint.uuid)
      return
    }
    const young = performance.now() - (peer.attachedAt[kind] ?? 0) < STEADY_LINK
    const closedYoung = young ? (peer.closedYoung[kind] ?? 0) + 1 : 0
    peer.closedYoung[kind] = closedYoung
    if (closedYoung > 0) this.retry(peer, kind, closedYoung)
    else this.open(peer, kind, 0)
  }
}
