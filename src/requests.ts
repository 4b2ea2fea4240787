import { performance } from 'perf_hooks'
import type { Socket } from 'net'
import { Deadlines } from './deadlines'
import { deserialize, serialize } from './frames'
import { bytesOver, TextTooLarge } from './json-pieces'
import type { Text } from './json-pieces'
import type { Links } from './links'
import { write } from './outgoing'
import type { HelloMessage, RequestMessage } from './protocol'
import { commonTag } from './stream-fields'
import type { Wiring } from './wiring'
import { encodeFrame, FrameError, OversizedPart } from './wire'

/** Why a request failed below the Feathers layer; the caller maps it to a Feathers error. */
export class TransportError extends Error {
  constructor(
    message: string,
    /** `not-sent`: no open connection to the peer, so nothing left; `peer-gone`: it went with the call sent. */
    readonly reason: 'timeout' | 'peer-gone' | 'not-sent' | 'closed' | 'encode' | 'too-large'
  ) {
    super(message)
  }
}

interface Pending {
  peer: string
  id: string
  socket: Socket
  reject: (error: Error) => void
  settle: (err: unknown, reply: unknown) => void
  /** A service call (not a hello, ping or goodbye of the mesh's own): what a closing app waits for. */
  call: boolean
  /** When the call times out (performance.now() ms), if it has a timeout. */
  deadline?: number
  timeout?: number
}

/**
 * The calls in flight, by id. Not a Map: under the constant set/delete of calls in flight, a Map
 * kept calls' objects alive past scavenges (likely through its replaced hash tables, which V8
 * keeps linked) until the next full GC. Measured on a bench consumer with 100 calls in flight:
 * 1.5 MB promoted per scavenge and 6 ms scavenges with a Map, 0.05 MB and 1.4 ms with this.
 * Null prototype: ids from the wire (`__proto__`, `constructor`) find nothing.
 */
class PendingCalls {
  private byId: Record<string, Pending> = Object.create(null)
  private count = 0
  /** Service calls among them. */
  calls = 0

  get size() {
    return this.count
  }

  get(id: string): Pending | undefined {
    return this.byId[id]
  }

  add(entry: Pending) {
    if (this.byId[entry.id] === undefined) {
      this.count++
      if (entry.call) this.calls++
    }
    this.byId[entry.id] = entry
  }

  delete(entry: Pending) {
    if (this.byId[entry.id] !== entry) return
    delete this.byId[entry.id]
    this.count--
    if (entry.call) this.calls--
  }

  values(): Pending[] {
    return Object.values(this.byId)
  }
}

export interface Requests {
  /** Sends a request to a peer's responder; resolves with its reply. */
  request(peer: string, message: RequestMessage, timeout: number): Promise<unknown>
  /** A reply frame, `[error, sealed reply, id]`, read on one of the requester's connections. */
  onReplyFrame(socket: Socket, parts: unknown[]): void
  /** Rejects every request in flight to a peer. */
  abandon(peer: string, reason: string): void
  /**
   * Resolves when no service call is in flight, or after `ms`. The mesh's own requests (a hello to a
   * frozen peer may wait seconds) are not waited for: closing rejects them.
   */
  idle(ms: number): Promise<void>
  /** Stops the deadline timer: calls still in flight when the mesh closes fail as closed, not as timed out. */
  stopDeadlines(): void
  /** Rejects every request in flight, and stops the deadline timer. */
  close(): void
}

export interface RequestSides {
  links: Links
  /** This app's endpoint, as its hellos carry it. */
  ownEndpoint(): HelloMessage['endpoint']
  /** Sends the events published so far, so that they leave before the request. */
  flushPublished(): void
}

