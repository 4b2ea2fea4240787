import createDebug from 'debug'
import type { Socket } from 'net'
import { largeBuffers, LENT_FRAME } from './buffers'
import { deserialize, serialize } from './frames'
import { bytesOver, joinText } from './json-pieces'
import type { Text } from './json-pieces'
import type { Endpoint } from './discovery'
import { Batch, write } from './outgoing'
import type { PublishedMessage } from './protocol'
import { commonTag } from './stream-fields'
import type { StreamTag } from './streams'
import type { Wiring } from './wiring'
import { encodeFrame, FrameError, OversizedPart } from './wire'

const debug = createDebug('feathers-mesh:published')

// Topic of published frames, as cote's publisher names it (subscribers of plain cote can read them).
const PUBLISHED = 'message::mesh'
// Topic of a frame holding a JSON list of published messages (since protocol 1.1).
const PUBLISHED_BATCH = 'message::mesh-batch'
// The one frame a subscriber sends: it opens stream-sealed frames (since 1.3), also those tagged
// with SHA-256 (since 1.4), or also those tagged with Poly1305 (since 1.5). A word is sent only to a
// publisher that advertises that kind of tag: an older one would take it for garbage.
const OPENS: Record<StreamTag, string> = { 'sha3-256': 'mesh-opens-streams', sha256: 'mesh-opens-streams-sha256', poly1305: 'mesh-opens-streams-poly1305' }
const OPENED = new Map(Object.entries(OPENS).map(([tag, word]) => [word, tag as StreamTag]))

export interface Published {
  /** Queues a message for every subscriber; the messages of one tick leave as one frame. */
  /** False when it cannot be sent (unencodable, over maxPayload); true when nobody listens. */
  publish(message: PublishedMessage): boolean
  /** Sends the messages queued so far. */
  flush(): void
  /** A frame a subscriber sent to our publisher: only the word saying it opens stream frames. */
  onSubscriberFrame(socket: Socket, parts: unknown[]): void
  /** A published frame, `[topic, sealed message(s)]`, read by our subscriber. */
  onPublishedFrame(socket: Socket, parts: unknown[]): void
  /** Our subscriber connected to a publisher: tell it which stream frames we open, if it opens them too. */
  greet(socket: Socket, endpoint: Endpoint): void
}

/** Which peer each of our subscriber's connections was opened to, and forgetting one whose ports another app took. */
export interface PublisherLinks {
  peerOf(socket: Socket): string | undefined
  forget(peer: string): void
}

/**
 * The published side of the mesh: messages out in batches, sealed once for every subscriber, and
 * messages in from the publishers this app subscribes to.
 */
