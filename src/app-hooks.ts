import createDebug from 'debug'
import type { Application } from '@feathersjs/feathers'
import type { HealthReport } from './healthcheck'
import type { ResolvedOptions } from './options'
import type { MeshStatus } from './status'
import { STATUS_PAGE_HEADERS, STATUS_PAGE_HTML } from './status-page'
import type { Registry } from 'prom-client'

const debug = createDebug('feathers-mesh:app-hooks')

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
  if (optionsIndex === -1) return { service, meshOptions: {}, args: rest }
  const { distributedEvents, distributedMethods, sync, ...serviceOptions } = rest[optionsIndex]
  if (sync !== undefined && typeof sync !== 'boolean') throw new TypeError(`feathers-mesh: service option sync must be a boolean, got ${JSON.stringify(sync)}`)
  for (const [name, value] of Object.entries({ distributedEvents, distributedMethods })) {
    if (name === 'distributedEvents' && typeof value === 'function') continue
    if (value !== undefined && (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))) {
      throw new TypeError(`feathers-mesh: service option ${name} must be an array of strings, got ${JSON.stringify(value)}`)
    }
  }
  const args = [...rest]
  if (Object.keys(serviceOptions).length > 0) args[optionsIndex] = serviceOptions
  else args.splice(optionsIndex, 1)
  return { service, meshOptions: { distributedEvents, distributedMethods, sync }, args }
}

/** `GET {base}:key?` on an Express app; other transports get it through `app.distribution.healthcheck`. */
export function mountHealthcheck(app: Application, base: string, check: (key: string) => Promise<HealthReport>) {
  const expressApp = app as any
  if (typeof expressApp.route !== 'function' || typeof expressApp.get !== 'function') {
    debug('not an Express app: the healthcheck route is not mounted')
    return
  }
  const prefix = `/${base.replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/')
  expressApp.get(`${prefix}:key?`, (req: any, res: any) => {
    check(req.params.key ?? 'default').then(
      (report) => res.status(report.status).json(report.body),
      (error) => res.status(500).json({ message: String(error?.message ?? error) })
    )
  })
}

/**
 * The status service (a Feathers service, so it takes hooks such as `authenticate('jwt')`; never
 * announced to the mesh) and the Prometheus route.
 */
export function mountStatus(app: Application, options: ResolvedOptions, use: (...args: any[]) => unknown, status: () => MeshStatus, metrics?: Registry) {
  const expressApp = app as any
  if (options.statusPath !== false) {
    const service = { find: async () => status() }
    if (options.statusPage && typeof expressApp.route === 'function') {
      // Runs before Feathers' REST handler of the service, so `GET {statusPath}/page` is never get('page').
      const page = (req: any, res: any, next: (error?: unknown) => void) => {
        if (req.lookup?.params?.__id !== 'page' || (req.method !== 'GET' && req.method !== 'HEAD')) return next()
        res.set(STATUS_PAGE_HEADERS).type('html').send(STATUS_PAGE_HTML)
      }
      use.call(app, options.statusPath, page, service, { methods: ['find'] })
    } else {
      if (options.statusPage) debug('not an Express app: the status page is not served')
      use.call(app, options.statusPath, service, { methods: ['find'] })
    }
  }
  if (options.metricsPath !== false && metrics && typeof expressApp.route === 'function') {
    expressApp.get(options.metricsPath, (_req: any, res: any) => {
      metrics.metrics().then(
        (text) => res.type(metrics.contentType).send(text),
        (error) => res.status(500).json({ message: String(error?.message ?? error) })
      )
    })
  }
}
