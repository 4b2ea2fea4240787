import cote from 'cote'
import createDebug from 'debug'
import { Drops } from './drops'
import { adopter, bound, maxPartFor, ownFraming, tuneAccepted } from './axon-sockets'
import { createAnswers } from './answers'
import { flush } from './frames'
import type { FrameSource } from './frames'
import { createGate } from './gate'
import { startDiscovery } from './discovery'
import type { MeshDiscovery } from './discovery'
import { KEEPALIVE_MS, Links } from './links'
import type { PeerInfo } from './links'
import { createPublished } from './published'
import { RequestLedger } from './ledger'
import { createRequests, TransportError } from './requests'
import type { Sealer } from './security'
import { tagFields } from './stream-fields'
import type { StreamTag } from './streams'
import type { HelloMessage, PublishedMessage, RequestMessage } from './protocol'
import type { Wiring } from './wiring'

export { TransportError }

const debug = createDebug('feathers-mesh:transport')

/** The only module that knows cote. Everything above talks to this interface. */
export interface Transport {
  /** Resolves once this app can be reached (its responder is bound and advertised). */
  start(): Promise<void>
  /** False when it cannot be sent (unencodable, over maxPayload, the mesh closed). */
  publish(message: PublishedMessage): boolean
  request(peer: string, message: RequestMessage, timeout: number): Promise<unknown>
  /** Messages dropped so far, by reason. */
  readonly drops: Record<string, number>
  /** Whether both links to a peer (calls and events) are open. */
  linked(peer: string): boolean
  /** Resolves when this app's own calls in flight have settled, or after `ms`. */
  idle(ms: number): Promise<void>
  /** TCP ports this app's servers listen on. */
  ports(): { responder: number; publisher: number }
  /** The host this app reaches a peer on. */
  hostOf(peer: string): string | undefined
  /** How this app finds its peers, and whether that works right now. */
  discovery(): DiscoveryState
  /** Rejects every pending request to a peer (it left or died). */
  abandon(peer: string, reason: string): void
  /** Another app answers at a peer's address: its links close, and are not opened again. */
  forget(peer: string): void
  /** Whether a peer takes our discovery hellos for heartbeats (its advertisement says so). */
  hearsHellos(peer: string): boolean
  close(): Promise<void>
}

export interface DiscoveryState {
  mode: 'broadcast' | 'redis'
  connected: boolean
  /** Apps discovery sees now (their links, not discovery, decide whether they are in use). */
  seen: number
  /** Discovery hellos heard from other apps since start. */
  heard: number
}

export interface TransportHandlers {
  onPublished(message: PublishedMessage): void
  onRequest(message: RequestMessage): Promise<unknown>
  onPeerUp(peer: PeerInfo): void
  onPeerDown(uuid: string): void
  /** A discovery hello of a peer, standing for a heartbeat (only with `hellos` set). */
  onPeerSeen?(uuid: string, seq: number | undefined): void
  /** A frame was refused for lack of (or a different) secret; `from` and `key` are unauthenticated hints. */
  onRefused(from: string, key: string, reason: string): void
}

export interface TransportOptions {
  uuid: string
  key: string
  version: number
  cote: Record<string, unknown>
  /** Bytes a subscriber may lag behind before messages to it are dropped. */
  maxBacklog: number
  /** Largest message sent, in bytes (0: no limit). */
  maxPayload: number
  /** Seals and opens every frame when the mesh has a secret. */
  sealer?: Sealer
  /** Ports of the responder and the publisher. */
  ports: [number, number]
  /** Redis URL: discovery through Redis instead of UDP broadcast. */
  redis?: string
  /** Host or address peers use to reach this app. */
  advertise?: string
  /** Discovery hellos stand for heartbeats, and carry this app's list number. */
  hellos?: { seq: () => number }
  /** Seal on streams (1.3) to the peers that say they open them. Off only to stand in for an older app. */
  streams?: boolean
  /** The newest kind of stream frame tag to open and send (`poly1305`, 1.5, by default); `sha256` and `sha3-256` stand in for apps of 1.4 and 1.3. */
  streamTag?: StreamTag
}

const COTE_KEY = 'feathers-mesh'

// Components without discovery of their own: the app runs one (discovery.ts) and connects the links itself.
const quiet = <T extends new (...args: any[]) => any>(Component: T) =>
  class extends Component {
    startDiscovery() {}
  }
const BIND_WAIT = 2_000 // ms a closing transport waits for a server still binding
const TOPIC = 'mesh'
const REQUEST_TYPE = 'mesh'

