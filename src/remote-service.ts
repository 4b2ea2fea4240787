import { performance } from 'perf_hooks'
import { BadRequest } from '@feathersjs/errors'
import { defaultServiceMethods } from '@feathersjs/feathers'
import { errorFromWire, methodNotAllowedError, payloadTooLargeError, timeoutError, unavailableError } from './errors'
import type { ServiceDescriptor } from './options'
import type { ReplicaSet } from './replica-set'
import { recordLatency } from './stats'
import type { MethodStats, Outcome, Stats } from './stats'
import { PROTOCOL_VERSION } from './protocol'
import type { ReplyMessage } from './protocol'
import { TransportError } from './transport'
import { withoutPassword } from './password-fields'
import type { Transport } from './transport'

/** What every proxy shares: the app's transport and call settings. */
export interface CallContext {
  transport: Transport
  uuid: string
  key: string
  timeout: number
  forwardHeaders: string[]
  idempotentMethods: string[]
  maxRetries: number
  replicaTimeout: number
  stats: Stats
  /** The app's password fields (password-fields.ts), read when a call carries a user. */
  passwordFields?: () => readonly string[]
}

/**
 * Params that cross the wire: a whitelist. `connection`, raw `headers` and anything else a
 * transport put there stay on the consumer; chosen headers travel only through `forwardHeaders`.
 */
export function wireParams(params: any, forwardHeaders: string[], passwords?: () => readonly string[]): Record<string, unknown> {
  if (!params) return {}
  const out: Record<string, unknown> = {}
  for (const field of ['query', 'route', 'provider', 'authentication', 'paginate'] as const) {
    if (params[field] !== undefined) out[field] = params[field]
  }
  // The entity authentication loaded carries the password hash (under the field its strategy names); providers never need it.
  if (params.user !== undefined) out.user = withoutPassword(params.user, passwords?.())
  // Not a param for the provider's hooks: a word to its mesh, that this call's events stay off replica sync.
  if (params.sync === false) out.sync = false
  if (forwardHeaders.length > 0 && params.headers) {
    // Names are lower-cased, as HTTP and socket.io give them; headers a gateway sets itself may be written otherwise.
    let headers: Record<string, unknown> | undefined
    for (const [name, value] of Object.entries(params.headers)) {
      const lower = name.toLowerCase()
      if (value !== undefined && forwardHeaders.includes(lower)) (headers ??= {})[lower] = value
    }
    if (headers) out.headers = headers
  }
  return out
}

/**
 * The proxy's own steps, under symbols: a provider's custom method may be named anything, `send`
 * and `call` included, and must never land on them.
 */
const CALL = Symbol('call')
const SEND = Symbol('send')
const LOCAL_PATH = Symbol('localPath')
export const INTERNAL = Symbol('internal')
/** Errors rebuilt from a provider's reply: its service's count as the outcome `error`, its mesh's refusals as `refused`. */
const thrownByProvider = new WeakSet<object>()
const refusedByProvider = new WeakSet<object>()

/** Methods that take an id: like Feathers' own clients, a proxy refuses an undefined one (it would arrive as null, which means "every record"). */
function undefinedId(method: string): Promise<never> {
  const multi = method === 'patch' || method === 'remove' ? `, only null when ${method === 'patch' ? 'patching' : 'removing'} multiple entries` : ''
  return Promise.reject(new BadRequest(`id for '${method}' can not be undefined${multi}`))
}

/** The local stand-in for a service that runs in other apps. */
export class RemoteService {
  readonly remote = true
  readonly key: string
  readonly path: string
  readonly remoteOptions: Record<string, unknown>
  readonly methods: string[]
  /** Methods its providers keep from their clients: not offered to this app's clients (a symbol: custom methods may be named anything). */
  readonly [INTERNAL]: string[]
  readonly events: string[]
  /** Set when the proxy must not serve (its hooks did not register): every call fails with it. */
  refusal: Error | undefined = undefined
  private readonly methodStats = new Map<string, MethodStats>()

  /** Where the proxy is mounted: two keys' services of one remote path, mounted apart, count apart. */
  private readonly [LOCAL_PATH]: string

  constructor(
    private readonly context: CallContext,
    descriptor: ServiceDescriptor,
    readonly replicas: ReplicaSet,
    localPath = descriptor.path
  ) {
    this[LOCAL_PATH] = localPath
    this.key = descriptor.key
    this.path = descriptor.path
    this.remoteOptions = descriptor.remoteOptions
    this.events = descriptor.events
    const methods: string[] = []
    for (const method of descriptor.methods) {
      if (defaultServiceMethods.includes(method)) {
        methods.push(method)
        continue
      }
      // A custom method named as a member of the proxy (`key`, `replicas`...) would replace it.
      if (method in this) {
        console.warn(`feathers-mesh: the proxy of ${descriptor.path} (key ${descriptor.key}) leaves out its custom method ${method}: the name is a member of every proxy`)
        continue
      }
      methods.push(method)
      ;(this as any)[method] = (data: unknown, params?: unknown) => this[CALL](method, [data], params)
    }
    this.methods = methods
    this[INTERNAL] = (descriptor.internal ?? []).filter((method) => methods.includes(method)).sort()
  }

  /**
   * Calls of this proxy in flight now. Feathers calls the proxy's methods on a wrapper object (one
   * per mount), where a counter of its own would stay with the wrapper: the replica set holds it.
   */
  get inFlight() {
    return this.replicas.inFlight
  }

