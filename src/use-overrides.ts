import type { Application } from '@feathersjs/feathers'
import type { Announcer, MeshServiceOptions } from './announcer'
import { splitUseArguments } from './app-hooks'
import type { Membership } from './membership'
import { servicePath } from './options'
import type { ResolvedOptions } from './options'
import type { Registry } from './registry'
import { RemoteService } from './remote-service'

interface UseSides {
  options: ResolvedOptions
  announcer: Announcer
  registry: Registry
  membership: Membership
  originalUse: (...args: any[]) => any
  originalUnuse: (path: string) => Promise<unknown>
  /** Whether this app has announced itself (a change is then announced at once), and whether it is closing. */
  published(): boolean
  closing(): boolean
}

/**
 * The app's `use` and `unuse`: a local service is exposed to the mesh (and wins over a proxy at its
 * path), a removed one withdrawn; proxies pass through without being announced.
 */
export function overrideUse(app: Application, sides: UseSides) {
  const { options, announcer, registry, membership, originalUse, originalUnuse } = sides
  const statusPath = options.statusPath === false ? undefined : servicePath(options.statusPath)

  app.use = function (this: Application, path: string, ...rest: any[]) {
    const { service, meshOptions, args } = splitUseArguments(rest)
    if (!service || service instanceof RemoteService || sides.closing()) return originalUse.call(app, path, ...args)
    const localPath = servicePath(path)
    // It would silently replace the status service (and be announced): as if before configure.
    if (localPath === statusPath) throw new Error(`feathers-mesh: ${path} is the mesh's status path (option statusPath): register the service elsewhere, or set statusPath to another path or false`)
    if (registry.isProxy(localPath)) {
      // A local service always wins. Removing a proxy (it has no teardown) completes synchronously.
      registry.detach(localPath)
      void app.unuse(localPath)
    }
    const result = originalUse.call(app, path, ...args)
    if (announcer.expose(localPath, app.service(localPath), meshOptions as MeshServiceOptions) && sides.published()) membership.announce()
    registry.waiters.appeared(localPath)
    return result
  } as any

  app.unuse = async function (this: Application, path: string) {
    const localPath = servicePath(path)
    if (announcer.withdraw(localPath) && sides.published()) membership.announce()
    const local = !registry.isProxy(localPath) && app.services[localPath] !== undefined
    if (!local) registry.detach(localPath)
    const removed = await originalUnuse.call(app, path)
    // A local service gone: a remote one it kept out takes the path (a proxy removed stays out, see the README).
    if (local) registry.freed(localPath)
    return removed
  } as any
}
