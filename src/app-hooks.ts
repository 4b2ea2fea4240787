import createDebug from 'debug'
import type { Application } from '@feathersjs/feathers'
import type { HealthReport } from './healthcheck'
import type { ResolvedOptions } from './options'
import { servicePath } from './checks'
import type { MeshStatus } from './status'
import { STATUS_PAGE_HEADERS, STATUS_PAGE_HTML } from './status-page'
import type { Registry, RegistryContentType } from 'prom-client'

const debug = createDebug('feathers-mesh:app-hooks')

type MeshOptions = { distributedEvents?: unknown; distributedMethods?: unknown; sync?: boolean }

function checkMeshOptions(options: MeshOptions, where: string) {
  for (const [name, value] of Object.entries({ distributedEvents: options.distributedEvents, distributedMethods: options.distributedMethods })) {
    if (name === 'distributedEvents' && typeof value === 'function') continue
    if (value !== undefined && (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))) {
      throw new TypeError(`feathers-mesh: service option ${name}${where} must be an array of strings, got ${JSON.stringify(value)}`)
    }
  }
}

/**
 * The lists a service carries in its own `options` property (`new MemoryService({ distributedEvents })`),
 * which feathers-distributed reads too, under those given to `app.use`, which win.
 */
export function withOwnOptions(service: any, given: MeshOptions): MeshOptions {
  const own = service?.options
  if (own === null || typeof own !== 'object') return given
  const { distributedEvents, distributedMethods } = own as MeshOptions
  checkMeshOptions({ distributedEvents, distributedMethods }, ' (in the service\'s options property)')
  return { ...given, distributedEvents: given.distributedEvents ?? distributedEvents, distributedMethods: given.distributedMethods ?? distributedMethods }
}

/**
 * Finds the service and its options in `app.use(path, ...middleware, service, ...middleware, options)`
 * and takes the mesh's own options out, so the transport's `app.use` (which rejects unknown
 * options) never sees them.
 */
export function splitUseArguments(rest: any[]) {
  const serviceIndex = rest.findIndex((arg) => arg !== null && typeof arg === 'object' && !Array.isArray(arg))
  if (serviceIndex === -1) return { service: undefined, meshOptions: {}, args: rest }
  const service = rest[serviceIndex]
  const optionsIndex = rest.findIndex((arg, index) => index > serviceIndex && arg !== null && typeof arg === 'object' && !Array.isArray(arg))
  if (optionsIndex === -1) return { service, meshOptions: withOwnOptions(service, {}), args: rest }
  const { distributedEvents, distributedMethods, sync, ...serviceOptions } = rest[optionsIndex]
  if (sync !== undefined && typeof sync !== 'boolean') throw new TypeError(`feathers-mesh: service option sync must be a boolean, got ${JSON.stringify(sync)}`)
  checkMeshOptions({ distributedEvents, distributedMethods }, '')
  const args = [...rest]
  if (Object.keys(serviceOptions).length > 0) args[optionsIndex] = serviceOptions
  else args.splice(optionsIndex, 1)
  return { service, meshOptions: withOwnOptions(service, { distributedEvents, distributedMethods, sync }), args }
}

/** Which HTTP framework Feathers runs on: routes and per-service middleware differ between them. */
export function transportOf(app: Application): 'express' | 'koa' | 'none' {
  const raw = app as any
  if (typeof raw.route === 'function' && typeof raw.get === 'function') return 'express'
  if (typeof raw.callback === 'function' && Array.isArray(raw.middleware)) return 'koa'
  return 'none'
}

type Answer = { status: number; body: unknown; type?: string; headers?: Record<string, string> }

