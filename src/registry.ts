import createDebug from 'debug'
import { defaultServiceEvents } from '@feathersjs/feathers'
import type { Application } from '@feathersjs/feathers'
import type { ResolvedOptions, ServiceDescriptor } from './options'
import { stripSlashes } from './options'
import type { EventMessage } from './protocol'
import { passes } from './announcer'
import { registerProxyHooks } from './hook-options'
import { RemoteService } from './remote-service'
import { ReplicaSet } from './replica-set'
import { ServiceWaiters } from './service-waiters'
import type { CallContext } from './remote-service'

const debug = createDebug('feathers-mesh:registry')

/** Payload of the app events `service` and `service-removed`. */
export interface RemoteServiceEvent extends ServiceDescriptor {
  /** Path of the proxy in this app (after `remoteServicePath`). */
  localPath: string
}

interface ProxyRecord {
  localPath: string
  key: string
  remotePath: string
  proxy: RemoteService
  replicas: ReplicaSet
  /** Set while the proxy has no replica: it is removed when this fires. */
  linger?: NodeJS.Timeout
}

export interface RegistryHooks {
  /** The captured (original) `app.use` and `app.unuse`: proxies are never announced. */
  use(path: string, ...args: any[]): void
  unuse(path: string): Promise<unknown>
  isLocal(path: string): boolean
  transport: 'express' | 'koa' | 'none'
}

/** Creates a proxy when a first replica of a remote service appears and removes it with the last one. */
export class Registry {
  private readonly records = new Map<string, ProxyRecord>()
  /** (peer uuid, remote path) → local path, fixed when added so `remoteServicePath` runs once. */
  private readonly placements = new Map<string, string>()
  private readonly queues = new Map<string, Promise<void>>()
  private readonly conflicts = new Set<string>()
  private readonly waiters: ServiceWaiters
  private readonly short: string

  constructor(
    private readonly app: Application,
    private readonly options: ResolvedOptions,
    private readonly context: CallContext,
    private readonly hooks: RegistryHooks
  ) {
    this.short = context.uuid.slice(0, 8)
    this.waiters = new ServiceWaiters(app)
  }

  isProxy(path: string) {
    return this.records.has(stripSlashes(path))
  }

  proxies() {
    return [...this.records.values()]
  }

  /** Applies a peer's new list against its previous one. */
  update(uuid: string, services: ServiceDescriptor[], previous: ServiceDescriptor[]) {
    const current = new Set(services.map((s) => s.path))
    for (const descriptor of previous) if (!current.has(descriptor.path)) this.removeReplica(uuid, descriptor.path)
    for (const descriptor of services) this.addReplica(uuid, descriptor)
  }

  removePeer(uuid: string, services: ServiceDescriptor[]) {
    for (const descriptor of services) this.removeReplica(uuid, descriptor.path)
  }

  /** A local service took a path: a proxy there steps aside (a local service always wins). */
  detach(path: string) {
    const record = this.records.get(path)
    if (!record) return
    if (record.linger) clearTimeout(record.linger)
    record.replicas.close()
    this.records.delete(path)
    for (const [placement, localPath] of this.placements) if (localPath === path) this.placements.delete(placement)
    this.app.emit('service-removed', this.eventFor(record))
  }

  /** Re-emits a forwarded event on the proxy fed by its sender, exactly once. */
  deliver(message: EventMessage) {
    const localPath = this.placements.get(placementKey(message.from, message.path))
    const record = localPath === undefined ? undefined : this.records.get(localPath)
    if (!record || !record.replicas.replicas.has(message.from) || message.distributed === false) return
    if (!record.proxy.events.includes(message.event)) return
    const { remoteEvents } = this.options
    if (Array.isArray(remoteEvents) && !remoteEvents.includes(message.event)) return
    const context = {
      app: this.app,
      service: this.app.service(record.localPath),
      path: record.localPath,
      method: message.context.method,
      id: message.context.id,
      event: message.event,
      result: message.data,
      params: {},
      fromRemote: true
    }
    if (typeof remoteEvents === 'function' && !passes(remoteEvents, message.event, message.data, context, this.short)) return
    this.context.stats.eventsIn++
    try {
      this.app.service(record.localPath).emit(message.event, message.data, context)
    } catch (error) {
      debug('%s a listener of %s %s threw: %O', this.short, record.localPath, message.event, error)
    }
  }

  waitForService(path: string, timeout: number): Promise<unknown> {
    return this.waiters.wait(stripSlashes(path), timeout)
  }

  /** A service (proxy or local) appeared at `path`: its waiters resolve. */
  appeared(path: string) {
    this.waiters.appeared(path)
  }

  async close() {
    this.waiters.close()
    const paths = [...this.records.keys()]
    for (const path of paths) this.removeRecord(path)
    await Promise.all([...this.queues.values()])
  }

