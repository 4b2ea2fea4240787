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
    else if (hooks.transport === 'express') hooks.use(localPath, ...before.map(caught), proxy, ...after.map(caught), serviceOptions)
    else hooks.use(localPath, proxy, serviceOptions)
    return true
  } catch (error) {
    console.warn(`feathers-mesh: the proxy of ${localPath} (key ${record.key}) cannot be mounted: ${(error as Error)?.message}`)
    return false
  }
}

type Middleware = (...args: any[]) => unknown

/**
 * Express 4 drops what an async middleware rejects with: the request hangs, and the rejection may
 * end the process. Each one's error goes to `next` instead, as Koa does it; error handlers (four
 * arguments) stay error handlers.
 */
function caught(middleware: Middleware): Middleware {
  const settle = (result: unknown, next: (error?: unknown) => void) => {
    if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(undefined, next)
  }
  if (middleware.length === 4) {
    return function (this: unknown, error: unknown, req: unknown, res: unknown, next: (error?: unknown) => void) {
      settle(middleware.call(this, error, req, res, next), next)
    }
  }
  return function (this: unknown, req: unknown, res: unknown, next: (error?: unknown) => void) {
    settle(middleware.call(this, req, res, next), next)
  }
}