/** cote transport: one responder (addressed by this app's uuid), one requester, one publisher, one subscriber. */
export function createCoteTransport(options: TransportOptions, handlers: TransportHandlers): Transport {
  const { uuid, sealer } = options
  const short = uuid.slice(0, 8)
  // cote logs every frame it does not handle; ours are handled below its level.
  const unlogged = { logUnknownEvents: false }
  let discovery: MeshDiscovery | undefined
  const drops = new Drops(short)
  const source: FrameSource = {}
  let closed = false

  const safely = (what: string, action: () => void) => {
    try {
      action()
    } catch (error) {
      debug('%s %s handler failed: %O', short, what, error)
    }
  }
  const streams = options.streams !== false
  const streamTag: StreamTag = options.streamTag ?? 'poly1305'
  const wiring: Wiring = {
    uuid, short, options, drops, sealer, streams, streamTag, ledger: new RequestLedger(),
    // (Frames only arrive once `links` exists.)
    gate: createGate(sealer, uuid, drops, source, (from, key, reason) => safely('refused', () => handlers.onRefused(from, key, reason)), (peer) => links.forget(peer))
  }

  const responder = new (quiet(cote.Responder))({ name: `feathers-mesh responder ${short}`, key: COTE_KEY, respondsTo: [REQUEST_TYPE], port: options.ports[0] }, unlogged)
  const requester = new (quiet(cote.Requester))({ name: `feathers-mesh requester ${short}`, key: COTE_KEY, requests: [REQUEST_TYPE] }, unlogged)
  const publisher = new (quiet(cote.Publisher))({ name: `feathers-mesh publisher ${short}`, key: COTE_KEY, broadcasts: [TOPIC], port: options.ports[1] }, unlogged)
  const subscriber = new (quiet(cote.Subscriber))({ name: `feathers-mesh subscriber ${short}`, key: COTE_KEY, subscribesTo: [TOPIC] }, unlogged)
  const components = [requester, subscriber, publisher, responder]
  const reqSock = (requester as any).sock
  // cote's subscriber wraps an axon sub-emitter, whose own `on` subscribes to topics: connect its inner socket.
  const subSock = (subscriber as any).sock.sock
  const pubSock = (publisher as any).sock.sock
  const repSock = (responder as any).sock

  const published = createPublished(wiring, pubSock, (message) => handlers.onPublished(message), { peerOf: (socket) => links.peerOf(socket), forget: (peer) => links.forget(peer) })
  const events = adopter(subSock)
  const links: Links = new Links(
    uuid,
    {
      calls: adopter(reqSock),
      events: {
        adopt(socket, endpoint) {
          events.adopt(socket, endpoint)
          published.greet(socket, endpoint)
        }
      }
    },
    {
      up: (peer) => safely('peer-up', () => handlers.onPeerUp(peer)),
      down: (peer) => {
        // Calls in flight on a closed connection will never be answered: fail them now, not at the timeout.
        requests.abandon(peer, 'the connection to the replica closed')
        wiring.ledger.forgetSent(peer)
        safely('peer-down', () => handlers.onPeerDown(peer))
      }
    }
  )
  const flushPublished = () => published.flush()
  const requests = createRequests(wiring, { links, ownEndpoint, flushPublished })

  const framing = { short, maxPart: maxPartFor(options.maxPayload), drops, source }
  ownFraming(repSock, framing, createAnswers(wiring, { links, source, flushPublished, onRequest: (message) => handlers.onRequest(message) }))
  ownFraming(reqSock, framing, requests.onReplyFrame)
  ownFraming(subSock, framing, published.onPublishedFrame)
  ownFraming(pubSock, framing, published.onSubscriberFrame)

  function ownEndpoint(): HelloMessage['endpoint'] {
    const { responder: calls, publisher: events } = ports()
    const host = discovery?.host()
    const endpoint: HelloMessage['endpoint'] = host ? { calls, events, host } : { calls, events }
    if (streams) Object.assign(endpoint!, { streams: true }, tagFields(streamTag))
    return endpoint
  }

  function ports() {
    return { responder: repSock.server?.address()?.port ?? options.ports[0], publisher: pubSock.server?.address()?.port ?? options.ports[1] }
  }

  return {
    async start() {
      // Both servers bind in their own callbacks; the app is reachable once both listen.
      await Promise.all([bound(repSock), bound(pubSock)])
      if (closed) return
      for (const sock of [repSock, pubSock]) tuneAccepted(sock, KEEPALIVE_MS)
      const { responder: calls, publisher: events } = ports()
      discovery = startDiscovery(
        { uuid, key: options.key, version: options.version, calls, events, cote: options.cote, redis: options.redis, advertise: options.advertise, hellos: options.hellos, streams, streamTag },
        { found: (endpoint) => links.found(endpoint), lost: (peer) => !discovery?.endpoints().some((seen) => seen.uuid === peer) && links.lost(peer), seen: (peer, seq) => safely('peer-seen', () => handlers.onPeerSeen?.(peer, seq)), dropped: () => drops.note('malformed', 'discovery') }
      )
    },

    idle: (ms) => requests.idle(ms),

    ports,

    publish(message) {
      return !closed && published.publish(message)
    },

    request(peer, message, timeout) {
      if (closed) return Promise.reject(new TransportError('the mesh is closed', 'closed'))
      return requests.request(peer, message, timeout)
    },

    drops: drops.counts,

    linked: (peer) => links.linked(peer),

    abandon: (peer, reason) => requests.abandon(peer, reason),
    forget: (peer) => links.forget(peer),

    hearsHellos: (peer) => links.hearsHellos(peer),

    hostOf: (peer) => links.endpoint(peer)?.host,

    discovery: () => ({ mode: discovery?.mode ?? (options.redis ? 'redis' : 'broadcast'), connected: discovery?.connected ?? false, seen: discovery?.endpoints().length ?? 0, heard: discovery?.heard ?? 0 }),

    async close() {
      if (closed) return
      published.flush() // a goodbye published just before closing still leaves
      closed = true
      discovery?.close()
      links.close()
      requests.stopDeadlines()
      await flush([...repSock.socks, ...pubSock.socks])
      // A server still binding would open after close: wait for it (bounded), then close everything.
      await Promise.race([Promise.all([bound(repSock), bound(pubSock)]), new Promise((resolve) => setTimeout(resolve, BIND_WAIT).unref())])
      requests.close()
      for (const component of components) {
        try {
          component.close()
        } catch (error) {
          debug('%s closing a cote component failed: %O', short, error)
        }
      }
    }
  }
}
