import createDebug from 'debug'
import type { Socket } from 'net'
import { deserialize, serialize } from './frames'
import type { FrameSource } from './frames'
import { bytesOver, TextTooLarge } from './json-pieces'
import type { Text } from './json-pieces'
import type { Links } from './links'
import { release, write } from './outgoing'
import type { HelloMessage, ReplyMessage, RequestMessage } from './protocol'
import { isPort } from './discovery'
import { namedTag } from './stream-fields'
import type { Wiring } from './wiring'
import { encodeFrame, FrameError, OversizedPart } from './wire'
import { headerOf } from './message-frames'

const debug = createDebug('feathers-mesh:answers')

export interface AnswerSides {
  links: Links
  source: FrameSource
  /** The app's handler of a request; its value is the reply. */
  onRequest(message: RequestMessage): Promise<unknown>
  /** Sends the events published so far, so that those a call emitted leave before its reply. */
  flushPublished(): void
}

/**
 * The responder's side: a request frame `[sealed request, id]` is opened, handled, and answered with
 * `[null, sealed reply, id]` on the connection it came on, sealed for the sender it proved to be.
 */
export function createAnswers(wiring: Wiring, sides: AnswerSides): (socket: Socket, parts: unknown[]) => void {
  const { uuid, short, options, gate, drops, streams, ledger } = wiring
  const { links } = sides
  /** The sender each connection's last request proved to be (with a secret). */
  const provedOn = new WeakMap<Socket, string>()

  /**
   * A peer that greets us before discovery reported it: connect to it now, at the address it names.
   * With a secret the hello is the peer's own word, which also outweighs what discovery said.
   */
  function linkBack(hello: HelloMessage, socket: Socket) {
    const endpoint = hello.endpoint
    if (!endpoint || typeof hello.from !== 'string' || hello.from === uuid || (!wiring.sealer && links.endpoint(hello.from))) return
    const host = typeof endpoint.host === 'string' && endpoint.host !== '' ? endpoint.host : socket.remoteAddress?.replace(/^::ffff:/, '')
    if (!host || host === '0.0.0.0' || !isPort(endpoint.calls) || !isPort(endpoint.events)) return
    const streamTag = endpoint.streams === true ? namedTag(endpoint.streamTag, endpoint.poly1305) : undefined
    const named = { uuid: hello.from, key: String(hello.key), version: Number(hello.v), host, calls: endpoint.calls, events: endpoint.events, streams: endpoint.streams === true, streamTag }
    if (wiring.sealer) links.vouchedBy(named)
    else links.found(named, false)
  }

  /** A request over this app's limit was skipped unread: its sender gets a 413 at once, not a timeout. */
  function refuseOversized(socket: Socket, part: OversizedPart, id: string) {
    drops.note('too large', 'a requester', `${part.length} bytes`)
    // Sealed for the sender the request's clear header names (or its text, without a secret): a
    // claim, but the refusal tells it nothing.
    const header = wiring.sealer ? headerOf(part.head) : undefined
    const to = header !== undefined ? header.slice(header.lastIndexOf('.') + 1) : /"from":"([^"]{1,64})"/.exec(part.head.toString('latin1'))?.[1]
    if (wiring.sealer && !to) return
    // Arrived, if unread: a goodbye that names it as the sender's last request need not wait for it.
    // With a secret, only on a connection that sender has proved itself on: the header is a claim,
    // and a forged huge id would count every later request of that peer as arrived (calls lost).
    if (to && (!wiring.sealer || provedOn.get(socket) === to)) ledger.received(to, id)
    const refusal = `the request is ${part.length} bytes, more than this app's maxPayload (${options.maxPayload}) lets it take`
    const text = serialize({ ok: false, error: { name: 'PayloadTooLarge', message: refusal, code: 413, className: 'payload-too-large', mesh: true } })
    if (socket.writable) write(socket, encodeFrame([null, gate.seal(text, to ?? '', undefined, id, undefined, 'replies'), id]))
  }

  return function onRequestFrame(socket, parts) {
    const [payload, id] = parts
    if (parts.length !== 2 || typeof id !== 'string') throw new FrameError('a request frame is [request, id]')
    if (payload instanceof OversizedPart) return refuseOversized(socket, payload, id)
    const opened = gate.open(payload, uuid, 'a requester', 'calls', id)
    if (opened === undefined) return
    if (opened.from !== undefined) provedOn.set(socket, opened.from)
    // The reply goes the way the request came (a requester that seals on streams opens them, with
    // the tag it used), to the sender the request proved to be.
    const tag = streams ? gate.streamed(payload) : undefined
    const channel = tag ? 'replies' : undefined
    let message: RequestMessage
    try {
      message = deserialize(opened.text) as RequestMessage
    } catch (error) {
      sides.source.current?.destroy()
      return drops.note('undecodable', 'a requester', (error as Error).message)
    }
    if (message?.type === 'hello') linkBack(message, socket)
    const peer = opened.from ?? String(message?.from)
    const answer = (value: unknown) => {
      // Events the call emitted leave before its reply, as they would without batching.
      sides.flushPublished()
      // Answering a goodbye tells the leaving peer that no call will follow: calls to it made
      // before, held for the end of this turn of the event loop (gathered writes), leave first, and
      // the answer names the last of them, which the peer waits for (see ledger.ts).
      if (message?.type === 'goodbye') {
        release(links.socketOf(peer))
        const lastRequest = ledger.lastSentTo(peer)
        if (lastRequest !== undefined && (value as ReplyMessage)?.ok === true) value = { ...(value as object), lastRequest }
      }
      if (!socket.writable) return
      const sealed = gate.seal(serializeReply(value, options.maxPayload), peer, channel, id, tag, 'replies')
      write(socket, encodeFrame([null, sealed, id]))
    }
    sides
      .onRequest(message)
      .then(answer, (error) => {
        // Handlers turn service errors into replies; reaching here is a bug, but never leave the caller hanging.
        debug('%s request handler failed: %O', short, error)
        answer({ ok: false, error: { name: 'GeneralError', message: String(error?.message ?? error), code: 500, className: 'general-error' } })
      })
      .catch((error) => debug('%s a reply could not be sent: %s', short, error?.message))
    // After the handler took it: a goodbye that waited for this request may now let its app drain and close.
    ledger.received(peer, id)
  }
}

function serializeReply(value: unknown, maxPayload: number): Text {
  const tooLarge = (size: string) => serialize({ ok: false, error: { name: 'PayloadTooLarge', message: `the reply is ${size}, over maxPayload (${maxPayload})`, code: 413, className: 'payload-too-large', mesh: true } })
  try {
    const text = serialize(value, maxPayload)
    const over = bytesOver(text, maxPayload)
    return over === undefined ? text : tooLarge(`${over} bytes`)
  } catch (error) {
    if (error instanceof TextTooLarge) return maxPayload > 0 ? tooLarge('larger') : tooLarge('longer than the longest string Node makes')
    return serialize({ ok: false, error: { name: 'GeneralError', message: `the reply cannot be sent: ${(error as Error).message}`, code: 500, className: 'general-error' } })
  }
}
