import createDebug from 'debug'
import type { ServiceDescriptor } from './options'
import type { RemoteService } from './remote-service'
import type { ReplicaSet } from './replica-set'

const debug = createDebug('feathers-mesh:registry')

/**
 * Payload of the app events `service` and `service-removed`. `path` is the proxy's, as in
 * feathers-distributed, so that `app.service(event.path)` finds it.
 */
export interface RemoteServiceEvent extends Omit<ServiceDescriptor, 'path'> {
  /** Path of the proxy in this app (after `remoteServicePath`). */
  path: string
  /** Path of the service in the provider. */
  remotePath: string
  /** Same as `path`, for code written when `path` was the provider's. */
  localPath: string
}

/** A proxy the registry keeps: where it is mounted, what it stands for, and its replicas. */
export interface ProxyRecord {
  localPath: string
  key: string
  remotePath: string
  /** Replaced when a newer replica widens it (see Registry.widen). */
  proxy: RemoteService
  /** The proxy mounted now, once the first mount has run. */
  mounted?: RemoteService
  replicas: ReplicaSet
  /** Hooks registered on the mounted proxy itself, registered again when it is mounted wider (mount-carry.ts). */
  hooks?: unknown[]
  /** Publishers registered on the proxy itself (`service.publish(...)`), as their arguments: kept across mounts. */
  publishers?: unknown[][]
  /** Listeners Feathers' mixins installed on the current mount: not handed on to the next one. */
  installed?: Set<(...args: any[]) => void>
  /** Set while the proxy has no replica: it is removed when this fires. */
  linger?: NodeJS.Timeout
}

export function eventFor(record: ProxyRecord): RemoteServiceEvent {
  const { proxy } = record
  return { path: record.localPath, remotePath: record.remotePath, key: record.key, methods: proxy.methods, events: proxy.events, remoteOptions: proxy.remoteOptions, localPath: record.localPath }
}

/** Where a peer's service is placed: (peer uuid, remote path). */
export function placementKey(uuid: string, remotePath: string) {
  return `${uuid}\u0000${remotePath}`
}

/** Mount and unmount tasks, in order per path, so a quick leave-and-return never loses the proxy. */
export class PathQueue {
  private readonly queues = new Map<string, Promise<void>>()

  constructor(private readonly short: string) {}

  enqueue(path: string, task: () => Promise<void>) {
    const previous = this.queues.get(path) ?? Promise.resolve()
    const next = previous.then(task).catch((error) => debug('%s registry task on %s failed: %O', this.short, path, error))
    this.queues.set(path, next)
    next.then(() => {
      if (this.queues.get(path) === next) this.queues.delete(path)
    })
  }

  /** Every task queued so far has run. */
  async idle() {
    await Promise.all([...this.queues.values()])
  }
}
