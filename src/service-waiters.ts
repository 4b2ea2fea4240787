import { Timeout, Unavailable } from '@feathersjs/errors'
import type { Application } from '@feathersjs/feathers'
import { describe, MAX_MS } from './checks'

interface Waiter {
  path: string
  resolve(): void
  reject(error: Error): void
  timer: NodeJS.Timeout | undefined
}

/** Callers of `waitForService`: each resolves when its path appears, or fails at its deadline or on close. */
export class ServiceWaiters {
  private readonly waiters = new Set<Waiter>()
  private closed = false

  constructor(private readonly app: Application) {}

  /** The service at `localPath`, now or once it appears; a Timeout error after `timeout` ms (`Infinity`: none). */
  wait(localPath: string, timeout: number): Promise<unknown> {
    if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0 || (timeout > MAX_MS && timeout !== Infinity)) {
      return Promise.reject(new TypeError(`feathers-mesh: waitForService's timeout must be a number of milliseconds from 0 to ${MAX_MS}, or Infinity, got ${describe(timeout)}`))
    }
    if (this.app.services[localPath]) return Promise.resolve(this.app.service(localPath))
    if (this.closed) return Promise.reject(new Unavailable(`The mesh is closed: ${localPath} will not appear`))
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        path: localPath,
        resolve: () => resolve(this.app.service(localPath)),
        reject,
        timer:
          timeout === Infinity
            ? undefined
            : setTimeout(() => {
                this.waiters.delete(waiter)
                reject(new Timeout(`Service ${localPath} did not appear within ${timeout} ms`, { path: localPath, timeout }))
              }, timeout)
      }
      waiter.timer?.unref()
      this.waiters.add(waiter)
    })
  }

  /** A service (proxy or local) appeared at `path`: its waiters resolve. */
  appeared(path: string) {
    for (const waiter of this.waiters) {
      if (waiter.path !== path || !this.app.services[path]) continue
      clearTimeout(waiter.timer)
      this.waiters.delete(waiter)
      waiter.resolve()
    }
  }

  close() {
    this.closed = true
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer)
      waiter.reject(new Unavailable(`The mesh closed while waiting for ${waiter.path}`))
    }
    this.waiters.clear()
  }
}
