import createDebug from 'debug'
import { decode, encode } from './codec'

const debug = createDebug('feathers-mesh:frames')

/** A message as it crosses the wire: one JSON text, written once and parsed once. */
export function serialize(message: unknown): string {
  return JSON.stringify(encode(message))
}

export function deserialize(text: unknown): unknown {
  if (typeof text !== 'string') throw new TypeError(`expected a text frame, got ${typeof text}`)
  return decode(JSON.parse(text))
}

/** Wraps an axon socket's message handler so a malformed frame is logged and dropped. */
export function guardMessages(sock: any, short: string) {
  const original = sock.onmessage
  sock.onmessage = function (this: unknown, ...args: unknown[]) {
    const handler = original.apply(this, args)
    return (...frame: unknown[]) => {
      try {
        handler(...frame)
      } catch (error) {
        debug('%s dropped a malformed frame: %s', short, (error as Error)?.message)
      }
    }
  }
}

const FLUSH_TIMEOUT = 500 // ms

/** Waits (bounded) until replies and goodbyes written to these sockets have left the process. */
export async function flush(sockets: import('net').Socket[]) {
  const deadline = Date.now() + FLUSH_TIMEOUT
  while (sockets.some((socket) => socket.writable && socket.writableLength > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
