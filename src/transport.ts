import cote from 'cote'
import createDebug from 'debug'
import { EncodeError } from './codec'
import { Drops } from './drops'
import { deserialize, flush, guardMessages, serialize } from './frames'
import type { FrameSource } from './frames'
import type { Sealer } from './security'
import type { PublishedMessage, RequestMessage } from './protocol'

const debug = createDebug('feathers-mesh:transport')

/** The only module that knows cote. Everything above talks to this interface. */
export interface Transport {
  /** Resolves once this app can be reached (its responder is bound and advertised). */
  start(): Promise<void>
  publish(message: PublishedMessage): void
  request(peer: string, message: RequestMessage, timeout: number): Promise<unknown>
  /** Messages dropped so far, by reason. */
  readonly drops: Record<string, number>
  /** Whether both links to a peer (calls and events) are open. */
  linked(peer: string): boolean
  /** Rejects every pending request to a peer (it left or died). */
  abandon(peer: string, reason: string): void
  close(): Promise<void>
}

export interface TransportHandlers {
  onPublished(message: PublishedMessage): void
  onRequest(message: RequestMessage): Promise<unknown>
  onPeerUp(peer: { uuid: string; key: string; version: number }): void
  onPeerDown(uuid: string): void
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
}

/** Why a request failed below the Feathers layer; the caller maps it to a Feathers error. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'peer-gone' | 'closed' | 'encode' | 'too-large'
  ) {
    super(message)
  }
}

const COTE_KEY = 'feathers-mesh'
const TOPIC = 'mesh'
const REQUEST_TYPE = 'mesh'

interface Pending {
  peer: string
  id: string
  reject: (error: Error) => void
  timer?: NodeJS.Timeout
}

/** cote transport: one responder (addressed by this app's uuid), one requester, one publisher, one subscriber. */
export function createCoteTransport(options: TransportOptions, handlers: TransportHandlers): Transport {
  const { uuid } = options
  const short = uuid.slice(0, 8)
  // cote logs every frame it does not handle; ours are handled below its level.
  const discovery = { logUnknownEvents: false, ...options.cote }
  const mesh = { uuid, key: options.key, version: options.version }
  const pending = new Set<Pending>()
  const drops = new Drops(short)
  const { sealer } = options
  const source: FrameSource = {}
  let closed = false

  /** A connection that sends what no mesh peer would is cut: a flood then costs one frame per connection. */
  function refuseConnection() {
    source.current?.destroy()
  }

  /** Text of a frame addressed to us (`to` is our uuid, or `*` when published), or undefined when dropped. */
  function open(frame: unknown, to: string, origin: string): string | undefined {
    if (typeof frame !== 'string') {
      refuseConnection()
      return void drops.note('not a text frame', origin)
    }
    if (!sealer) {
      if (!frame.startsWith('S1.')) return frame
      refuseConnection()
      const partition = frame.slice(3, frame.indexOf('.', 3))
      drops.note('sealed, and this app has no secret', origin)
      return void safely('refused', () => handlers.onRefused(`sealed:${partition}`, partition, 'seals its messages with a mesh secret this app does not have'))
    }
    const opened = sealer.open(frame, to === '*' ? uuid : to)
    if (opened.ok) return opened.text
    // A replay or a stale frame can come from a real peer's connection: only unauthenticated frames cut it.
    if (opened.from === undefined) refuseConnection()
    drops.note(opened.reason, opened.from ?? origin)
    if (opened.reason === 'not sealed') {
      // For the operator only: who sent it is a claim, not a proof.
      const claim = /"from":"([^"]{1,64})","key":"([^"]{1,128})"/.exec(frame.slice(0, 300))
      if (claim) safely('refused', () => handlers.onRefused(claim[1], claim[2], 'sends unsealed messages (it has no mesh secret)'))
    } else if (opened.reason === 'unknown secret') {
      const partition = frame.slice(3, frame.indexOf('.', 3))
      safely('refused', () => handlers.onRefused(`sealed:${partition}`, partition, 'seals its messages with another mesh secret'))
    }
    return undefined
  }
  const seal = (text: string, to: string) => (sealer ? sealer.seal(text, to) : text)

  const responder = new cote.Responder({ name: `feathers-mesh responder ${short}`, key: COTE_KEY, respondsTo: [REQUEST_TYPE], subset: uuid, mesh, port: options.ports[0] } as any, discovery)
  const requester = new cote.Requester({ name: `feathers-mesh requester ${short}`, key: COTE_KEY, requests: [REQUEST_TYPE] } as any, discovery)
  const publisher = new cote.Publisher({ name: `feathers-mesh publisher ${short}`, key: COTE_KEY, broadcasts: [TOPIC], mesh, port: options.ports[1] } as any, discovery)
  const subscriber = new cote.Subscriber({ name: `feathers-mesh subscriber ${short}`, key: COTE_KEY, subscribesTo: [TOPIC] } as any, discovery)
  const components = [requester, subscriber, publisher, responder]

  // Requests are text frames addressed to one peer's socket; cote's own handlers ignore them (no `type`).
  ;(responder as any).sock.on('message', (payload: unknown, reply: (err: null, text: string) => void) => {
    if (typeof reply !== 'function') return
    const text = open(payload, uuid, 'a requester')
    if (text === undefined) return
    let message: RequestMessage
    try {
      message = deserialize(text) as RequestMessage
    } catch (error) {
      refuseConnection()
      return drops.note('undecodable', 'a requester', (error as Error).message)
    }
    const answer = (value: unknown) => reply(null, seal(serializeReply(value, options.maxPayload), String(message?.from)))
    handlers.onRequest(message).then(answer, (error) => {
      // Handlers turn service errors into replies; reaching here is a bug, but never leave the caller hanging.
      debug('%s request handler failed: %O', short, error)
      answer({ ok: false, error: { name: 'GeneralError', message: String(error?.message ?? error), code: 500, className: 'general-error' } })
    })
  })

  subscriber.on(TOPIC, (payload: unknown) => {
    const text = open(payload, '*', 'a publisher')
    if (text === undefined) return
    try {
      handlers.onPublished(deserialize(text) as PublishedMessage)
    } catch (error) {
      debug('%s dropped a published message: %O', short, error)
    }
  })

  // A peer is up once the requester holds a connection to its responder; a closed connection
  // fails its pending calls at once and is re-opened while discovery still sees the peer.
  const reqSock = (requester as any).sock
  const socketPeers = new Map<unknown, { uuid: string; address: string; port: number }>()
  const timers = new Set<NodeJS.Timeout>()

  // Events flow only once our subscriber is connected to the peer's publisher: a peer counts as up
  // when both links exist, so no proxy is mounted before its events can arrive.
  const subscribedTo = new Set<string>()

  function findNode(component: unknown, match: (peer: typeof mesh, node: any) => boolean) {
    const nodes = Object.values(((component as any).discovery?.nodes ?? {}) as Record<string, any>)
    return nodes.find((node) => node.advertisement?.mesh && match(node.advertisement.mesh, node))
  }
  const nodeOfSocket = (component: unknown, socket: import('net').Socket) =>
    findNode(component, (_peer, n) => n.advertisement.port === socket.remotePort && (n.address === socket.remoteAddress || `::ffff:${n.address}` === socket.remoteAddress))
  const requesterLinked = (peerUuid: string) => [...socketPeers.values()].some((p) => p.uuid === peerUuid)
  const peerUp = (peer: typeof mesh) => {
    if (requesterLinked(peer.uuid) && subscribedTo.has(peer.uuid)) safely('peer-up', () => handlers.onPeerUp(peer))
  }

  reqSock.on('connect', (socket: import('net').Socket) => {
    const node = nodeOfSocket(requester, socket)
    const peer = node?.advertisement.mesh
    if (!peer || typeof peer.uuid !== 'string' || peer.uuid === uuid) return
    socketPeers.set(socket, { uuid: peer.uuid, address: node.address, port: node.advertisement.port })
    peerUp(peer)
  })

  // cote's subscriber wraps an axon sub-emitter, whose own `on` subscribes to topics: listen on the inner socket.
  const subSock = (subscriber as any).sock.sock
  const subscriptions = new Map<unknown, string>()
  subSock.on('connect', (socket: import('net').Socket) => {
    const peer = nodeOfSocket(subscriber, socket)?.advertisement.mesh
    if (!peer || typeof peer.uuid !== 'string' || peer.uuid === uuid) return
    subscriptions.set(socket, peer.uuid)
    subscribedTo.add(peer.uuid)
    peerUp(peer)
  })
  subSock.on('socket close', (socket: unknown) => {
    const peerUuid = subscriptions.get(socket)
    subscriptions.delete(socket)
    if (peerUuid && ![...subscriptions.values()].includes(peerUuid)) subscribedTo.delete(peerUuid)
  })

  reqSock.on('socket close', (socket: unknown) => {
    const peer = socketPeers.get(socket)
    socketPeers.delete(socket)
    if (!peer || closed) return
    debug('%s connection to %s closed', short, peer.uuid.slice(0, 8))
    // Calls in flight on a closed connection will never be answered: fail them now, not at the timeout.
    if (!requesterLinked(peer.uuid)) abandonPeer(peer.uuid, 'the connection to the replica closed')
    safely('peer-down', () => handlers.onPeerDown(peer.uuid))
    reconnect(peer)
  })

  /** Re-opens a dropped connection while discovery still sees the peer, with bounded back-off. */
  function reconnect(peer: { uuid: string; address: string; port: number }, attempt = 1) {
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (closed || !findNode(requester, (p) => p.uuid === peer.uuid)) return
      if (requesterLinked(peer.uuid)) return
      reqSock.connect(peer.port, peer.address)
      reconnect(peer, attempt + 1) // checks again later; a success stops the loop there
    }, Math.min(50 * 2 ** attempt, 2000))
    timer.unref()
    timers.add(timer)
  }

  requester.on('cote:removed', (node: { advertisement: { mesh?: typeof mesh } }) => {
    const peer = node.advertisement.mesh
    if (!peer || peer.uuid === uuid) return
    safely('peer-down', () => handlers.onPeerDown(peer.uuid))
  })

  function safely(what: string, action: () => void) {
    try {
      action()
    } catch (error) {
      debug('%s %s handler failed: %O', short, what, error)
    }
  }

  function abandonPeer(peer: string, reason: string) {
    for (const entry of [...pending]) {
      if (entry.peer !== peer) continue
      settle(entry)
      entry.reject(new TransportError(reason, 'peer-gone'))
    }
  }

  // Bytes from the network must never throw out of a socket callback and crash the process.
  const pubSock = (publisher as any).sock.sock
  for (const sock of [reqSock, (responder as any).sock, subSock, pubSock]) guardMessages(sock, short, source)
  let dropped = 0

  function settle(entry: Pending) {
    pending.delete(entry)
    if (entry.timer) clearTimeout(entry.timer)
    // Forget the request inside axon too, or its callback table grows forever.
    delete reqSock.callbacks[entry.id]
  }

  function socketOf(peer: string): import('net').Socket | undefined {
    for (const [socket, link] of socketPeers) if (link.uuid === peer && (socket as import('net').Socket).writable) return socket as import('net').Socket
    return undefined
  }

  return {
    start() {
      return new Promise((resolve) => {
        const sock = (responder as any).sock
        const bound = () => {
          // Accepted sockets lack TCP_NODELAY: small replies would wait on Nagle's algorithm.
          sock.server?.on('connection', (socket: import('net').Socket) => socket.setNoDelay(true))
          ;(publisher as any).sock.sock.server?.on('connection', (socket: import('net').Socket) => socket.setNoDelay(true))
          resolve()
        }
        if (sock.server?.listening) bound()
        else sock.once('bind', bound)
      })
    },

    publish(message) {
      if (closed || !pubSock.ready) return
      let text: string
      try {
        text = serialize(message)
      } catch (error) {
        debug('%s %s not published: %s', short, message.type, (error as Error).message)
        return
      }
      if (options.maxPayload > 0 && text.length > options.maxPayload) {
        debug('%s %s of %d bytes not published: over maxPayload', short, message.type, text.length)
        return
      }
      const frame = pubSock.pack([`message::${TOPIC}`, seal(text, '*')])
      for (const socket of pubSock.socks as import('net').Socket[]) {
        if (!socket.writable) continue
        // A subscriber that does not keep up loses messages rather than growing our memory.
        if (socket.writableLength > options.maxBacklog) {
          if (dropped++ % 1000 === 0) debug('%s dropped %d message(s) to a slow subscriber', short, dropped)
          continue
        }
        socket.write(frame)
      }
    },

    request(peer, message, timeout) {
      if (closed) return Promise.reject(new TransportError('the mesh is closed', 'closed'))
      let text: string
      try {
        text = serialize(message)
      } catch (error) {
        return Promise.reject(new TransportError((error as Error).message, error instanceof EncodeError ? 'encode' : 'encode'))
      }
      if (options.maxPayload > 0 && text.length > options.maxPayload) {
        return Promise.reject(new TransportError(`the message is ${text.length} bytes, over maxPayload (${options.maxPayload})`, 'too-large'))
      }
      const socket = socketOf(peer)
      if (!socket) return Promise.reject(new TransportError('no open connection to the replica', 'peer-gone'))
      return new Promise((resolve, reject) => {
        const entry: Pending = { peer, id: reqSock.id(), reject }
        reqSock.callbacks[entry.id] = (err: unknown, reply: unknown) => {
          // A reply that does not open leaves the call pending: a forged reply must not settle it.
          const text = err ? undefined : open(reply, uuid, peer)
          if (!err && text === undefined) return
          settle(entry)
          if (err) return reject(new TransportError(String((err as any)?.message ?? err), 'peer-gone'))
          try {
            resolve(deserialize(text))
          } catch (error) {
            reject(new TransportError(`undecodable reply: ${(error as Error).message}`, 'peer-gone'))
          }
        }
        if (timeout > 0) {
          entry.timer = setTimeout(() => {
            settle(entry)
            reject(new TransportError(`no reply within ${timeout} ms`, 'timeout'))
          }, timeout)
          entry.timer.unref()
        }
        pending.add(entry)
        socket.write(reqSock.pack([seal(text, peer), entry.id]))
      })
    },

    drops: drops.counts,

    linked(peer) {
      return requesterLinked(peer) && subscribedTo.has(peer)
    },

    abandon: abandonPeer,

    async close() {
      if (closed) return
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      await flush([...(responder as any).sock.socks, ...pubSock.socks])
      for (const entry of [...pending]) {
        settle(entry)
        entry.reject(new TransportError('the mesh is closed', 'closed'))
      }
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

function serializeReply(value: unknown, maxPayload: number): string {
  try {
    const text = serialize(value)
    if (maxPayload === 0 || text.length <= maxPayload) return text
    return serialize({ ok: false, error: { name: 'PayloadTooLarge', message: `the reply is ${text.length} bytes, over maxPayload (${maxPayload})`, code: 413, className: 'payload-too-large' } })
  } catch (error) {
    return serialize({ ok: false, error: { name: 'GeneralError', message: `the reply cannot be sent: ${(error as Error).message}`, code: 500, className: 'general-error' } })
  }
}
