import type { HookContext, HookOptions } from '@feathersjs/feathers'
import { checkKey, envBoolean, servicePath, stripSlashes } from './checks'
import type { StreamTag } from './streams'

export { checkKey, envBoolean, servicePath, stripSlashes }

/**
 * Set by the provider on the params of a call whose caller passed `params.sync = false`: its events
 * stay off replica sync. A symbol: the provider's hooks see only the params `remoteParams` lists.
 */
export const NO_SYNC = Symbol('feathers-mesh: no sync')

/** What a consumer knows of a remote service before it builds a proxy for it. */
export interface ServiceDescriptor {
  /** Path of the service in the app that exposes it. */
  path: string
  /** Partition key of the app that exposes it. */
  key: string
  /** Methods the provider distributes (standard and custom). */
  methods: string[]
  /**
   * Of those, the ones it keeps from its own clients (left out of its Feathers `methods`): the
   * consumer's code may call them through the proxy, the consumer's clients may not. Omitted when none.
   */
  internal?: string[]
  /** Events the provider forwards. */
  events: string[]
  /** Options the provider chose to share (see `remoteServiceOptions`). */
  remoteOptions: Record<string, unknown>
}

/** A local service as the `services` filter sees it. */
export interface LocalServiceInfo {
  path: string
  service: unknown
  options: Record<string, unknown>
}

export type ServiceFilter<T> = string[] | ((service: T) => boolean)
/**
 * Decides, per emission, whether an event crosses the wire (provider) or is re-emitted (consumer).
 * `data` is the event's record as the service dispatched it; `context` the hook context of the
 * call that emitted it (on the consumer, the context the proxy re-emits it with).
 */
export type EventPredicate = (event: string, data: any, context: HookContext) => boolean
export type EventFilter = string[] | EventPredicate

export interface ExpressMiddleware {
  (req: any, res: any, next: (err?: any) => void): void
}
export interface ErrorMiddleware {
  (err: any, req: any, res: any, next: (err?: any) => void): void
}

/**
 * Options of `distribution(options)`. Names and meanings follow feathers-distributed. `null` (or
 * undefined) in any of them means the default, as leaving it out does.
 */
export type DistributionOptions = { [K in keyof MeshOptions]?: MeshOptions[K] | null | undefined }