/** The calls this app makes: ids, deadlines, sealing, and the replies that settle them. */
export function createRequests(wiring: Wiring, sides: RequestSides): Requests {
  const { uuid, options, gate, sealer, streams } = wiring
  const { links } = sides
  const pending = new PendingCalls()
  let lastId = 0

  const settle = (entry: Pending) => pending.delete(entry)

  // One timer for every call's deadline, armed for the earliest: no timer set and cleared per call.
  const deadlines = new Deadlines(() => {
    const now = performance.now()
    let next = Infinity
    for (const entry of pending.values()) {
      if (entry.deadline === undefined) continue
      if (entry.deadline <= now) {
        settle(entry)
        entry.reject(new TransportError(`no reply within ${entry.timeout} ms`, 'timeout'))
      } else next = Math.min(next, entry.deadline)
    }
    return next
  })

  function rejectAll(reason: string, kind: TransportError['reason'], peer?: string) {
    for (const entry of pending.values()) {
      if (peer !== undefined && entry.peer !== peer) continue
      settle(entry)
      entry.reject(new TransportError(reason, kind))
    }
  }

  return {
    request(peer, message, timeout) {
      if (message.type === 'hello') message = { ...message, endpoint: sides.ownEndpoint() }
      let text: Text
      try {
        text = serialize(message, options.maxPayload)
      } catch (error) {
        if (error instanceof TextTooLarge) return Promise.reject(new TransportError(`the message is over maxPayload (${options.maxPayload} bytes)`, 'too-large'))
        return Promise.reject(new TransportError((error as Error).message, 'encode'))
      }
      const over = bytesOver(text, options.maxPayload)
      if (over !== undefined) return Promise.reject(new TransportError(`the message is ${over} bytes, over maxPayload (${options.maxPayload})`, 'too-large'))
      const socket = links.socketOf(peer)
      if (!socket) return Promise.reject(new TransportError('no open connection to the replica', 'not-sent'))
      return new Promise((resolve, reject) => {
        const id = String(++lastId)
        const entry: Pending = {
          peer,
          id,
          socket,
          call: message.type === 'call',
          reject,
          settle(err, reply) {
            // A reply that does not open leaves the call pending: a forged or replayed reply must not settle it.
            // Our providers never send an error frame; a peer that does is answered as gone, but
            // only after its reply opened too, when there is a secret.
            const opened = err && reply === undefined ? undefined : gate.open(reply, uuid, peer, 'replies', id)
            // A sealed reply must come from the replica asked (it did, unless someone else holds its connection).
            const text = opened && (opened.from === undefined || opened.from === peer) ? opened.text : undefined
            if (text === undefined && (sealer || !err)) return
            if (opened?.from === peer) links.proved(peer, socket)
            settle(entry)
            if (err) return reject(new TransportError(describe(err), 'peer-gone'))
            try {
              const reply = deserialize(text) as { lastRequest?: unknown } | undefined
              // A goodbye's answer names the last request the peer sent us: it must have arrived
              // before this app drains its calls and closes (it waits within the deadline).
              const last = message.type === 'goodbye' ? reply?.lastRequest : undefined
              if (typeof last === 'string' && entry.deadline) wiring.ledger.whenReceived(peer, last, entry.deadline - performance.now()).then(() => resolve(reply))
              else resolve(reply)
            } catch (error) {
              reject(new TransportError(`undecodable reply: ${(error as Error).message}`, 'peer-gone'))
            }
          }
        }
        pending.add(entry)
        if (timeout > 0) {
          entry.timeout = timeout
          entry.deadline = performance.now() + timeout
          deadlines.arm(entry.deadline)
        }
        sides.flushPublished() // events emitted before this call leave before it
        const endpoint = links.endpoint(peer)
        const sealed = gate.seal(text, peer, streams && endpoint?.streams ? 'calls' : undefined, id, commonTag(wiring.streamTag, endpoint?.streamTag), 'calls')
        // With other calls in flight (a gateway under load), a request waits for the rest of this
        // turn of the event loop, and leaves with the others made in it.
        write(socket, encodeFrame([sealed, id]), undefined, pending.size > 1)
        wiring.ledger.sent(peer, id)
      })
    },

    onReplyFrame(socket, parts) {
      const [err, reply, id] = parts
      if (parts.length !== 3 || typeof id !== 'string') throw new FrameError('a reply frame is [error, reply, id]')
      const entry = pending.get(id)
      // Only the connection the request went out on may answer it.
      if (!entry || entry.socket !== socket) return
      // A reply over this app's limit was skipped unread: the call fails now, not at its deadline.
      // (Unread, it proves nothing; someone on the path could fail a call so, as by cutting it.)
      if (reply instanceof OversizedPart) {
        settle(entry)
        return entry.reject(new TransportError(`the reply is ${reply.length} bytes, more than this app's maxPayload (${options.maxPayload}) lets it take`, 'too-large'))
      }
      entry.settle(err, reply)
    },

    abandon: (peer, reason) => rejectAll(reason, 'peer-gone', peer),

    async idle(ms) {
      const end = performance.now() + ms
      while (pending.calls > 0 && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 5))
    },

    stopDeadlines: () => deadlines.close(),

    close() {
      deadlines.close()
      rejectAll('the mesh is closed', 'closed')
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
