import { decode, encode, needsTags } from './codec'

/** A message as it crosses the wire: one JSON text, written once and parsed once. */
export function serialize(message: unknown): string {
  // Plain records skip the copying walk: JSON.stringify alone gives the same text.
  return JSON.stringify(needsTags(message) ? encode(message) : message)
}

export function deserialize(text: unknown): unknown {
  if (typeof text !== 'string') throw new TypeError(`expected a text frame, got ${typeof text}`)
  // Most messages carry no tagged value (Date, Buffer...): then JSON.parse's result is already the value.
  const parsed = JSON.parse(text)
  return text.includes('"$t"') ? decode(parsed) : parsed
}

/** The connection whose frame is being handled, so a handler can cut a connection that sends garbage. */
export interface FrameSource {
  current?: import('net').Socket
}

const FLUSH_TIMEOUT = 500 // ms

/** Waits (bounded) until replies and goodbyes written to these sockets have left the process. */
export async function flush(sockets: import('net').Socket[]) {
  const deadline = Date.now() + FLUSH_TIMEOUT
  while (sockets.some((socket) => socket.writable && socket.writableLength > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
