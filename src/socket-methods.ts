import { createRequire } from 'module'
import createDebug from 'debug'
import { getServiceOptions } from '@feathersjs/feathers'

const debug = createDebug('feathers-mesh:registry')

type RunMethod = (app: unknown, params: unknown, path: unknown, method: string, args: unknown[]) => unknown

let found: RunMethod | null | undefined

/** Feathers' own socket method runner, from the transport the app runs (so, the same version). */
function runMethodOf(): RunMethod | null {
  if (found !== undefined) return found
  found = null
  // The app's own transport first (the same version), else through @feathersjs/express, which we depend on.
  for (const from of ['@feathersjs/socketio', '@feathersjs/express']) {
    try {
      found = createRequire(require.resolve(from))('@feathersjs/transport-commons/lib/socket/utils').runMethod ?? null
      if (found) break
    } catch (error) {
      debug('no socket method runner through %s: %s', from, (error as Error).message)
    }
  }
  if (!found) console.warn('feathers-mesh: socket.io clients connected before a proxy was mounted cannot call its methods (@feathersjs/transport-commons not found)')
  return found ?? null
}

/**
 * Feathers' socket.io transport gives a connection one handler per method name, of the services
 * there when it connects: a proxy mounted later (after a gateway restart, browsers reconnect before
 * discovery mounts it) would have none for its other methods, and those calls would go unanswered.
 * After each mount, open connections get the handlers they lack, made as Feathers makes them.
 */
export function offerSocketMethods(app: any, path: string) {
  // The proxy is mounted already: nothing here may fail that mount.
  try {
    const sockets = app?.io?.sockets?.sockets as Map<string, any> | undefined
    if (!sockets || sockets.size === 0) return
    const service = app.services?.[path]
    const runMethod = service && runMethodOf()
    if (!runMethod) return
    for (const method of getServiceOptions(service)?.methods ?? []) {
      for (const socket of sockets.values()) {
        if (socket.listenerCount(method) > 0) continue
        socket.on(method, (servicePath: unknown, ...args: unknown[]) => runMethod(app, socket.feathers, servicePath, method, args))
      }
    }
  } catch (error) {
    debug('socket.io method handlers for %s not added: %s', path, (error as Error)?.message)
  }
}
