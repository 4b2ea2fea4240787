import createDebug from 'debug'
import { defaultServiceMethods } from '@feathersjs/feathers'
import type { Application } from '@feathersjs/feathers'
import type { ResolvedOptions, ServiceDescriptor } from './options'
import { servicePath } from './options'
import type { EventMessage } from './protocol'
import { reemit } from './event-delivery'
import { eventFor, PathQueue, placementKey, type ProxyRecord } from './proxy-record'
import { registerProxyHooks } from './hook-options'
import { adopt, handOn, listenersToCarry } from './mount-carry'
import { LeavingPlacements } from './leaving'
import { INTERNAL, RemoteService } from './remote-service'
import { useProxy } from './proxy-mount'
import type { RegistryHooks } from './proxy-mount'
import { ReplicaSet } from './replica-set'
import { ServiceWaiters } from './service-waiters'
import type { CallContext } from './remote-service'

const debug = createDebug('feathers-mesh:registry')

/** Creates a proxy when a first replica of a remote service appears and removes it with the last one. */
export class Registry {
  private readonly records = new Map<string, ProxyRecord>()
  /** (peer uuid, remote path) → local path, fixed when added so `remoteServicePath` runs once. */
  private readonly placements = new Map<string, string>()
  private readonly queue: PathQueue
  private readonly conflicts = new Set<string>()
  /** Every peer's current list, so that a path that frees up can be given to another key's service. */
  private readonly known = new Map<string, ServiceDescriptor[]>()
  private readonly remounting = new Set<string>()
  private readonly heldBy = new Map<string, string>() // path → key of the proxy a local service (or the app) took it from
  private readonly leaving = new LeavingPlacements()
  private closed = false
  /** Callers of `waitForService`, told when a service (proxy or local) appears. */
  readonly waiters: ServiceWaiters
  private readonly short: string

  constructor(
    private readonly app: Application,
    private readonly options: ResolvedOptions,
    private readonly context: CallContext,
    private readonly hooks: RegistryHooks
  ) {
    this.short = context.uuid.slice(0, 8)
    this.queue = new PathQueue(this.short)
    this.waiters = new ServiceWaiters(app)
  }

  /** Whether a proxy is mounted at `path` (one being mounted again does not count: its unuse is the registry's own). */
  isProxy(path: string) {
    const localPath = servicePath(path)
    return this.records.has(localPath) && !this.remounting.has(localPath)
  }

  proxies() {
    return [...this.records.values()]
  }

  /** Applies a peer's new list against its previous one. */
  update(uuid: string, services: ServiceDescriptor[], previous: ServiceDescriptor[]) {
    this.known.set(uuid, services)
    const current = new Set(services.map((s) => s.path))
    for (const descriptor of previous) if (!current.has(descriptor.path)) this.removeReplica(uuid, descriptor.path)
    for (const descriptor of services) this.addReplica(uuid, descriptor)
  }

  /** A peer left; one that said goodbye (`leaving`) still feeds its proxies' events while it drains. */
  removePeer(uuid: string, services: ServiceDescriptor[], leaving = false) {
    this.known.delete(uuid)
    for (const { path } of services) {
      const localPath = this.placements.get(placementKey(uuid, path))
      if (leaving && localPath !== undefined) this.leaving.note(placementKey(uuid, path), localPath)
      this.removeReplica(uuid, path)
    }
  }

  /**
   * `localPath` is free again (its proxy left, or a local service was removed): a service known
   * peers place there, which a conflict or the local service kept out, is mounted now.
   */
  freed(localPath: string) {
    if (this.closed || this.records.has(localPath) || this.hooks.isLocal(localPath)) return
    this.context.stats.forget(localPath) // its proxy's figures: a path that comes back starts anew
    for (const conflict of this.conflicts) if (conflict.startsWith(`${localPath}\u0000`)) this.conflicts.delete(conflict)
    this.gather(localPath, this.heldBy.get(localPath))
    this.heldBy.delete(localPath)
  }

