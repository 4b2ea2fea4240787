import { BadRequest } from '@feathersjs/errors'
import { defaultServiceMethods } from '@feathersjs/feathers'
import { errorFromWire, methodNotAllowedError, timeoutError, unavailableError } from './errors'
import type { ServiceDescriptor } from './options'
import { PROTOCOL_VERSION } from './protocol'
import type { ReplyMessage } from './protocol'
import { TransportError } from './transport'
import type { Transport } from './transport'

/** What every proxy shares: the app's transport and call settings. */
export interface CallContext {
  transport: Transport
  uuid: string
  key: string
  timeout: number
  forwardHeaders: string[]
}

/** The replicas that serve one proxy, chosen in turn. */
export class ReplicaSet {
  readonly replicas = new Map<string, ServiceDescriptor>()
  private cursor = 0

  pick(method: string): { uuid: string } | { error: 'none' | 'method' } {
    const uuids = [...this.replicas.keys()]
    if (uuids.length === 0) return { error: 'none' }
    for (let i = 0; i < uuids.length; i++) {
      const uuid = uuids[(this.cursor + i) % uuids.length]
      if (this.replicas.get(uuid)!.methods.includes(method)) {
        this.cursor = (this.cursor + i + 1) % uuids.length
        return { uuid }
      }
    }
    return { error: 'method' }
  }
}

/**
 * Params that cross the wire: a whitelist. `connection`, raw `headers` and anything else a
 * transport put there stay on the consumer; chosen headers travel only through `forwardHeaders`.
 */
export function wireParams(params: any, forwardHeaders: string[]): Record<string, unknown> {
  if (!params) return {}
  const out: Record<string, unknown> = {}
  for (const field of ['query', 'route', 'provider', 'user', 'authentication'] as const) {
    if (params[field] !== undefined) out[field] = params[field]
  }
  if (forwardHeaders.length > 0 && params.headers) {
    let headers: Record<string, unknown> | undefined
    for (const name of forwardHeaders) if (params.headers[name] !== undefined) (headers ??= {})[name] = params.headers[name]
    if (headers) out.headers = headers
  }
  return out
}

/** The local stand-in for a service that runs in other apps. */
export class RemoteService {
  readonly remote = true
  readonly key: string
  readonly path: string
  readonly remoteOptions: Record<string, unknown>
  readonly methods: string[]
  readonly events: string[]

  constructor(
    private readonly context: CallContext,
    descriptor: ServiceDescriptor,
    readonly replicas: ReplicaSet
  ) {
    this.key = descriptor.key
    this.path = descriptor.path
    this.remoteOptions = descriptor.remoteOptions
    this.methods = descriptor.methods
    this.events = descriptor.events
    for (const method of descriptor.methods) {
      if (defaultServiceMethods.includes(method) || method in this) continue
      ;(this as any)[method] = (data: unknown, params?: unknown) => this.call(method, [data], params)
    }
  }

  find(params?: unknown) {
    return this.call('find', [], params)
  }
  get(id: unknown, params?: unknown) {
    return this.call('get', [id], params)
  }
  create(data: unknown, params?: unknown) {
    return this.call('create', [data], params)
  }
  update(id: unknown, data: unknown, params?: unknown) {
    return this.call('update', [id, data], params)
  }
  patch(id: unknown, data: unknown, params?: unknown) {
    return this.call('patch', [id, data], params)
  }
  remove(id: unknown, params?: unknown) {
    return this.call('remove', [id], params)
  }

  private async call(method: string, args: unknown[], params: unknown): Promise<unknown> {
    // Captured now so a failure points at the code that made the call, not at a socket callback.
    const callerStack = new Error().stack?.split('\n').slice(2).join('\n')
    const choice = this.replicas.pick(method)
    if ('error' in choice) {
      if (choice.error === 'method') throw methodNotAllowedError(this.path, method)
      throw unavailableError(this.path, method, 'no replica is available')
    }
    const { transport, uuid, key, timeout, forwardHeaders } = this.context
    let reply: ReplyMessage
    try {
      reply = (await transport.request(
        choice.uuid,
        { v: PROTOCOL_VERSION, type: 'call', from: uuid, key, path: this.path, method, args, params: wireParams(params, forwardHeaders) },
        timeout
      )) as ReplyMessage
    } catch (error) {
      if (!(error instanceof TransportError)) throw error
      switch (error.reason) {
        case 'timeout':
          throw timeoutError(this.path, method, timeout)
        case 'encode':
          throw new BadRequest(`Remote call ${this.path}.${method} cannot be sent: ${error.message}`)
        default:
          throw unavailableError(this.path, method, error.message)
      }
    }
    if (reply.ok) return reply.value
    throw errorFromWire(reply.error, callerStack)
  }
}
