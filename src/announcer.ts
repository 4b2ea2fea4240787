import createDebug from 'debug'
import { defaultServiceMethods, getServiceOptions } from '@feathersjs/feathers'
import { encode } from './codec'
import { NO_SYNC } from './options'
import type { EventFilter, EventPredicate, LocalServiceInfo, ResolvedOptions, ServiceDescriptor } from './options'
import { passwordFields, withoutPassword } from './password-fields'
import { PROTOCOL_VERSION } from './protocol'
import type { EventMessage } from './protocol'
import type { Stats } from './stats'

const debug = createDebug('feathers-mesh:announcer')

/** Mesh options a service can set in `app.use(path, service, options)`. */
export interface MeshServiceOptions {
  /** Send this service's events to the other replicas of this app's key (see the `sync` option). */
  sync?: boolean
  distributedEvents?: EventFilter
  distributedMethods?: string[]
}

export interface ExposedService {
  service: any
  descriptor: ServiceDescriptor
  sync: boolean
  stop(): void
}

/** The local side: which services this app exposes, their descriptors, and their forwarded events. */
export class Announcer {
  private seq = 0
  private readonly exposed = new Map<string, ExposedService>()

  constructor(
    private readonly options: ResolvedOptions,
    private readonly uuid: string,
    private readonly publish: (message: EventMessage) => boolean,
    private readonly stats: Stats
  ) {}

  state() {
    return { seq: this.seq, services: [...this.exposed.values()].map((entry) => entry.descriptor) }
  }

  lookup(path: string): ExposedService | undefined {
    return this.exposed.get(path)
  }

  /** Exposes a local service if the `services` filter lets it; returns whether the list changed. */
  expose(path: string, service: any, meshOptions: MeshServiceOptions): boolean {
    // A service kept private that replaces an exposed one changes the list as well.
    const withdrawn = this.withdraw(path)
    const serviceOptions = getServiceOptions(service) ?? {}
    const info: LocalServiceInfo = { path, service, options: { ...serviceOptions } }
    if (!this.options.services(info)) return withdrawn
    const allowedMethods = meshOptions.distributedMethods ?? this.options.distributedMethods
    const candidates = new Set([...defaultServiceMethods, ...(serviceOptions.methods ?? [])])
    const methods = [...candidates].filter((method) => allowedMethods.includes(method) && typeof service[method] === 'function')
    const internal = serviceOptions.methods ? methods.filter((method) => !serviceOptions.methods!.includes(method)) : []
    const serviceEvents: string[] = [...(serviceOptions.serviceEvents ?? [])]
    const allowedEvents = meshOptions.distributedEvents ?? this.options.distributedEvents ?? serviceEvents
    // A list selects events once; a predicate sees every emission and decides before anything is sent.
    const predicate = typeof allowedEvents === 'function' ? allowedEvents : undefined
    const events = !this.options.publishEvents ? [] : predicate ? serviceEvents : serviceEvents.filter((event) => (allowedEvents as string[]).includes(event))
    const descriptor: ServiceDescriptor = {
      path,
      key: this.options.key,
      methods,
      ...(internal.length > 0 ? { internal } : {}),
      events,
      remoteOptions: this.sharedOptions(info, service)
    }
    // Synced services send every event to their fellow replicas, distributed or not.
    const sync = meshOptions.sync ?? this.options.sync
    const listened = sync ? serviceEvents : events
    const listeners = listened.map((event) => {
      const route = { distributed: events.includes(event), predicate, sync }
      const listener = (data: unknown, context?: any) => this.forward(path, event, data, context, route)
      service.on(event, listener)
      return [event, listener] as const
    })
    this.exposed.set(path, {
      service,
      descriptor,
      sync,
      stop: () => listeners.forEach(([event, listener]) => service.removeListener(event, listener))
    })
    this.seq++
    return true
  }

  withdraw(path: string): boolean {
    const entry = this.exposed.get(path)
    if (!entry) return false
    entry.stop()
    this.exposed.delete(path)
    this.seq++
    return true
  }

  /** An event a fellow replica sent for syncing: emitted on the local service, so local channels publish it. */
  replay(message: EventMessage, app: unknown) {
    const exposed = this.exposed.get(message.path)
    if (!exposed?.sync || message.key !== this.options.key) return
    const sent = message.context?.params
    const params = sent !== null && typeof sent === 'object' && !Array.isArray(sent) ? { ...sent } : {}
    const context = { app, service: exposed.service, path: message.path, method: message.context?.method, id: message.context?.id, event: message.event, result: message.data, params, synced: true, fromRemote: true }
    try {
      exposed.service.emit(message.event, message.data, context)
    } catch (error) {
      debug('%s a listener of %s %s threw: %s', this.uuid.slice(0, 8), message.path, message.event, (error as Error)?.message)
    }
  }

