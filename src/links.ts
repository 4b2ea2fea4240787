import createDebug from 'debug'
import type { Socket } from 'net'

const debug = createDebug('feathers-mesh:links')

export interface PeerInfo {
  uuid: string
  key: string
  version: number
}

type Kind = 'calls' | 'events'

interface Link {
  uuid: string
  address: string
  port: number
}

export interface LinkHandlers {
  /** Both links to the peer (calls and events) are open. */
  up(peer: PeerInfo): void
  /** The calls link to the peer closed (it may come back). */
  down(uuid: string): void
}

/**
 * Tracks this app's connections to each peer: the requester's to its responder (calls) and the
 * subscriber's to its publisher (events). A peer is up only when both are open, so no proxy is
 * mounted before its events can arrive; a calls link that drops is re-opened with bounded
 * back-off while discovery still sees the peer.
 */
export class Links {
  private readonly calls = new Map<Socket, Link>()
  private readonly events = new Map<Socket, Link>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private closed = false

  constructor(
    private readonly uuid: string,
    private readonly requester: any,
    private readonly subscriber: any,
    private readonly handlers: LinkHandlers
  ) {
    this.track('calls', requester, requester.sock)
    // cote's subscriber wraps an axon sub-emitter, whose own `on` subscribes to topics: use the inner
    // socket. cote never reconnects it: a dropped events link is re-opened here, like the calls link.
    this.track('events', subscriber, subscriber.sock.sock)
  }

  /** Records each connection of one kind by peer; a closed one is reported (calls) and re-opened. */
  private track(kind: Kind, component: any, sock: any) {
    const links = kind === 'calls' ? this.calls : this.events
    sock.on('connect', (socket: Socket) => {
      const node = this.nodeOfSocket(component, socket)
      const peer = this.peerOf(node)
      if (!peer) return
      links.set(socket, { uuid: peer.uuid, address: node.address, port: node.advertisement.port })
      this.maybeUp(peer)
    })
    sock.on('socket close', (socket: Socket) => {
      const link = links.get(socket)
      links.delete(socket)
      if (!link || this.closed) return
      debug('%s %s link to %s closed', this.uuid.slice(0, 8), kind, link.uuid.slice(0, 8))
      if (kind === 'calls' && !this.has(this.calls, link.uuid)) this.handlers.down(link.uuid)
      this.reconnect(link, kind)
    })
  }

  linked(peer: string) {
    return this.has(this.calls, peer) && this.has(this.events, peer)
  }

  /** An open connection to the peer's responder. */
  socketOf(peer: string): Socket | undefined {
    for (const [socket, link] of this.calls) if (link.uuid === peer && socket.writable) return socket
    return undefined
  }

  close() {
    this.closed = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }

  private has(links: Map<Socket, Link>, peer: string) {
    for (const link of links.values()) if (link.uuid === peer) return true
    return false
  }

  private maybeUp(peer: PeerInfo) {
    if (this.linked(peer.uuid)) this.handlers.up(peer)
  }

  private peerOf(node: any): PeerInfo | undefined {
    const peer = node?.advertisement?.mesh
    return peer && typeof peer.uuid === 'string' && peer.uuid !== this.uuid ? peer : undefined
  }

  private findNode(component: any, match: (peer: PeerInfo, node: any) => boolean) {
    const nodes = Object.values((component.discovery?.nodes ?? {}) as Record<string, any>)
    return nodes.find((node) => node.advertisement?.mesh && match(node.advertisement.mesh, node))
  }

  private nodeOfSocket(component: any, socket: Socket) {
    return this.findNode(
      component,
      (_peer, node) => node.advertisement.port === socket.remotePort && (node.address === socket.remoteAddress || `::ffff:${node.address}` === socket.remoteAddress)
    )
  }

  private reconnect(link: Link, kind: Kind, attempt = 1) {
    const component = kind === 'calls' ? this.requester : this.subscriber
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (this.closed || !this.findNode(component, (peer) => peer.uuid === link.uuid)) return
      if (this.has(kind === 'calls' ? this.calls : this.events, link.uuid)) return
      component.sock.connect(link.port, link.address)
      this.reconnect(link, kind, attempt + 1) // checks again later; a success stops the loop there
    }, Math.min(50 * 2 ** attempt, 2000))
    timer.unref()
    this.timers.add(timer)
  }
}