/** A GET (and HEAD) route on Express or Koa, as middleware that lets every other request through. */
function route(app: Application, pattern: RegExp, handler: (match: RegExpExecArray) => Promise<Answer>) {
  const raw = app as any
  const send = (answer: Answer, res: any) => {
    res.status(answer.status).set(answer.headers ?? {})
    if (answer.type) res.type(answer.type).send(answer.body)
    else res.json(answer.body)
  }
  const failed = (error: any): Answer => ({ status: 500, body: { message: String(error?.message ?? error) } })
  switch (transportOf(app)) {
    case 'express':
      // Middleware rather than a route: Express decodes a route's parameters itself and answers a
      // malformed escape with an error that Feathers' error handler turns into a 500.
      raw.use((req: any, res: any, next: () => void) => {
        const match = req.method === 'GET' || req.method === 'HEAD' ? pattern.exec(req.path) : null
        if (!match) return next()
        handler(match).then((answer) => send(answer, res), (error) => send(failed(error), res))
      })
      return true
    case 'koa':
      raw.use(async (ctx: any, next: () => Promise<void>) => {
        const match = ctx.method === 'GET' || ctx.method === 'HEAD' ? pattern.exec(ctx.path) : null
        if (!match) return next()
        const answer = await handler(match).catch(failed)
        ctx.status = answer.status
        ctx.set(answer.headers ?? {})
        if (answer.type) ctx.type = answer.type
        ctx.body = answer.body
      })
      return true
    default:
      return false
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function decodeKey(raw: string | undefined): string | undefined {
  if (!raw) return 'default'
  try {
    return decodeURIComponent(raw)
  } catch {
    return undefined
  }
}

/** `GET {base}:key?` on Express and Koa apps; other transports get it through `app.distribution.healthcheck`. */
export function mountHealthcheck(app: Application, base: string, check: (key: string) => Promise<HealthReport>) {
  const prefix = `/${base.replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/')
  const pattern = new RegExp(`^${escape(prefix.replace(/\/$/, ''))}(?:/([^/]+))?/?$`)
  const mounted = route(app, pattern, async (match) => {
    const key = decodeKey(match[1])
    if (key === undefined) return { status: 400, body: { key: match[1], message: 'The key is not a valid percent-encoded string' } }
    const report = await check(key)
    return { status: report.status, body: report.body }
  })
  if (!mounted) debug('neither Express nor Koa: the healthcheck route is not mounted')
}

/**
 * The status service (a Feathers service, so it takes hooks such as `authenticate('jwt')`; never
 * announced to the mesh), its page, and the Prometheus route.
 */
export function mountStatus(app: Application, options: ResolvedOptions, use: (...args: any[]) => unknown, status: () => MeshStatus, metrics?: Registry<RegistryContentType>) {
  const transport = transportOf(app)
  if (options.statusPath !== false) {
    if (app.services[servicePath(options.statusPath)] !== undefined) {
      throw new Error(`feathers-mesh: option statusPath ("${options.statusPath}") is the path of a service already registered: choose another path, or false`)
    }
    const service = { find: async () => status() }
    // Runs before Feathers' REST handler of the service, so `GET {statusPath}/page` is never get('page').
    const isPage = (lookup: any, method: string) => lookup?.params?.__id === 'page' && (method === 'GET' || method === 'HEAD')
    if (options.statusPage && transport === 'express') {
      const page = (req: any, res: any, next: (error?: unknown) => void) => {
        if (!isPage(req.lookup, req.method)) return next()
        res.set(STATUS_PAGE_HEADERS).type('html').send(STATUS_PAGE_HTML)
      }
      use.call(app, options.statusPath, page, service, { methods: ['find'] })
    } else if (options.statusPage && transport === 'koa') {
      const page = async (ctx: any, next: () => Promise<void>) => {
        if (!isPage(ctx.lookup, ctx.method)) return next()
        ctx.set(STATUS_PAGE_HEADERS)
        ctx.type = 'html'
        ctx.body = STATUS_PAGE_HTML
      }
      use.call(app, options.statusPath, service, { methods: ['find'], koa: { before: [page] } })
    } else {
      if (options.statusPage) debug('neither Express nor Koa: the status page is not served')
      use.call(app, options.statusPath, service, { methods: ['find'] })
    }
  }
  if (options.metricsPath !== false && metrics) {
    const path = options.metricsPath
    route(app, new RegExp(`^${escape(path)}/?$`), async () => ({ status: 200, body: await metrics.metrics(), type: metrics.contentType }))
  }
}
