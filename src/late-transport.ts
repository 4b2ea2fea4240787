import type { Transport } from './transport'
import { TransportError } from './transport'

/**
 * A transport whose cote components come later (after `coteDelay`, a free port...): what the rest
 * of the app holds from the start. Before then, requests fail as if the mesh were closed and the
 * rest answers as an app that knows nobody.
 */
export function lateTransport(current: () => Transport | undefined, mode: 'broadcast' | 'redis'): Transport {
  return {
    get drops() {
      return current()?.drops ?? {}
    },
    start: async () => undefined,
    publish: (message) => current()?.publish(message) ?? false,
    request: (peer, message, timeout) => current()?.request(peer, message, timeout) ?? Promise.reject(new TransportError('the mesh has not started', 'closed')),
    ports: () => current()?.ports() ?? { responder: 0, publisher: 0 },
    idle: async (ms) => current()?.idle(ms),
    linked: (peer) => current()?.linked(peer) ?? false,
    abandon: (peer, reason) => current()?.abandon(peer, reason),
    forget: (peer) => current()?.forget(peer),
    hearsHellos: (peer) => current()?.hearsHellos(peer) ?? false,
    hostOf: (peer) => current()?.hostOf(peer),
    discovery: () => current()?.discovery() ?? { mode, connected: false, seen: 0, heard: 0 },
    close: async () => current()?.close()
  }
}