  /** A local service took a path: a proxy there steps aside (a local service always wins). */
  detach(path: string) {
    const record = this.records.get(path)
    if (!record) return
    this.heldBy.set(path, record.key)
    if (record.linger) clearTimeout(record.linger)
    record.replicas.close()
    this.records.delete(path)
    // Placements stay: once the local service goes (`freed`), the remote one comes back.
    if (record.mounted !== undefined) this.app.emit('service-removed', eventFor(record))
  }

  /** Re-emits a forwarded event on the proxy fed by its sender, exactly once. */
  deliver(message: EventMessage) {
    const placement = placementKey(message.from, message.path)
    const leaving = this.leaving.localPath(placement, () => this.context.transport.linked(message.from))
    const localPath = this.placements.get(placement) ?? leaving
    const record = localPath === undefined ? undefined : this.records.get(localPath)
    const feeds = record?.replicas.replicas.has(message.from) || (leaving !== undefined && record?.key === message.key)
    if (!record || record.remotePath !== message.path || !feeds || message.distributed === false) return
    reemit(this.app, record.localPath, record.proxy, message, this.options, this.context.stats, this.short)
  }

  async close() {
    this.closed = true
    this.leaving.clear()
    this.waiters.close()
    const paths = [...this.records.keys()]
    for (const path of paths) this.removeRecord(path)
    await this.queue.idle()
  }

  private addReplica(uuid: string, descriptor: ServiceDescriptor) {
    const placement = placementKey(uuid, descriptor.path)
    let localPath = this.placements.get(placement)
    if (localPath === undefined) {
      if (!this.options.remoteServices(descriptor)) return
      try {
        localPath = servicePath(this.options.remoteServicePath(descriptor))
      } catch (error) {
        debug('%s remoteServicePath threw for %s: %O', this.short, descriptor.path, error)
        return
      }
    }
    // Placed even when kept out below, so that `freed` finds it without running remoteServicePath again.
    this.placements.set(placement, localPath)
    const existing = this.records.get(localPath)
    if (existing && (existing.key !== descriptor.key || existing.remotePath !== descriptor.path)) {
      const conflict = `${localPath}\u0000${descriptor.key}\u0000${descriptor.path}`
      if (this.conflicts.has(conflict)) return
      this.conflicts.add(conflict)
      console.warn(`feathers-mesh: path ${localPath} is already served by ${existing.remotePath} of key "${existing.key}"; ${descriptor.path} of key "${descriptor.key}" is ignored (use remoteServicePath to mount it elsewhere)`)
      return
    }
    if (!existing && this.hooks.isLocal(localPath)) return void debug('%s %s is a local service: the remote one of key %s is not mounted', this.short, localPath, descriptor.key)
    if (existing) {
      if (existing.linger) clearTimeout(existing.linger)
      existing.linger = undefined
      existing.replicas.add(uuid, descriptor)
      this.widen(existing, descriptor)
      return
    }
    const replicas = new ReplicaSet(this.options.maxQueue)
    replicas.add(uuid, descriptor)
    const record: ProxyRecord = { localPath, key: descriptor.key, remotePath: descriptor.path, replicas, proxy: new RemoteService(this.context, descriptor, replicas, localPath) }
    this.records.set(localPath, record)
    // Every known replica placed here, not only this one: after an `app.unuse` of the proxy, the others do not announce again.
    this.gather(localPath)
    this.queue.enqueue(localPath, async () => {
      if (this.records.get(localPath) !== record) return
      this.mount(record, descriptor)
    })
  }

  /** Adds the service of every known peer placed at `localPath`: those of key `first` (it held the path) before the rest, in the order they came. */
  private gather(localPath: string, first?: string) {
    const placed = [...this.known].flatMap(([uuid, services]) => services.filter((d) => this.placements.get(placementKey(uuid, d.path)) === localPath).map((d) => [uuid, d] as const))
    for (const [uuid, descriptor] of placed.sort(([, a], [, b]) => Number(b.key === first) - Number(a.key === first))) this.addReplica(uuid, descriptor)
  }