  find(params?: unknown) {
    return this[CALL]('find', [], params)
  }
  get(id: unknown, params?: unknown) {
    return id === undefined ? undefinedId('get') : this[CALL]('get', [id], params)
  }
  create(data: unknown, params?: unknown) {
    return this[CALL]('create', [data], params)
  }
  update(id: unknown, data: unknown, params?: unknown) {
    return id === undefined ? undefinedId('update') : this[CALL]('update', [id, data], params)
  }
  patch(id: unknown, data: unknown, params?: unknown) {
    return id === undefined ? undefinedId('patch') : this[CALL]('patch', [id, data], params)
  }
  remove(id: unknown, params?: unknown) {
    return id === undefined ? undefinedId('remove') : this[CALL]('remove', [id], params)
  }

  /** Counts the call's outcome and latency: a lookup per method name, cached on the proxy. */
  protected async [CALL](method: string, args: unknown[], params: unknown): Promise<unknown> {
    let stats = this.methodStats.get(method)
    if (!stats) {
      stats = this.context.stats.method(this[LOCAL_PATH], method)
      this.methodStats.set(method, stats)
    }
    const started = performance.now()
    this.replicas.inFlight++
    let outcome: Outcome = 'ok'
    try {
      if (this.refusal !== undefined) throw this.refusal
      return await this[SEND](method, args, params)
    } catch (error: any) {
      // What the provider's service threw is its error, whatever its class (an Unavailable of its own, say).
      outcome = thrownByProvider.has(error) ? 'error' : refusedByProvider.has(error) ? 'refused' : error?.code === 408 ? 'timeout' : error?.code === 503 ? 'unavailable' : error?.code === 405 || error?.code === 413 || error?.code === 400 ? 'refused' : 'error'
      throw error
    } finally {
      this.replicas.inFlight--
      stats.outcomes[outcome]++
      recordLatency(stats, (performance.now() - started) / 1000)
    }
  }

  /**
   * Sends a call to one replica after another: a replica that dies with the call in flight costs a
   * retry for idempotent methods; a replica that is leaving refuses before running the call, so any
   * method moves on. Everything stays within `timeout`.
   */
  private async [SEND](method: string, args: unknown[], params: unknown): Promise<unknown> {
    const { transport, uuid, key, timeout, forwardHeaders, idempotentMethods, maxRetries, replicaTimeout } = this.context
    const deadline = timeout > 0 ? performance.now() + timeout : Infinity
    const message = { v: PROTOCOL_VERSION, type: 'call' as const, from: uuid, key, path: this.path, method, args, params: wireParams(params, forwardHeaders, this.context.passwordFields) }
    // Made on the first retry only: most calls never need it.
    let tried: Set<string> | undefined
    // Replicas skipped because nothing could be sent to them: one that joins again (its link back) may take the call.
    let unsent: string[] | undefined
    let failures = 0
    for (;;) {
      const choice = this.replicas.pick(method, tried)
      if ('error' in choice) {
        if (choice.error === 'method') throw methodNotAllowedError(this.path, method)
        if (choice.error === 'removed') throw unavailableError(this.path, method, 'this proxy was removed from the app')
        // No replica (or none left untried): a joining one may still take the call.
        const wait = Math.min(replicaTimeout, deadline - performance.now())
        if (await this.replicas.waitForReplica(wait)) {
          for (const skipped of unsent ?? []) tried?.delete(skipped)
          unsent = undefined
          continue
        }
        throw unavailableError(this.path, method, choice.error === 'none' ? 'no replica is available' : `all ${tried?.size ?? 0} replica(s) failed`)
      }
      const left = deadline - performance.now()
      // Out of time after waits or retries: never send a call that the caller has already given up on.
      if (left <= 0) throw timeoutError(this.path, method, timeout)
      const remaining = deadline === Infinity ? 0 : left
      let reply: ReplyMessage
      try {
        reply = (await transport.request(choice.uuid, message, remaining)) as ReplyMessage
      } catch (error) {
        if (!(error instanceof TransportError)) throw error
        if (error.reason === 'timeout') throw timeoutError(this.path, method, timeout)
        if (error.reason === 'encode') throw new BadRequest(`Remote call ${this.path}.${method} cannot be sent: ${error.message}`)
        if (error.reason === 'too-large') throw payloadTooLargeError(this.path, method, error.message)
        // Nothing was sent (its connection closing, not yet reported): another replica may take any call.
        if (error.reason === 'not-sent' || (error.reason === 'peer-gone' && idempotentMethods.includes(method) && failures < maxRetries)) {
          // Only a call that was sent uses up `maxRetries`.
          if (error.reason === 'peer-gone') failures++
          this.context.stats.retries++
          tried ??= new Set()
          tried.add(choice.uuid)
          if (error.reason === 'not-sent') (unsent ??= []).push(choice.uuid)
          continue
        }
        throw unavailableError(this.path, method, error.message)
      }
      if (!reply || typeof reply !== 'object') throw unavailableError(this.path, method, 'the replica sent a malformed reply')
      if (reply.ok) return reply.value
      if ('refused' in reply) {
        tried ??= new Set()
        tried.add(choice.uuid)
        continue
      }
      if (!reply.error || typeof reply.error !== 'object') throw unavailableError(this.path, method, 'the replica sent a malformed reply')
      // Built here, after the await: V8's async stack traces lead back to the code that made the call,
      // and a successful call pays nothing for it.
      const error = errorFromWire(reply.error)
      ;(reply.error.mesh === true ? refusedByProvider : thrownByProvider).add(error)
      throw error
    }
  }
}
