import { registerProxyHooks } from './hook-options'
import type { ProxyRecord } from './proxy-record'

/**
 * Hooks registered on a mounted proxy itself (`app.service('todos').hooks(...)`) are kept with its
 * record. A newer replica that widens the proxy needs a new Feathers mount, and a gateway's
 * authentication registered that way must come along, not stay on the object left behind. Hooks
 * that `service` listeners register while the event is emitted are theirs: the event comes again
 * with the new mount, and they register them again.
 */

let emitting = 0

type Hookable = { hooks?: (input: any) => unknown }

/** Registers on `mounted` the hooks kept from the record's earlier mounts, and keeps those registered on it from now on. */
export function carryHooks(record: ProxyRecord, mounted: Hookable) {
  const register = mounted.hooks
  if (typeof register !== 'function') return
  const kept = (record.hooks ??= [])
  for (const input of kept) registerProxyHooks(mounted as { hooks(input: unknown): unknown }, input, record.proxy, record.localPath, 'hooks registered on the proxy')
  mounted.hooks = function (this: unknown, input: unknown) {
    // Registered first: hooks Feathers refuses throw to the caller and are not kept.
    const result = register.call(this, input)
    if (emitting === 0) kept.push(input)
    return result
  }
}

/** Emits the app's `service` event: hooks its listeners register meanwhile are not kept. */
export function emitMounted(emit: () => void) {
  emitting++
  try {
    emit()
  } finally {
    emitting--
  }
}
