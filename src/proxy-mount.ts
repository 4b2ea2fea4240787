import { defaultServiceEvents } from '@feathersjs/feathers'
import type { ProxyRecord } from './proxy-record'
import type { ResolvedOptions } from './options'
import { INTERNAL } from './remote-service'

/** How the registry reaches the app: its outermost `app.use` and `app.unuse`, and what it runs on. */
export interface RegistryHooks {
  use(path: string, ...args: any[]): void
  unuse(path: string): Promise<unknown>
  isLocal(path: string): boolean
  transport: 'express' | 'koa' | 'none'
}

/**
 * Puts a proxy on the app with Feathers' `app.use`, as its transport takes it: Express wants the
 * `middlewares` around the service, Koa in its options. Methods its providers keep from their own
 * clients are not offered to this app's. Feathers may refuse the proxy (Express takes a service
 * with a `handle` or `set` method for middleware): that is said once, and false is returned.
 */
export function useProxy(hooks: RegistryHooks, middlewares: ResolvedOptions['middlewares'], record: ProxyRecord): boolean {
  const { proxy, localPath } = record
  const events = [...new Set([...defaultServiceEvents, ...proxy.events])]
  const serviceOptions = { methods: proxy.methods.filter((method) => !proxy[INTERNAL].includes(method)), events, serviceEvents: events }
  const { before, after } = middlewares
  try {
    if (hooks.transport === 'koa') hooks.use(localPath, proxy, { ...serviceOptions, koa: { before, after } })
    else if (hooks.transport === 'express') hooks.use(localPath, ...before, proxy, ...after, serviceOptions)
    else hooks.use(localPath, proxy, serviceOptions)
    return true
  } catch (error) {
    console.warn(`feathers-mesh: the proxy of ${localPath} (key ${record.key}) cannot be mounted: ${(error as Error)?.message}`)
    return false
  }
}
