/**
 * What the transport changes in the axon sockets inside cote's components: frames read and written
 * here instead of through amp, and connections opened by Links instead of by axon itself.
 */
import createDebug from 'debug'
import type { Socket } from 'net'
import type { Drops } from './drops'
import type { FrameSource } from './frames'
import type { Connector } from './links'
import { encodeFrame, FrameError, FrameReader } from './wire'

const debug = createDebug('feathers-mesh:axon-sockets')

/** Resolves once an axon server socket listens. */
export function bound(sock: any): Promise<void> {
  if (sock.server?.listening) return Promise.resolve()
  return new Promise((resolve) => sock.once('bind', () => resolve()))
}

/** Accepted sockets lack TCP_NODELAY: small replies and events would wait on Nagle's algorithm. */
export function tuneAccepted(sock: any, keepAliveMs: number) {
  const tune = (socket: Socket) => socket.setNoDelay(true).setKeepAlive(true, keepAliveMs)
  for (const socket of sock.socks) tune(socket)
  sock.server.on('connection', tune)
}

/** Lets an axon client socket use a connection opened by Links, as if it had opened it itself. */
export function adopter(sock: any): Connector {
  return {
    adopt(socket) {
      sock.handleErrors(socket)
      socket.on('close', () => sock.removeSocket(socket))
      sock.addSocket(socket)
    }
  }
}

const FRAME_SLACK = 64 * 1024 // bytes of sealing and framing a part may add to maxPayload
const MAX_PART = 2 ** 31 - 1

/**
 * The largest frame part a peer may send under `maxPayload` (0: no limit): 3 times it, as older
 * apps counted characters (UTF-8 takes up to 3 bytes each), plus what sealing adds (a header, an
 * IV and a tag). A longer part is skipped unread, and its message refused (see FrameReader).
 */
export function maxPartFor(maxPayload: number): number {
  return maxPayload > 0 ? Math.min(MAX_PART, 3 * maxPayload + FRAME_SLACK) : MAX_PART
}

export interface Framing {
  /** Log prefix: the app's short id. */
  short: string
  /** The largest frame part accepted: a longer one is refused before it is buffered. */
  maxPart: number
  drops: Drops
  /** Set to the connection whose frame is being handled, for the time of its handling. */
  source: FrameSource
}

/** Reads the frames of every connection of an axon socket here, instead of through amp. */
export function ownFraming(sock: any, framing: Framing, onFrame: (socket: Socket, parts: unknown[]) => void) {
  const { short, maxPart, drops, source } = framing
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
