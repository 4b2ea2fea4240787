import { Timeout, Unavailable } from '@feathersjs/errors'
import type { Application } from '@feathersjs/feathers'

interface Waiter {
  path: string
  resolve(): void
  reject(error: Error): void
  timer: NodeJS.Timeout
}

/** Callers of `waitForService`: each resolves when its path appears, or fails at its deadline or on close. */
export class ServiceWaiters {
  private readonly waiters = new Set<Waiter>()

  constructor(private readonly app: Application) {}

  /** The service at `localPath`, now or once it appears; a Timeout error after `timeout` ms. */
  wait(localPath: string, timeout: number): Promise<unknown> {
    if (this.app.services[localPath]) return Promise.resolve(this.app.service(localPath))
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        path: localPath,
        resolve: () => resolve(this.app.service(localPath)),
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter)
          reject(new Timeout(`Service ${localPath} did not appear within ${timeout} ms`, { path: localPath, timeout }))
        }, timeout)
      }
      waiter.timer.unref()
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
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer)
      waiter.reject(new Unavailable(`The mesh closed while waiting for ${waiter.path}`))
    }
    this.waiters.clear()
  }
}
