import cote from 'cote'
import createDebug from 'debug'
import { Drops } from './drops'
import type { Socket } from 'net'
import { deserialize, flush, serialize } from './frames'
import type { FrameSource } from './frames'
import { joinText, textLength } from './json-pieces'
import type { Text } from './json-pieces'
import { createGate } from './gate'
import { isPort, startDiscovery } from './discovery'
import type { MeshDiscovery } from './discovery'
import { KEEPALIVE_MS, Links } from './links'
import type { Connector } from './links'
import { encodeFrame, FrameError, FrameReader } from './wire'
import { LARGE, largeBuffers } from './buffers'
import { Batch, write } from './outgoing'
import { Deadlines } from './deadlines'
import type { PeerInfo } from './links'
import type { Sealer } from './security'
import type { StreamTag } from './streams'
import type { HelloMessage, PublishedMessage, RequestMessage } from './protocol'

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
  /** Tag stream frames with SHA-256 (1.4, the default) for the peers that open them; `sha3-256` stands in for an app of 1.3. */
  streamTag?: StreamTag
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

// Components without discovery of their own: the app runs one (discovery.ts) and connects the links itself.
class QuietResponder extends cote.Responder {
  startDiscovery() {}
}
class QuietRequester extends cote.Requester {
  startDiscovery() {}
}
class QuietPublisher extends cote.Publisher {
  startDiscovery() {}
}
class QuietSubscriber extends cote.Subscriber {
  startDiscovery() {}
}
const BIND_WAIT = 2_000 // ms a closing transport waits for a server still binding

/** Resolves once an axon server socket listens. */
function bound(sock: any): Promise<void> {
  if (sock.server?.listening) return Promise.resolve()
  return new Promise((resolve) => sock.once('bind', () => resolve()))
}
const TOPIC = 'mesh'
const REQUEST_TYPE = 'mesh'

interface Pending {
  peer: string
  id: string
  socket: Socket
  reject: (error: Error) => void
  settle: (err: unknown, reply: unknown) => void
  /** When the call times out (performance.now() ms), if it has a timeout. */
  deadline?: number
  timeout?: number
}

// Topic of published frames, as cote's publisher names it (subscribers of plain cote can read them).
const PUBLISHED = 'message::mesh'
// Topic of a frame holding a JSON list of published messages (since protocol 1.1).
const PUBLISHED_BATCH = 'message::mesh-batch'
// The one frame a subscriber sends: it opens stream-sealed frames (since 1.3), or also those
// tagged with SHA-256 (since 1.4; sent only to a publisher that advertises them).
const OPENS_STREAMS = 'mesh-opens-streams'
const OPENS_SHA256 = 'mesh-opens-streams-sha256'
const FRAME_SLACK = 64 * 1024 // bytes of sealing and framing a part may add to maxPayload
const MAX_PART = 2 ** 31 - 1

