import { nextTick } from 'process'
import type { Socket } from 'net'
import { largeBuffers, LENT_FRAME } from './buffers'
import { textLength } from './json-pieces'
import type { Text } from './json-pieces'

/**
 * What leaves an app's sockets, gathered: published messages in batches of one tick, and frames in
 * one system call per tick (or per turn of the event loop) and socket.
 */
const BATCH_BYTES = 64 * 1024 // a batch is sent once it holds this much (less with a low maxPayload or maxBacklog)

/** Texts collected until the end of the tick (or a size limit), then handed over together, in order. */
export class Batch {
  private texts: Text[] = []
  private bytes = 0
  private readonly limit: number

  constructor(
    maxPayload: number,
    maxBacklog: number,
    private readonly send: (texts: Text[]) => void
  ) {
    // Within every receiver's maxPayload (with room for the list's commas and brackets), and small
    // next to maxBacklog, which a slow subscriber may hold (it is checked per frame).
    this.limit = Math.min(BATCH_BYTES, maxBacklog / 8, maxPayload > 0 ? maxPayload - 1024 : Infinity)
  }

  add(text: Text) {
    const length = textLength(text)
    if (this.texts.length > 0 && this.bytes + length + 1 > this.limit) this.flush()
    if (this.texts.length === 0) nextTick(() => this.flush())
    this.texts.push(text)
    this.bytes += length + 1
  }

  flush() {
    if (this.texts.length === 0) return
    const texts = this.texts
    this.texts = []
    this.bytes = 0
    this.send(texts)
  }
}

/**
 * Writes a frame, holding the socket's writes until the current tick's work is done: calls, replies
 * and events produced together leave in one system call instead of one each. With `gather`, until
 * the end of this turn of the event loop: the frames that the callbacks of one poll make (one per
 * HTTP request read, on a gateway) then leave in one system call too. A write to a local socket
 * costs about as much as the HTTP handling of a request here, so this is what a gateway's
 * throughput needs; a lone call is not held (its write would only wait).
 */
export function write(socket: Socket, frame: Buffer, written?: () => void, gather = false) {
  if (socket.writableCorked === 0) {
    socket.cork()
    if (gather) setImmediate(uncork, socket)
    else nextTick(uncork, socket)
  }
  // A large frame is a lent buffer: it goes back once the socket is done with it (written or not).
  socket.write(frame, written ?? (frame.length >= LENT_FRAME ? () => largeBuffers.give(frame) : undefined))
}

function uncork(socket: Socket) {
  socket.uncork()
}

/**
 * Writes now what `write` holds on the socket for the end of this tick or turn (the held uncork
 * then finds nothing to do). `write` is the only place that corks the mesh's sockets.
 */
export function release(socket: Socket | undefined) {
  if (socket && socket.writableCorked > 0) socket.uncork()
}