  close() {
    for (const entry of this.exposed.values()) entry.stop()
    this.exposed.clear()
  }

  private sharedOptions(info: LocalServiceInfo, service: any): Record<string, unknown> {
    const names = this.options.remoteServiceOptions(info) ?? []
    const source = { ...(service.options ?? {}), ...info.options }
    const shared: Record<string, unknown> = {}
    for (const name of names) {
      if (!(name in source)) continue
      try {
        encode(source[name])
        shared[name] = source[name]
      } catch (error: any) {
        debug('%s option %s of %s cannot be shared: %s', this.uuid.slice(0, 8), name, info.path, error.message)
      }
    }
    return shared
  }

  /** Runs inside the service call that emitted the event: it must never throw. */
  private forward(path: string, event: string, data: unknown, context: any, route: { distributed: boolean; predicate?: EventPredicate; sync: boolean }) {
    try {
      // An event re-emitted from another replica is never sent on: no loops, no echo.
      if (context?.synced === true) return
      const sync = route.sync && context?.sync !== false && context?.params?.sync !== false && context?.params?.[NO_SYNC] !== true
      const distributed = route.distributed && (!route.predicate || passes(route.predicate, event, data, context, this.uuid))
      if (!distributed && !sync) return
      // Consumers and fellow replicas alike get what this app's own clients would: a fellow replica
      // re-emits it to its clients, and the message reaches every subscriber of the mesh.
      const shown = publicData(data, context)
      if (shown === HIDDEN) return
      data = shown
      const message: EventMessage = {
        v: PROTOCOL_VERSION,
        type: 'event',
        from: this.uuid,
        key: this.options.key,
        path,
        event,
        data,
        // Fellow replicas' publishers read who called, as on the sender (feathers-sync sends the whole context).
        context: { method: context?.method, id: context?.id, event },
        ...(distributed ? {} : { distributed: false }),
        ...(sync ? { sync: true } : {})
      }
      const params = sync ? syncedParams(context?.params, context?.app) : undefined
      // Who called never costs the event: one that cannot be sent with them (too large) goes without.
      const sent = (params !== undefined && this.publish({ ...message, context: { ...message.context, params } })) || this.publish(message)
      if (sent) this.stats.eventsOut++
    } catch (error: any) {
      debug('%s event %s of %s not forwarded: %s', this.uuid.slice(0, 8), event, path, error.message)
    }
  }
}

const HIDDEN = Symbol('hidden')

/**
 * What the provider's own real-time clients would get: `context.dispatch` (Feathers' safe data)
 * when hooks set one, else the record. A record whose safe copy cannot be found is not sent.
 */
function publicData(data: unknown, context: any): unknown {
  const dispatch = context?.dispatch
  if (dispatch === undefined || dispatch === null) return data
  if (!Array.isArray(data) && Array.isArray(context.result) && Array.isArray(dispatch)) {
    const index = context.result.indexOf(data)
    return index >= 0 && index < dispatch.length ? dispatch[index] : HIDDEN
  }
  return dispatch
}

/** A filter that throws counts as "not sent": it must never fail the call that emitted the event. */
export function passes(predicate: EventPredicate, event: string, data: unknown, context: any, uuid: string): boolean {
  try {
    return predicate(event, data, context) === true
  } catch (error) {
    debug('%s event filter threw for %s: %s', uuid.slice(0, 8), event, (error as Error)?.message)
    return false
  }
}

/**
 * The params a synced event carries to the fellow replicas, for their channels and publishers:
 * who called (the user without its password, as calls send it) and how (provider, query).
 */
function syncedParams(params: any, app: any): Record<string, unknown> | undefined {
  try {
    const out: Record<string, unknown> = {}
    if (params?.provider !== undefined) out.provider = params.provider
    if (params?.query !== undefined) out.query = params.query
    if (params?.user !== undefined) out.user = withoutPassword(params.user, passwordFields(app))
    encode(out) // a user with a BigInt id, a cycle or a function: the event goes without them
    return out
  } catch (error) {
    debug('synced event sent without its params: %s', (error as Error)?.message)
    return undefined
  }
}