  private addReplica(uuid: string, descriptor: ServiceDescriptor) {
    const placement = placementKey(uuid, descriptor.path)
    let localPath = this.placements.get(placement)
    if (localPath === undefined) {
      if (!this.options.remoteServices(descriptor)) return
      try {
        localPath = stripSlashes(this.options.remoteServicePath(descriptor))
      } catch (error) {
        debug('%s remoteServicePath threw for %s: %O', this.short, descriptor.path, error)
        return
      }
    }
    const existing = this.records.get(localPath)
    if (existing && (existing.key !== descriptor.key || existing.remotePath !== descriptor.path)) {
      const conflict = `${localPath}\u0000${descriptor.key}`
      if (this.conflicts.has(conflict)) return
      this.conflicts.add(conflict)
      console.warn(`feathers-mesh: path ${localPath} is already served by key "${existing.key}"; ${descriptor.path} of key "${descriptor.key}" is ignored (use remoteServicePath to mount it elsewhere)`)
      return
    }
    if (!existing && this.hooks.isLocal(localPath)) {
      debug('%s %s is a local service: the remote one of key %s is not mounted', this.short, localPath, descriptor.key)
      return
    }
    this.placements.set(placement, localPath)
    if (existing) {
      if (existing.linger) clearTimeout(existing.linger)
      existing.linger = undefined
      existing.replicas.add(uuid, descriptor)
      return
    }
    const replicas = new ReplicaSet(this.options.maxQueue)
    replicas.add(uuid, descriptor)
    const record: ProxyRecord = { localPath, key: descriptor.key, remotePath: descriptor.path, replicas, proxy: new RemoteService(this.context, descriptor, replicas) }
    this.records.set(localPath, record)
    this.enqueue(localPath, async () => {
      if (this.records.get(localPath) !== record) return
      this.mount(record, descriptor)
    })
  }

  private mount(record: ProxyRecord, descriptor: ServiceDescriptor) {
    const events = [...new Set([...defaultServiceEvents, ...descriptor.events])]
    const { before, after } = this.options.middlewares
    const serviceOptions = { methods: descriptor.methods, events, serviceEvents: events }
    // Express takes middleware around the service in `app.use`; Koa takes it in the options.
    if (this.hooks.transport === 'koa') this.hooks.use(record.localPath, record.proxy, { ...serviceOptions, koa: { before, after } })
    else if (this.hooks.transport === 'express') this.hooks.use(record.localPath, ...before, record.proxy, ...after, serviceOptions)
    else this.hooks.use(record.localPath, record.proxy, serviceOptions)
    if (this.options.hooks) registerProxyHooks(this.app.service(record.localPath), this.options.hooks, record.proxy, record.localPath)
    debug('%s mounted %s (key %s) at %s', this.short, descriptor.path, descriptor.key, record.localPath)
    this.app.emit('service', this.eventFor(record))
    this.appeared(record.localPath)
  }

  private removeReplica(uuid: string, remotePath: string) {
    const placement = placementKey(uuid, remotePath)
    const localPath = this.placements.get(placement)
    if (localPath === undefined) return
    this.placements.delete(placement)
    const record = this.records.get(localPath)
    if (!record) return
    record.replicas.delete(uuid)
    if (record.replicas.size > 0 || record.linger) return
    if (this.options.replicaTimeout === 0) return this.removeRecord(localPath)
    // The proxy outlives its last replica a little: a restarting app takes over without a window of 404s.
    record.linger = setTimeout(() => this.removeRecord(localPath), this.options.replicaTimeout)
    record.linger.unref()
  }

  private removeRecord(localPath: string) {
    const record = this.records.get(localPath)
    if (!record) return
    if (record.linger) clearTimeout(record.linger)
    record.replicas.close()
    this.records.delete(localPath)
    this.enqueue(localPath, async () => {
      if (this.app.services[localPath] !== undefined && (this.app.services[localPath] as any).remote === true) {
        await this.hooks.unuse(localPath)
      }
      debug('%s unmounted %s', this.short, localPath)
      this.app.emit('service-removed', this.eventFor(record))
    })
  }

  /** Mount and unmount of one path run in order, so a quick leave-and-return never loses the proxy. */
  private enqueue(path: string, task: () => Promise<void>) {
    const previous = this.queues.get(path) ?? Promise.resolve()
    const next = previous.then(task).catch((error) => debug('%s registry task on %s failed: %O', this.short, path, error))
    this.queues.set(path, next)
    next.then(() => {
      if (this.queues.get(path) === next) this.queues.delete(path)
    })
  }

  private eventFor(record: ProxyRecord): RemoteServiceEvent {
    const descriptor = [...record.replicas.replicas.values()][0]
    return {
      path: record.remotePath,
      key: record.key,
      methods: record.proxy.methods,
      events: record.proxy.events,
      remoteOptions: record.proxy.remoteOptions,
      ...(descriptor ? { methods: descriptor.methods } : {}),
      localPath: record.localPath
    }
  }
}

function placementKey(uuid: string, remotePath: string) {
  return `${uuid}\u0000${remotePath}`
}
