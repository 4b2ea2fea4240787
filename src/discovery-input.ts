/**
 * What node-discover reads from the network, checked before it does. It trusts every datagram or
 * Redis message that parses as JSON: `null` threw out of the socket's handler (the process died),
 * and a hello whose `iid` was `__proto__` wrote the sender's fields onto `Object.prototype`.
 */

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Whether a parsed message has the shape node-discover reads without throwing, and no key that reaches a prototype. */
export function isDiscoveryMessage(message: unknown): boolean {
  if (!isRecord(message) || typeof message.iid !== 'string' || FORBIDDEN.has(message.iid)) return false
  if (typeof message.event !== 'string' || !isRecord(message.data)) return false
  return !Object.getOwnPropertyNames(message.data).some((key) => FORBIDDEN.has(key))
}

type Decode = (data: Buffer, callback: (error: Error | null, message: unknown) => void) => void

/** Makes a node-discover instance drop what `isDiscoveryMessage` refuses, and keep its peers in a map without a prototype. */
export function guardDiscovery(discovery: { broadcast: { decode: Decode }; nodes: Record<string, unknown> }, onDropped: () => void) {
  const network = discovery.broadcast
  const decode = network.decode
  network.decode = function (data, callback) {
    decode.call(network, data, (error, message) => {
      if (error) {
        onDropped() // not JSON at all
        return callback(error, null)
      }
      if (!isDiscoveryMessage(message)) {
        onDropped()
        return callback(new Error('malformed discovery message'), null)
      }
      callback(null, message)
    })
  }
  discovery.nodes = Object.create(null)
}