/** The options, each in the forms it takes (see DistributionOptions). */
export interface MeshOptions {
  /** Local services to expose: a list of paths or a predicate. @default every local service */
  services?: ServiceFilter<LocalServiceInfo>
  /** Remote services to consume: a list of paths or a predicate. @default every remote service */
  remoteServices?: ServiceFilter<ServiceDescriptor>
  /** Local path of the proxy for a remote service. @default the remote path */
  remoteServicePath?: (descriptor: ServiceDescriptor) => string
  /** Names of service options shared with consumers (as `remoteOptions`). @default none */
  remoteServiceOptions?: (service: LocalServiceInfo) => string[] | null | undefined
  /** Hooks registered on every proxy (typed for any app: hooks written for the user's own app type fit). @default none */
  hooks?: HookOptions<any, any>
  /** Middleware around every proxy's REST route (Express middleware, or Koa middleware on Koa apps). @default none */
  middlewares?: { before?: ExpressMiddleware | ExpressMiddleware[]; after?: Array<ExpressMiddleware | ErrorMiddleware> | ExpressMiddleware | ErrorMiddleware }
  /** Remote call timeout in ms; 0 disables it. @default 20000 */
  timeout?: number
  /** Events forwarded to consumers (services can override it in `app.use` options). @default created, updated, patched, removed and the service's own `events` */
  distributedEvents?: EventFilter
  /** Methods served to consumers (services can override it in `app.use` options). @default find, get, create, update, patch, remove */
  distributedMethods?: string[]
  /** Remote events this app's proxies re-emit (a consumer-side filter). @default every event the provider forwards */
  remoteEvents?: EventFilter
  /**
   * Send the events of local services to the other apps of this key that expose the same path, which
   * re-emit them on their own service (replica sync, as feathers-sync does, with no broker). Per
   * service too, in `app.use` options. A hook sets `context.sync = false` (or `params.sync = false`)
   * to keep one event local. @default false
   */
  sync?: boolean
  /** Whether local service events are forwarded at all. @default true */
  publishEvents?: boolean
  /** Partition key of this app: replicas of one microservice share it. @default 'default' */
  key?: string
  /** Route of the healthcheck; `:key` is appended. `false` disables it. @default '/distribution/healthcheck/' */
  healthcheckPath?: string | false
  /** Time the healthcheck waits for each replica, in ms. @default 2000 */
  healthcheckTimeout?: number
  /** Delay before cote starts, in ms. @default 0 */
  coteDelay?: number
  /** Delay before this app's services are announced, in ms. @default 0 */
  publicationDelay?: number
  /**
   * feathers-distributed's pause between its cote components, accepted (a number of ms) so that its
   * configurations carry over. No effect: this app starts its components together.
   * @deprecated no effect
   */
  componentDelay?: number
  /** Interval of heartbeats, in ms; 0 (feathers-distributed's "none") means the default, since heartbeats cannot be off. @default 5000 */
  heartbeatInterval?: number
  /** Silence after which a peer is dropped, in ms. @default 3 × heartbeatInterval */
  heartbeatTimeout?: number
  /** Methods retried on another replica when theirs dies with the call in flight. @default find, get */
  idempotentMethods?: string[]
  /** Extra replicas a call may try after a replica failure (within `timeout`). @default 2 */
  maxRetries?: number
  /** How long a call waits for a replica when none is up, and how long a proxy stays mounted after its last replica left, in ms. @default 3000 */
  replicaTimeout?: number
  /** Calls that may wait for a replica at once, per proxy; more fail at once with Unavailable. @default 1000 */
  maxQueue?: number
  /** On close, how long calls in flight (served here, and this app's own) may take to finish, in ms. @default 5000 */
  gracePeriod?: number
  /** Bytes a subscriber may lag behind before this app drops messages to it. @default 16 MiB */
  maxBacklog?: number
  /** Largest message this app sends (a call, a reply or an event), in bytes; 0 for no limit. @default 64 MiB */
  maxPayload?: number
  /**
   * Mesh secret (or secrets, to rotate: the first seals, all open). Every message is then sealed
   * (encrypted and authenticated, see the README's Security section); apps without it are refused. Also `FEATHERS_MESH_SECRET` or `FEATHERS_MESH_SECRET_FILE`
   * (one secret per line). @default none: the mesh is open to every process that reaches it
   */
  secret?: string | string[]
  /** Params a provider accepts from the wire; nothing else reaches its hooks. @default query, provider, route, user, authentication */
  remoteParams?: string[]
  /** Request headers forwarded to providers as `params.headers` (lower case; providers must accept `headers` in `remoteParams`). @default none */
  forwardHeaders?: string[]
  /** Path of the status service; `false` disables it. @default '/distribution/status' */
  statusPath?: string | false
  /** Serve a live mesh page at `{statusPath}/page`. @default false */
  statusPage?: boolean
  /** Route of the Prometheus metrics; `false` disables it. @default '/distribution/metrics' */
  metricsPath?: string | false
  /** A prom-client registry of the app's own, to register the mesh metrics in. @default a registry of the mesh's own */
  metricsRegistry?: import('prom-client').Registry<import('prom-client').RegistryContentType>
  /**
   * Options of cote's discovery (`broadcast`, `port`, `helloInterval`, `nodeTimeout`, `log`...), and,
   * as in feathers-distributed, `basePort` and `highestPort`: the range the mesh's two TCP ports are
   * taken from (they win over `BASE_PORT` and `HIGHEST_PORT`), and cote's `redis` (`{ host, port }`,
   * `url`, `username`, `password`, `db`), which turns on Redis discovery like `discovery.redis`.
   */
  cote?: Record<string, unknown>
  /**
   * Where apps find each other. Default: UDP broadcast (cote's discovery, see `cote`). With `redis`
   * (also `cote.redis`, `COTE_DISCOVERY_REDIS_URL` and cote's other `COTE_DISCOVERY_REDIS*` variables,
   * which it wins over), through Redis pub/sub instead, for networks without broadcast.
   */
  discovery?: DiscoveryOptions
  /**
   * Host or address peers use to reach this app (also `DISCOVERY_HOSTNAME`). @default with Redis, the
   * local address of the connection to Redis; with broadcast, the source address of the announcements
   */
  advertise?: string
}

