import type { ServiceDescriptor } from './options'

interface Waiter {
  resolve(): void
  timer: NodeJS.Timeout
}

/**
 * The replicas that serve one proxy, chosen in turn. When none is up, callers wait (bounded in
 * number and time) for one to join, so a restarting service costs latency, not errors.
 */
export class ReplicaSet {
  readonly replicas = new Map<string, ServiceDescriptor>()
  /** Calls of the proxy in flight now: kept here, where every object standing for the proxy reaches the same count. */
  inFlight = 0
  private cursor = 0
  /** The uuids in order, rebuilt on change rather than on every call. */
  private order: string[] = []
  private readonly waiters = new Set<Waiter>()
  private closed = false

  constructor(private readonly maxQueue: number) {}

  add(uuid: string, descriptor: ServiceDescriptor) {
    const joined = !this.replicas.has(uuid)
    this.replicas.set(uuid, descriptor)
    this.order = [...this.replicas.keys()]
    // Only a new replica can take a waiting call: one that re-announces was tried already, and
    // waking for it would start the caller's wait over (for good, with timeout 0 and a chatty peer).
    if (joined) this.wake()
  }

  delete(uuid: string) {
    this.replicas.delete(uuid)
    this.order = [...this.replicas.keys()]
  }

  /** Methods any replica keeps from its clients, in order: a method is offered to this app's clients only if none does. */
  internal(): string[] {
    const internal = new Set<string>()
    for (const descriptor of this.replicas.values()) for (const method of descriptor.internal ?? []) internal.add(method)
    return [...internal].sort()
  }

  has(uuid: string) {
    return this.replicas.has(uuid)
  }

  get size() {
    return this.replicas.size
  }

  /** The next replica that serves `method`, skipping `exclude` (replicas this call already tried, if any). */
  pick(method: string, exclude?: Set<string>): { uuid: string } | { error: 'none' | 'method' | 'exhausted' | 'removed' } {
    const uuids = this.order
    // A proxy removed from the app (a reference someone kept) serves nothing, whatever replicas remain.
    if (this.closed) return { error: 'removed' }
    if (uuids.length === 0) return { error: 'none' }
    let serving = 0
    for (let i = 0; i < uuids.length; i++) {
      const index = (this.cursor + i) % uuids.length
      const uuid = uuids[index]
      if (!this.replicas.get(uuid)!.methods.includes(method)) continue
      serving++
      if (exclude?.has(uuid)) continue
      this.cursor = (index + 1) % uuids.length
      return { uuid }
    }
    return { error: serving === 0 ? 'method' : 'exhausted' }
  }

  /** Resolves true when a replica joins within `ms`, false on time-out or when the queue is full. */
  waitForReplica(ms: number): Promise<boolean> {
    if (this.closed || ms <= 0 || this.waiters.size >= this.maxQueue) return Promise.resolve(false)
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve: () => resolve(true),
        timer: setTimeout(() => {
          this.waiters.delete(waiter)
          resolve(false)
        }, ms)
      }
      waiter.timer.unref()
      this.waiters.add(waiter)
    })
  }

  /** Releases every waiting call (they see no replica and fail). */
  close() {
    this.closed = true
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer)
      waiter.resolve()
    }
    this.waiters.clear()
  }

  private wake() {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer)
      waiter.resolve()
    }
    this.waiters.clear()
  }
}