export function createPublished(wiring: Wiring, pubSock: { socks: Socket[]; ready?: boolean }, onPublished: (message: PublishedMessage) => void, links: PublisherLinks): Published {
  const { short, options, gate, drops, sealer, streams, streamTag } = wiring
  // What each subscriber said it opens (nothing yet: frames sealed on their own).
  const opensStreams = new WeakMap<Socket, StreamTag>()
  let dropped = 0

  function receivers(): Socket[] {
    return pubSock.socks.filter((socket) => {
      if (!socket.writable) return false
      // A subscriber that does not keep up loses messages rather than growing our memory.
      if (socket.writableLength > options.maxBacklog) {
        if (dropped++ % 1000 === 0) debug('%s dropped %d frame(s) to a slow subscriber', short, dropped)
        return false
      }
      return true
    })
  }

  // Messages published in one tick are sealed and sent as one frame: one seal, one open per receiver.
  const batch = new Batch(options.maxPayload, options.maxBacklog, (texts) => {
    const sockets = receivers()
    if (sockets.length === 0) return
    const topic = texts.length === 1 ? PUBLISHED : PUBLISHED_BATCH
    const text = texts.length === 1 ? texts[0] : `[${texts.map(joinText).join(',')}]`
    // On a stream only when every subscriber said it opens streams; otherwise everyone gets the
    // frame sealed on its own (older apps, one whose word has not arrived yet). One message never
    // travels in both forms: each form has its own replay check, so a copy of the other form, taken
    // from another subscriber's connection, would open once more.
    let everyOpens = true
    let tag = streamTag
    for (const socket of sockets) {
      const opens = opensStreams.get(socket)
      everyOpens &&= opens !== undefined
      tag = commonTag(tag, opens)
    }
    const channel = streams && sealer && everyOpens ? 'events' : undefined
    const frame = encodeFrame([topic, gate.seal(text, '*', channel, undefined, tag, 'events')])
    let writing = sockets.length
    const written = frame.length >= LENT_FRAME ? () => --writing === 0 && largeBuffers.give(frame) : undefined
    for (const socket of sockets) write(socket, frame, written)
  })

  function handleOne(message: unknown) {
    try {
      onPublished(message as PublishedMessage)
    } catch (error) {
      debug('%s dropped a published message: %O', short, error)
    }
  }

  return {
    publish(message) {
      // Nobody listens: nothing to serialize, seal or send.
      if (!pubSock.ready || pubSock.socks.length === 0) return true
      let text: Text
      try {
        text = serialize(message, options.maxPayload)
      } catch (error) {
        debug('%s %s not published: %s', short, message.type, (error as Error).message)
        return false
      }
      const over = bytesOver(text, options.maxPayload)
      if (over !== undefined) {
        debug('%s %s of %d bytes not published: over maxPayload', short, message.type, over)
        return false
      }
      batch.add(text)
      return true
    },

    flush: () => batch.flush(),

    onSubscriberFrame(socket, parts) {
      // (An app standing in for an older one does not know the newer words, as the older one would not.)
      const opens = parts.length === 1 && typeof parts[0] === 'string' ? OPENED.get(parts[0]) : undefined
      if (opens !== undefined && commonTag(streamTag, opens) === opens) return void opensStreams.set(socket, opens)
      throw new FrameError(`a subscriber sent a frame (${socket.remoteAddress})`)
    },

    onPublishedFrame(socket, parts) {
      const batched = parts[0] === PUBLISHED_BATCH
      if (parts.length !== 2 || (parts[0] !== PUBLISHED && !batched)) throw new FrameError('a published frame is [topic, message]')
      // Over this app's limit, skipped unread: dropped, the connection kept (the publisher's limit may be higher).
      if (parts[1] instanceof OversizedPart) return drops.note('too large', 'a publisher', `${parts[1].length} bytes`)
      // Only the app this connection was opened to publishes on it: the gate forgets a peer whose ports another app took.
      const peer = links.peerOf(socket)
      const opened = gate.open(parts[1], '*', 'a publisher', 'events', undefined, peer)
      if (opened === undefined) return
      let messages: unknown
      try {
        messages = deserialize(opened.text)
      } catch (error) {
        return drops.note('undecodable', 'a publisher', (error as Error).message)
      }
      // Unsealed, a message only names its sender, the app publishing it. Another app named here took
      // the peer's ports; its messages also come on its own connection, so this copy goes.
      const named = ((batched && Array.isArray(messages) ? messages[0] : messages) as { from?: unknown } | null)?.from
      if (opened.from === undefined && peer !== undefined && typeof named === 'string' && named !== peer) return links.forget(peer)
      if (!batched) return handleOne(messages)
      if (!Array.isArray(messages)) return drops.note('malformed', 'a publisher', 'a batch is not a list')
      for (const message of messages) handleOne(message)
    },

    greet(socket, endpoint) {
      // Only to a publisher that says it opens them too: one of 1.2 would cut the connection.
      if (streams && sealer && endpoint.streams) write(socket, encodeFrame([OPENS[commonTag(streamTag, endpoint.streamTag)]]))
    }
  }
}
