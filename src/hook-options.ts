import { GeneralError } from '@feathersjs/errors'
import { describe } from './checks'
import { closestName } from './option-names'
import type { RemoteService } from './remote-service'

/**
 * The `hooks` option, checked as Feathers v5's `service.hooks()` reads it, at configure: Feathers
 * checks it only when a proxy is mounted, and a proxy whose hooks did not register would serve
 * without them (a gateway's authentication, for one).
 */

const HOOK_TYPES = ['before', 'after', 'error', 'around']
const isFunction = (value: unknown) => typeof value === 'function'
const functions = (value: unknown) => isFunction(value) || (Array.isArray(value) && value.every(isFunction))

/** Feathers reads `{ before, after, error, around }` when one of them is set, and a map of methods otherwise. */
const isTypeMap = (hooks: Record<string, unknown>) => HOOK_TYPES.some((type) => hooks[type])

export function checkHooks(value: unknown): void {
  const fail = (why: string) => {
    throw new TypeError(`feathers-mesh: option hooks${why}`)
  }
  if (value === undefined) return
  if (Array.isArray(value)) {
    if (!value.every(isFunction)) fail(' given as an array must hold around hook functions only')
    return
  }
  if (typeof value !== 'object' || value === null) return fail(` must be Feathers hook options (an object, or an array of around hooks), got ${describe(value)}`)
  const hooks = value as Record<string, unknown>
  if (isTypeMap(hooks)) {
    for (const [type, hooksOfType] of Object.entries(hooks)) {
      if (!HOOK_TYPES.includes(type)) {
        const hint = closestName(type, HOOK_TYPES)
        fail(` has ${JSON.stringify(type)} beside ${HOOK_TYPES.filter((known) => hooks[known]).join(', ')}: not a hook type${hint ? ` (did you mean ${hint}?)` : ''}`)
      }
      const fine = functions(hooksOfType) || (typeof hooksOfType === 'object' && hooksOfType !== null && Object.values(hooksOfType).every(functions))
      if (!fine) fail(`.${type} must be a hook function, an array of them, or a map of methods to those, got ${describe(hooksOfType)}`)
    }
    return
  }
  // A map of methods to around hooks. Feathers refuses `all` there; left in, it would go unregistered and the proxies open.
  for (const [method, around] of Object.entries(hooks)) {
    if (method === 'all') fail(`.all is not a method: for hooks on every method, use { around: { all: [...] } } or an array of around hooks`)
    const hint = closestName(method, HOOK_TYPES)
    // `{ befor: [authenticate('jwt')] }` reads as a map of methods, and would go on no proxy: the gateway open.
    if (hint) fail(`.${method} looks like a misspelt ${hint} (a map of methods holds their around hooks; for a method of that name, use { around: { ${method}: [...] } })`)
    if (Array.isArray(around) && around.every(isFunction)) continue
    fail(`.${method} must be an array of around hook functions, got ${describe(around)}`)
  }
}

/**
 * The hooks to register on a proxy with `methods`: in a map of methods, those the proxy lacks are
 * left out (Feathers refuses a method a service does not have, and the other proxies may have it).
 */
export function hooksFor(hooks: unknown, methods: string[]): unknown {
  if (Array.isArray(hooks) || typeof hooks !== 'object' || hooks === null || isTypeMap(hooks as Record<string, unknown>)) return hooks
  return Object.fromEntries(Object.entries(hooks).filter(([method]) => methods.includes(method)))
}

/**
 * Registers the `hooks` option on a mounted proxy. Should Feathers refuse them (checkHooks catches
 * what it can at configure), the proxy fails every call rather than serve without them: they may
 * be a gateway's authentication.
 */
export function registerProxyHooks(service: { hooks(hooks: any): unknown }, hooks: unknown, proxy: RemoteService, localPath: string, origin = 'the hooks option'): void {
  try {
    service.hooks(hooksFor(hooks, proxy.methods))
  } catch (error: any) {
    const reason = `${origin} could not be registered on the proxy of ${localPath} (${error?.message}): it fails every call`
    proxy.refusal = new GeneralError(`feathers-mesh: ${reason}`)
    console.error(`feathers-mesh: ${reason}`)
  }
}
