import createDebug from 'debug'
import { BadRequest, NotFound } from '@feathersjs/errors'
import { createContext } from '@feathersjs/feathers'
import type { Announcer } from './announcer'
import { errorToWire, methodNotAllowedError } from './errors'
import type { CallMessage, PingReply, ReplyMessage } from './protocol'
import { NO_SYNC } from './options'

const debug = createDebug('feathers-mesh:responder')

/** Arguments each standard method takes before `params`; custom methods take `data`. */
const ARITY: Record<string, number> = { find: 0, get: 1, create: 1, update: 2, patch: 2, remove: 1 }

/** Params the provider accepts from the wire (`remoteParams`); `fromRemote` is set here, never trusted from a peer. */
function localParams(wire: unknown, accepted: string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {}
  if (wire && typeof wire === 'object') {
    const source = wire as Record<string, unknown>
    for (const field of accepted) {
      if (field !== 'fromRemote' && source[field] !== undefined) params[field] = source[field]
    }
  }
  if (params.query === undefined || params.query === null) params.query = {}
  if (wire && typeof wire === 'object' && (wire as Record<string, unknown>).sync === false) (params as Record<symbol, unknown>)[NO_SYNC] = true
  params.fromRemote = true
  return params
}

/** Serves calls from consumers to this app's exposed services. */
export async function serveCall(announcer: Announcer, message: CallMessage, accepted: string[]): Promise<ReplyMessage> {
  // Refusals of the mesh, before the service runs: the consumer counts them as such, not as the service's errors.
  const refuse = (error: Error): ReplyMessage => ({ ok: false, error: { ...errorToWire(error), mesh: true } })
  try {
    const exposed = typeof message.path === 'string' ? announcer.lookup(message.path) : undefined
    if (!exposed) return refuse(new NotFound(`Service ${message.path} is not exposed by this app`))
    const { method } = message
    if (typeof method !== 'string' || !exposed.descriptor.methods.includes(method)) return refuse(methodNotAllowedError(message.path, String(method)))
    const arity = ARITY[method] ?? 1
    if (!Array.isArray(message.args) || message.args.length !== arity) {
      return refuse(new BadRequest(`Remote call ${message.path}.${method} expects ${arity} argument(s) before params`))
    }
    const context = createContext(exposed.service, method, {})
    const done = await exposed.service[method](...message.args, localParams(message.params, accepted), context)
    return { ok: true, value: done.dispatch !== undefined ? done.dispatch : done.result }
  } catch (error) {
    debug('call %s.%s failed: %s', message.path, message.method, (error as Error)?.message)
    return { ok: false, error: errorToWire(error) }
  }
}

/** Healthcheck probe: which of the asked paths this app no longer serves. */
export function servePing(announcer: Announcer, paths: unknown): ReplyMessage {
  const asked = Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : []
  const reply: PingReply = { missing: asked.filter((path) => !announcer.lookup(path)) }
  return { ok: true, value: reply }
}

/** Counts calls in flight so a closing app can refuse new ones and let the running ones finish. */
export class CallServer {
  private inFlight = 0
  private draining = false
  private drained?: () => void

  constructor(
    private readonly announcer: Announcer,
    private readonly accepted: string[]
  ) {}

  async serve(message: CallMessage): Promise<ReplyMessage> {
    // Refused before running: the consumer may send it to another replica, whatever the method.
    if (this.draining) return { ok: false, refused: 'this app is leaving' }
    this.inFlight++
    try {
      return await serveCall(this.announcer, message, this.accepted)
    } finally {
      this.inFlight--
      if (this.inFlight === 0) this.drained?.()
    }
  }

  /** Refuses new calls and waits (at most `grace` ms) for the running ones. */
  drain(grace: number): Promise<void> {
    this.draining = true
    if (this.inFlight === 0 || grace <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, grace)
      this.drained = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
}
