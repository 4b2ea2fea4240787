import type { EventEmitter } from 'events'
import { registerProxyHooks } from './hook-options'
import type { ProxyRecord } from './proxy-record'

/**
 * What a proxy's mount hands on to the next one. A newer replica that widens a proxy needs a new
 * Feathers mount (Registry.widen), and what the app set on the old object must come along:
 * - listeners of its events, but not those Feathers' own mixins install on every mount (the
 *   channels' publisher: copied, each event would reach socket.io clients once more per widening);
 * - hooks registered on the proxy itself (`app.service('todos').hooks(...)`: a gateway's
 *   authentication, say);
 * - publishers registered on it (`app.service('todos').publish(...)`): lost, the app's own
 *   publisher would take over, and send each event to everyone it reaches.
 * Hooks and listeners that `service` listeners add while the event is emitted are theirs: the event
 * comes again with the new mount, and they add them again.
 */

let emitting = 0

type Mounted = EventEmitter & { hooks?: (input: any) => unknown; registerPublisher?: (...args: unknown[]) => unknown }
type Listener = (...args: any[]) => void

const listenersOf = (mounted: EventEmitter) => mounted.eventNames().flatMap((event) => mounted.rawListeners(event) as Listener[])

/**
 * Called right after each mount, with the emission of the app's `service` event: registers the
 * kept hooks, keeps those registered from now on, and notes the listeners present once the event's
 * listeners have run (Feathers' own and theirs), which are not handed on.
 */
export function adopt(record: ProxyRecord, mounted: Mounted, emit: () => void) {
  const register = mounted.hooks
  if (typeof register === 'function') {
    const kept = (record.hooks ??= [])
    for (const input of kept) registerProxyHooks(mounted as { hooks(input: unknown): unknown }, input, record.proxy, record.localPath, 'hooks registered on the proxy')
    mounted.hooks = function (this: unknown, input: unknown) {
      // Registered first: hooks Feathers refuses throw to the caller and are not kept.
      const result = register.call(this, input)
      if (emitting === 0) kept.push(input)
      return result
    }
  }
  const registerPublisher = mounted.registerPublisher
  if (typeof registerPublisher === 'function') {
    const kept = (record.publishers ??= [])
    for (const args of kept) registerPublisher.apply(mounted, args)
    // `publish` calls it; Feathers' channels keep publishers on the mount, which the next one lacks.
    mounted.registerPublisher = function (this: unknown, ...args: unknown[]) {
      const result = registerPublisher.apply(this, args)
      if (emitting === 0) kept.push(args)
      return result
    }
  }
  emitting++
  try {
    emit()
  } finally {
    emitting--
  }
  record.installed = new Set(listenersOf(mounted))
}

/** The listeners the app added to a mount (not Feathers' own), to hand on with `handOn`. */
export function listenersToCarry(record: ProxyRecord, previous: EventEmitter | undefined) {
  if (!previous) return []
  return previous.eventNames().map((event) => [event, (previous.rawListeners(event) as Listener[]).filter((listener) => !record.installed?.has(listener))] as const)
}

export function handOn(current: EventEmitter, listeners: ReturnType<typeof listenersToCarry>) {
  for (const [event, list] of listeners) {
    for (const listener of list) {
      // A `once` wrapper removes itself from the emitter it was made for: the new mount gets its own.
      const once = (listener as { listener?: Listener }).listener
      if (typeof once === 'function') current.once(event, once)
      else current.on(event, listener)
    }
  }
}