/** cote transport: one responder (addressed by this app's uuid), one requester, one publisher, one subscriber. */
export function createCoteTransport(options: TransportOptions, handlers: TransportHandlers): Transport {
  const { uuid } = options
  const short = uuid.slice(0, 8)
  // cote logs every frame it does not handle; ours are handled below its level.
  const quiet = { logUnknownEvents: false }
  let discovery: MeshDiscovery | undefined
  const pending = new Map<string, Pending>()
  let lastId = 0
  const drops = new Drops(short)
  const { sealer } = options
  const source: FrameSource = {}
  let closed = false

  const gate = createGate(sealer, uuid, drops, source, (from, key, reason) => safely('refused', () => handlers.onRefused(from, key, reason)))
  const { open, seal } = gate
  const streams = options.streams !== false
  const sha256 = streams && options.streamTag !== 'sha3-256'
  /** The tag of a stream frame to a peer: SHA-256 when both sides speak 1.4. */
  const tagFor = (peerOpensSha256: boolean | undefined): StreamTag => (sha256 && peerOpensSha256 ? 'sha256' : 'sha3-256')
  const refuseConnection = () => source.current?.destroy()

  const responder = new QuietResponder({ name: `feathers-mesh responder ${short}`, key: COTE_KEY, respondsTo: [REQUEST_TYPE], port: options.ports[0] }, quiet)
  const requester = new QuietRequester({ name: `feathers-mesh requester ${short}`, key: COTE_KEY, requests: [REQUEST_TYPE] }, quiet)
  const publisher = new QuietPublisher({ name: `feathers-mesh publisher ${short}`, key: COTE_KEY, broadcasts: [TOPIC], port: options.ports[1] }, quiet)
  const subscriber = new QuietSubscriber({ name: `feathers-mesh subscriber ${short}`, key: COTE_KEY, subscribesTo: [TOPIC] }, quiet)
  const components = [requester, subscriber, publisher, responder]

  // A request frame is [sealed request, id]; its reply [null, sealed reply, id] goes back on the same socket.
  function onRequestFrame(socket: Socket, parts: unknown[]) {
    const [payload, id] = parts
    if (parts.length !== 2 || typeof id !== 'string') throw new FrameError('a request frame is [request, id]')
    const opened = open(payload, uuid, 'a requester', 'calls', id)
    if (opened === undefined) return
    // The reply goes the way the request came (a requester that seals on streams opens them, with
    // the tag it used), to the sender the request proved to be.
    const tag = streams ? gate.streamed(payload) : undefined
    const channel = tag ? 'replies' : undefined
    let message: RequestMessage
    try {
      message = deserialize(opened.text) as RequestMessage
    } catch (error) {
      refuseConnection()
      return drops.note('undecodable', 'a requester', (error as Error).message)
    }
    if (message?.type === 'hello') linkBack(message, socket)
    const answer = (value: unknown) => {
      // Events the call emitted leave before its reply, as they would without batching.
      published.flush()
      if (!socket.writable) return
      write(socket, encodeFrame([null, seal(serializeReply(value, options.maxPayload), opened.from ?? String(message?.from), channel, id, tag), id]))
    }
    handlers
      .onRequest(message)
      .then(answer, (error) => {
        // Handlers turn service errors into replies; reaching here is a bug, but never leave the caller hanging.
        debug('%s request handler failed: %O', short, error)
        answer({ ok: false, error: { name: 'GeneralError', message: String(error?.message ?? error), code: 500, className: 'general-error' } })
      })
      .catch((error) => debug('%s a reply could not be sent: %s', short, error?.message))
  }

  /** A peer that greets us before discovery reported it: connect to it now, at the address it names. */
  function linkBack(hello: HelloMessage, socket: Socket) {
    const endpoint = hello.endpoint
    if (!endpoint || typeof hello.from !== 'string' || hello.from === uuid || links.endpoint(hello.from)) return
    const host = typeof endpoint.host === 'string' && endpoint.host !== '' ? endpoint.host : socket.remoteAddress?.replace(/^::ffff:/, '')
    if (!host || host === '0.0.0.0' || !isPort(endpoint.calls) || !isPort(endpoint.events)) return
    links.found({ uuid: hello.from, key: String(hello.key), version: Number(hello.v), host, calls: endpoint.calls, events: endpoint.events, streams: endpoint.streams === true, sha256: endpoint.streams === true && endpoint.streamTag === 'sha256' }, false)
  }

  // A reply frame is [error, sealed reply, id].
  function onReplyFrame(socket: Socket, parts: unknown[]) {
    const [err, reply, id] = parts
    if (parts.length !== 3 || typeof id !== 'string') throw new FrameError('a reply frame is [error, reply, id]')
    const entry = pending.get(id)
    // Only the connection the request went out on may answer it.
    if (entry && entry.socket === socket) entry.settle(err, reply)
  }

  // A published frame is [topic, sealed message].
  function onPublishedFrame(_socket: Socket, parts: unknown[]) {
    const batched = parts[0] === PUBLISHED_BATCH
    if (parts.length !== 2 || (parts[0] !== PUBLISHED && !batched)) throw new FrameError('a published frame is [topic, message]')
    const opened = open(parts[1], '*', 'a publisher', 'events')
    if (opened === undefined) return
    let messages: unknown
    try {
      messages = deserialize(opened.text)
    } catch (error) {
      return drops.note('undecodable', 'a publisher', (error as Error).message)
    }
    if (!batched) return handleOne(messages)
    if (!Array.isArray(messages)) return drops.note('malformed', 'a publisher', 'a batch is not a list')
    for (const message of messages) handleOne(message)
  }

  function handleOne(message: unknown) {
    try {
      handlers.onPublished(message as PublishedMessage)
    } catch (error) {
      debug('%s dropped a published message: %O', short, error)
    }
  }

  const reqSock = (requester as any).sock
  const subSock = (subscriber as any).sock.sock
  // cote's subscriber wraps an axon sub-emitter, whose own `on` subscribes to topics: connect its inner socket.
  const events = adopter(subSock)
  const links = new Links(uuid, {
    calls: adopter(reqSock),
    events: {
      adopt(socket, endpoint) {
        events.adopt(socket, endpoint)
        // Only to a publisher that says it opens them too: one of 1.2 would cut the connection.
        if (streams && sealer && endpoint.streams) write(socket, encodeFrame([sha256 && endpoint.sha256 ? OPENS_SHA256 : OPENS_STREAMS]))
      }
    }
  }, {
    up: (peer) => safely('peer-up', () => handlers.onPeerUp(peer)),
    down: (peer) => {
      // Calls in flight on a closed connection will never be answered: fail them now, not at the timeout.
      abandonPeer(peer, 'the connection to the replica closed')
      safely('peer-down', () => handlers.onPeerDown(peer))
    }
  })

  function safely(what: string, action: () => void) {
    try {
      action()
    } catch (error) {
      debug('%s %s handler failed: %O', short, what, error)
    }
  }

  function abandonPeer(peer: string, reason: string) {
    for (const entry of [...pending.values()]) {
      if (entry.peer !== peer) continue
      settle(entry)
      entry.reject(new TransportError(reason, 'peer-gone'))
    }
  }

  const pubSock = (publisher as any).sock.sock
  const repSock = (responder as any).sock
  // The largest frame part a peer may send: a longer one is refused before it is buffered.
  // maxPayload counts characters: UTF-8 takes up to 3 bytes each, and sealing adds a header, an IV and a tag.
  const maxPart = options.maxPayload > 0 ? Math.min(MAX_PART, 3 * options.maxPayload + FRAME_SLACK) : MAX_PART
  ownFraming(repSock, onRequestFrame)
  ownFraming(reqSock, onReplyFrame)
  ownFraming(subSock, onPublishedFrame)
  // A subscriber of 1.3 says once that it opens stream-sealed frames (one of 1.4, with which tag);
  // nothing else may come this way.
  const opensStreams = new WeakMap<Socket, StreamTag>()
  ownFraming(pubSock, (socket, parts) => {
    if (parts.length === 1 && parts[0] === OPENS_STREAMS) return void opensStreams.set(socket, 'sha3-256')
    // (An app standing in for one of 1.3 does not know the word, as one of 1.3 would not.)
    if (parts.length === 1 && parts[0] === OPENS_SHA256 && sha256) return void opensStreams.set(socket, 'sha256')
    throw new FrameError(`a subscriber sent a frame (${socket.remoteAddress})`)
  })
  let dropped = 0

  // Messages published in one tick are sealed and sent as one frame: one seal, one open per receiver.
  const published = new Batch(options.maxPayload, options.maxBacklog, (texts) => {
    const receivers = (pubSock.socks as Socket[]).filter((socket) => {
      if (!socket.writable) return false
      // A subscriber that does not keep up loses messages rather than growing our memory.
      if (socket.writableLength > options.maxBacklog) {
        if (dropped++ % 1000 === 0) debug('%s dropped %d frame(s) to a slow subscriber', short, dropped)
        return false
      }
      return true
    })
    if (receivers.length === 0) return
    const topic = texts.length === 1 ? PUBLISHED : PUBLISHED_BATCH
    const text = texts.length === 1 ? texts[0] : `[${texts.map(joinText).join(',')}]`
    // On a stream only when every subscriber said it opens streams; otherwise everyone gets the
    // frame sealed on its own (older apps, one whose word has not arrived yet). One message never
    // travels in both forms: each form has its own replay check, so a copy of the other form, taken
    // from another subscriber's connection, would open once more.
    let everyOpens = true
    let everySha256 = true
    for (const socket of receivers) {
      const opens = opensStreams.get(socket)
      everyOpens &&= opens !== undefined
      everySha256 &&= opens === 'sha256'
    }
    const channel = streams && sealer && everyOpens ? 'events' : undefined
    const tag = tagFor(everySha256)
    const frame = encodeFrame([topic, seal(text, '*', channel, undefined, tag)])
    let writing = receivers.length
    const written = frame.length >= LARGE ? () => --writing === 0 && largeBuffers.give(frame) : undefined
    for (const socket of receivers) write(socket, frame, written)
  })

  /** Reads the frames of every connection of an axon socket here, instead of through amp. */
  function ownFraming(sock: any, onFrame: (socket: Socket, parts: unknown[]) => void) {
    sock.pack = encodeFrame
    // axon re-emits connection errors it does not ignore (a host that does not resolve...): unheard,
    // they would crash the process. The connection is already gone; links try again.
    sock.on('error', (error: Error) => debug('%s connection error: %s', short, error.message))
    sock.addSocket = function (socket: Socket) {
      sock.socks.push(socket)
      const reader = new FrameReader(maxPart)
      socket.on('data', (chunk: Buffer) => {
        if (socket.destroyed) return
        source.current = socket
        try {
          // Bytes from the network must never throw out of a socket callback and crash the process.
          reader.push(chunk, (parts) => {
            onFrame(socket, parts)
            return !socket.destroyed
          })
        } catch (error) {
          drops.note(error instanceof FrameError ? 'malformed' : 'undecodable', socket.remoteAddress ?? 'a peer', (error as Error).message)
          socket.destroy()
        } finally {
          source.current = undefined
        }
      })
    }
  }

  function ownEndpoint(): HelloMessage['endpoint'] {
    const { responder: calls, publisher: events } = ports()
    const host = discovery?.host()
    const endpoint: HelloMessage['endpoint'] = host ? { calls, events, host } : { calls, events }
    if (streams) endpoint!.streams = true
    if (sha256) endpoint!.streamTag = 'sha256'
    return endpoint
  }

  function ports() {
    return { responder: repSock.server?.address()?.port ?? options.ports[0], publisher: pubSock.server?.address()?.port ?? options.ports[1] }
  }

  // One timer for every call's deadline, armed for the earliest: no timer set and cleared per call.
  const deadlines = new Deadlines(() => {
    const now = performance.now()
    let next = Infinity
    for (const entry of [...pending.values()]) {
      if (entry.deadline === undefined) continue
      if (entry.deadline <= now) {
        settle(entry)
        entry.reject(new TransportError(`no reply within ${entry.timeout} ms`, 'timeout'))
      } else next = Math.min(next, entry.deadline)
    }
    return next
  })

  function settle(entry: Pending) {
    pending.delete(entry.id)
  }

  return {
    async start() {
      // Both servers bind in their own callbacks; the app is reachable once both listen.
      await Promise.all([bound(repSock), bound(pubSock)])
      if (closed) return
      // Accepted sockets lack TCP_NODELAY: small replies and events would wait on Nagle's algorithm.
      for (const sock of [repSock, pubSock]) {
        const tune = (socket: Socket) => socket.setNoDelay(true).setKeepAlive(true, KEEPALIVE_MS)
        for (const socket of sock.socks) tune(socket)
        sock.server.on('connection', tune)
      }
      const { responder: calls, publisher: events } = ports()
      discovery = startDiscovery(
        { uuid, key: options.key, version: options.version, calls, events, cote: options.cote, redis: options.redis, advertise: options.advertise, hellos: options.hellos, streams, streamTag: sha256 ? 'sha256' : 'sha3-256' },
        { found: (endpoint) => links.found(endpoint), lost: (peer) => links.lost(peer), seen: (peer, seq) => safely('peer-seen', () => handlers.onPeerSeen?.(peer, seq)) }
      )
    },

    async idle(ms) {
      const end = performance.now() + ms
      while (pending.size > 0 && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 5))
    },

    ports,

    publish(message) {
      // Nobody listens: nothing to serialize, seal or send.
      if (closed || !pubSock.ready || pubSock.socks.length === 0) return
      let text: Text
      try {
        text = serialize(message)
      } catch (error) {
        debug('%s %s not published: %s', short, message.type, (error as Error).message)
        return
      }
      if (options.maxPayload > 0 && textLength(text) > options.maxPayload) {
        debug('%s %s of %d bytes not published: over maxPayload', short, message.type, textLength(text))
        return
      }
      published.add(text)
    },

    request(peer, message, timeout) {
      if (closed) return Promise.reject(new TransportError('the mesh is closed', 'closed'))
      if (message.type === 'hello') message = { ...message, endpoint: ownEndpoint() }
      let text: Text
      try {
        text = serialize(message)
      } catch (error) {
        return Promise.reject(new TransportError((error as Error).message, 'encode'))
      }
      if (options.maxPayload > 0 && textLength(text) > options.maxPayload) {
        return Promise.reject(new TransportError(`the message is ${textLength(text)} bytes, over maxPayload (${options.maxPayload})`, 'too-large'))
      }
      const socket = links.socketOf(peer)
      if (!socket) return Promise.reject(new TransportError('no open connection to the replica', 'peer-gone'))
      return new Promise((resolve, reject) => {
        const id = String(++lastId)
        const entry: Pending = {
          peer,
          id,
          socket,
          reject,
          settle(err, reply) {
            // A reply that does not open leaves the call pending: a forged or replayed reply must not settle it.
            // Our providers never send an error frame; a peer that does is answered as gone, but
            // only after its reply opened too, when there is a secret.
            const opened = err && reply === undefined ? undefined : open(reply, uuid, peer, 'replies', id)
            // A sealed reply must come from the replica asked (it did, unless someone else holds its connection).
            const text = opened && (opened.from === undefined || opened.from === peer) ? opened.text : undefined
            if (text === undefined && (sealer || !err)) return
            settle(entry)
            if (err) return reject(new TransportError(describe(err), 'peer-gone'))
            try {
              resolve(deserialize(text))
            } catch (error) {
              reject(new TransportError(`undecodable reply: ${(error as Error).message}`, 'peer-gone'))
            }
          }
        }
        pending.set(id, entry)
        if (timeout > 0) {
          entry.timeout = timeout
          entry.deadline = performance.now() + timeout
          deadlines.arm(entry.deadline)
        }
        published.flush() // events emitted before this call leave before it
        const endpoint = links.endpoint(peer)
        // With other calls in flight (a gateway under load), a request waits for the rest of this
        // turn of the event loop, and leaves with the others made in it.
        write(socket, encodeFrame([seal(text, peer, streams && endpoint?.streams ? 'calls' : undefined, id, tagFor(endpoint?.sha256)), id]), undefined, pending.size > 1)
      })
    },

    drops: drops.counts,

    linked(peer) {
      return links.linked(peer)
    },

    abandon: abandonPeer,

    hearsHellos: (peer) => links.hearsHellos(peer),

    hostOf: (peer) => links.endpoint(peer)?.host,

    discovery: () => ({ mode: discovery?.mode ?? (options.redis ? 'redis' : 'broadcast'), connected: discovery?.connected ?? false, seen: discovery?.endpoints().length ?? 0, heard: discovery?.heard ?? 0 }),

    async close() {
      if (closed) return
      published.flush() // a goodbye published just before closing still leaves
      closed = true
      discovery?.close()
      links.close()
      deadlines.close()
      await flush([...repSock.socks, ...pubSock.socks])
      // A server still binding would open after close: wait for it (bounded), then close everything.
      await Promise.race([Promise.all([bound(repSock), bound(pubSock)]), new Promise((resolve) => setTimeout(resolve, BIND_WAIT).unref())])
      for (const entry of [...pending.values()]) {
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

/** Lets an axon client socket use a connection opened by Links, as if it had opened it itself. */
function adopter(sock: any): Connector {
  return {
    adopt(socket) {
      sock.handleErrors(socket)
      socket.on('close', () => sock.removeSocket(socket))
      sock.addSocket(socket)
    }
  }
}

/** A peer's error value as text, whatever its shape. */
function describe(err: unknown): string {
  try {
    return String((err as { message?: unknown })?.message ?? err)
  } catch {
    return 'the replica sent an error'
  }
}

function serializeReply(value: unknown, maxPayload: number): Text {
  try {
    const text = serialize(value)
    if (maxPayload === 0 || textLength(text) <= maxPayload) return text
    return serialize({ ok: false, error: { name: 'PayloadTooLarge', message: `the reply is ${textLength(text)} bytes, over maxPayload (${maxPayload})`, code: 413, className: 'payload-too-large' } })
  } catch (error) {
    return serialize({ ok: false, error: { name: 'GeneralError', message: `the reply cannot be sent: ${(error as Error).message}`, code: 500, className: 'general-error' } })
  }
}