  /** New methods or events from a replica (a rolling upgrade), or a change in what replicas keep internal: mounted again. */
  private widen(record: ProxyRecord, descriptor: ServiceDescriptor) {
    const { proxy } = record
    // Names a proxy leaves out (members of every proxy, see RemoteService) never count as new.
    const offered = (method: string) => defaultServiceMethods.includes(method) || proxy.methods.includes(method) || !(method in proxy)
    const methods = [...new Set([...proxy.methods, ...descriptor.methods.filter(offered)])]
    const events = [...new Set([...proxy.events, ...descriptor.events])]
    const internal = record.replicas.internal()
    if (methods.length === proxy.methods.length && events.length === proxy.events.length && internal.join() === proxy[INTERNAL].join()) return
    const widened = new RemoteService(this.context, { ...descriptor, path: record.remotePath, methods, internal, events }, record.replicas, record.localPath)
    record.proxy = widened
    this.queue.enqueue(record.localPath, async () => {
      // Not mounted yet, or mounted widened already: the first mount takes the widened proxy.
      if (this.records.get(record.localPath) !== record || record.proxy !== widened || record.mounted === undefined || record.mounted === widened) return
      // Listeners live on the object Feathers wraps around each mount: the new one gets them.
      const listeners = listenersToCarry(record, this.app.services[record.localPath] as unknown as NodeJS.EventEmitter | undefined)
      await this.unmount(record.localPath)
      // A local service may have taken the path while its mount came off.
      if (this.records.get(record.localPath) !== record || this.hooks.isLocal(record.localPath)) return
      this.mount(record, descriptor)
      handOn(this.app.services[record.localPath] as unknown as NodeJS.EventEmitter, listeners)
    })
  }

  private mount(record: ProxyRecord, descriptor: ServiceDescriptor) {
    if (record.mounted === record.proxy) return
    // Refused by Feathers: the proxy is not kept (each list its providers announce tries again).
    if (!useProxy(this.hooks, this.options.middlewares, record)) {
      record.replicas.close()
      this.records.delete(record.localPath)
      if (record.mounted !== undefined) this.app.emit('service-removed', eventFor(record))
      return
    }
    record.mounted = record.proxy
    const mounted = this.app.service(record.localPath)
    if (this.options.hooks) registerProxyHooks(mounted, this.options.hooks, record.proxy, record.localPath)
    debug('%s mounted %s (key %s) at %s', this.short, descriptor.path, descriptor.key, record.localPath)
    adopt(record, mounted as any, () => this.app.emit('service', eventFor(record)))
    this.waiters.appeared(record.localPath)
  }

  private removeReplica(uuid: string, remotePath: string) {
    const placement = placementKey(uuid, remotePath)
    const localPath = this.placements.get(placement)
    if (localPath === undefined) return
    this.placements.delete(placement)
    const record = this.records.get(localPath)
    // A service kept out of the path (another key's, another remote path) is not the record's replica.
    if (!record || record.remotePath !== remotePath || !record.replicas.replicas.has(uuid)) return
    record.replicas.delete(uuid)
    if (record.replicas.size > 0) return this.widen(record, record.replicas.replicas.values().next().value!)
    if (record.linger) return
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
    this.queue.enqueue(localPath, async () => {
      if (record.mounted !== undefined && this.app.services[localPath] !== undefined && (this.app.services[localPath] as any).remote === true) await this.unmount(localPath)
      debug('%s unmounted %s', this.short, localPath)
      if (record.mounted !== undefined) this.app.emit('service-removed', eventFor(record))
      this.freed(localPath)
    })
  }

  /** Takes a proxy's mount off, through `app.unuse` as the app's own removal would not: a newer record may hold the path. */
  private async unmount(localPath: string) {
    this.remounting.add(localPath)
    try {
      await this.hooks.unuse(localPath)
    } finally {
      this.remounting.delete(localPath)
    }
  }
}