export interface DiscoveryOptions {
  /** Redis URL (`redis://[:password@]host:port[/db]`) whose pub/sub carries the announcements. */
  redis?: string | null
}

export interface ResolvedDiscovery {
  redis?: string
  advertise?: string
}

export const DEFAULT_KEY = 'default'
export const DEFAULT_TIMEOUT = 20_000 // ms
export const DEFAULT_HEARTBEAT_INTERVAL = 5_000 // ms
export const DEFAULT_HEALTHCHECK_PATH = '/distribution/healthcheck/'
export const DEFAULT_HEALTHCHECK_TIMEOUT = 2_000 // ms
export const DEFAULT_REPLICA_TIMEOUT = 3_000 // ms
export const DEFAULT_GRACE_PERIOD = 5_000 // ms
export const DEFAULT_MAX_RETRIES = 2
export const DEFAULT_MAX_QUEUE = 1_000
export const DEFAULT_MAX_BACKLOG = 16 * 1024 * 1024 // bytes
export const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024 // bytes
export const DEFAULT_REMOTE_PARAMS = ['query', 'provider', 'route', 'user', 'authentication'] as const

export interface ResolvedOptions {
  services: (service: LocalServiceInfo) => boolean
  remoteServices: (descriptor: ServiceDescriptor) => boolean
  remoteServicePath: (descriptor: ServiceDescriptor) => string
  remoteServiceOptions: (service: LocalServiceInfo) => string[] | null | undefined
  hooks?: HookOptions<any, any>
  middlewares: { before: ExpressMiddleware[]; after: Array<ExpressMiddleware | ErrorMiddleware> }
  timeout: number
  /** Unset: every event each service declares (Feathers' `serviceEvents`: the standard four and its `events`). */
  distributedEvents?: EventFilter
  distributedMethods: string[]
  remoteEvents?: EventFilter
  sync: boolean
  publishEvents: boolean
  key: string
  healthcheckPath: string | false
  healthcheckTimeout: number
  coteDelay: number
  publicationDelay: number
  heartbeatInterval: number
  heartbeatTimeout: number
  forwardHeaders: string[]
  secrets: string[]
  /** Seal on streams to the peers that open them (1.3); FEATHERS_MESH_STREAMS=false seals each message on its own, as 1.2 did. */
  streams: boolean
  /**
   * The newest kind of stream frame tag this app opens, and sends where the peer opens it too:
   * `poly1305` (1.5); `sha256` with FEATHERS_MESH_STREAMS=1.4 and `sha3-256` with
   * FEATHERS_MESH_STREAMS=1.3, which stand in for apps of 1.4 and 1.3.
   */
  streamTag: StreamTag
  remoteParams: string[]
  idempotentMethods: string[]
  maxRetries: number
  replicaTimeout: number
  maxQueue: number
  gracePeriod: number
  maxBacklog: number
  maxPayload: number
  statusPath: string | false
  statusPage: boolean
  metricsPath: string | false
  metricsRegistry?: import('prom-client').Registry<import('prom-client').RegistryContentType>
  cote: Record<string, unknown>
  discovery: ResolvedDiscovery
  /** The range of the mesh's ports (`cote.basePort`–`cote.highestPort`, else BASE_PORT–HIGHEST_PORT), and the settings' names. */
  basePort?: number
  highestPort?: number
  portNames?: readonly [string, string]
}
