import createDebug from 'debug'
import type { Socket } from 'net'

const debug = createDebug('feathers-mesh:links')

export interface PeerInfo {
  uuid: string
  key: string
  version: number
}

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
    const reqSock = requester.sock
    // cote's subscriber wraps an axon sub-emitter, whose own `on` subscribes to topics: use the inner socket.
    const subSock = subscriber.sock.sock
    reqSock.on('connect', (socket: Socket) => {
      const node = this.nodeOfSocket(requester, socket)
      const peer = this.peerOf(node)
      if (!peer) return
      this.calls.set(socket, { uuid: peer.uuid, address: node.address, port: node.advertisement.port })
      this.maybeUp(peer)
    })
    reqSock.on('socket close', (socket: Socket) => {
      const link = this.calls.get(socket)
      this.calls.delete(socket)
      if (!link || this.closed) return
      debug('%s connection to %s closed', uuid.slice(0, 8), link.uuid.slice(0, 8))
      if (!this.hasCalls(link.uuid)) handlers.down(link.uuid)
      this.reconnect(link, 'calls')
    })
    subSock.on('connect', (socket: Socket) => {
      const node = this.nodeOfSocket(subscriber, socket)
      const peer = this.peerOf(node)
      if (!peer) return
      this.events.set(socket, { uuid: peer.uuid, address: node.address, port: node.advertisement.port })
      this.maybeUp(peer)
    })
    // cote's subscriber never reconnects: a dropped events link is re-opened here, like the calls link.
    subSock.on('socket close', (socket: Socket) => {
      const link = this.events.get(socket)
      this.events.delete(socket)
      if (!link || this.closed) return
      debug('%s events link to %s closed', uuid.slice(0, 8), link.uuid.slice(0, 8))
      this.reconnect(link, 'events')
    })
  }

  linked(peer: string) {
    return this.hasCalls(peer) && this.hasEvents(peer)
  }

  private hasEvents(peer: string) {
    for (const link of this.events.values()) if (link.uuid === peer) return true
    return false
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

  private hasCalls(peer: string) {
    for (const link of this.calls.values()) if (link.uuid === peer) return true
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

  private reconnect(link: Link, kind: 'calls' | 'events', attempt = 1) {
    const component = kind === 'calls' ? this.requester : this.subscriber
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (this.closed || !this.findNode(component, (peer) => peer.uuid === link.uuid)) return
      if (kind === 'calls' ? this.hasCalls(link.uuid) : this.hasEvents(link.uuid)) return
      component.sock.connect(link.port, link.address)
      this.reconnect(link, kind, attempt + 1) // checks again later; a success stops the loop there
    }, Math.min(50 * 2 ** attempt, 2000))
    timer.unref()
    this.timers.add(timer)
  }
}
