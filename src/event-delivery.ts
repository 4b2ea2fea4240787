import createDebug from 'debug'
import type { Application } from '@feathersjs/feathers'
import { passes } from './announcer'
import type { ResolvedOptions } from './options'
import type { EventMessage } from './protocol'
import type { RemoteService } from './remote-service'
import type { Stats } from './stats'

const debug = createDebug('feathers-mesh:event-delivery')

/**
 * Re-emits a provider's forwarded event on the proxy at `localPath`, as the event of a local
 * service: with a context of its own, after the proxy's events and `remoteEvents` let it through.
 * A listener that throws is logged, never passed back to the transport.
 */
export function reemit(app: Application, localPath: string, proxy: RemoteService, message: EventMessage, options: ResolvedOptions, stats: Stats, short: string) {
  if (!proxy.events.includes(message.event)) return
  const { remoteEvents } = options
  if (Array.isArray(remoteEvents) && !remoteEvents.includes(message.event)) return
  // Not mounted at this instant (its first mount or a remount is queued): nobody listens yet.
  if (app.services[localPath] === undefined) return
  const service = app.service(localPath)
  const context = {
    app,
    service,
    path: localPath,
    method: message.context.method,
    id: message.context.id,
    event: message.event,
    result: message.data,
    params: {},
    fromRemote: true
  }
  if (typeof remoteEvents === 'function' && !passes(remoteEvents, message.event, message.data, context, short)) return
  stats.eventsIn++
  try {
    service.emit(message.event, message.data, context)
  } catch (error) {
    debug('%s a listener of %s %s threw: %O', short, localPath, message.event, error)
  }
}
