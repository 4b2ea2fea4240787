import type { HealthReport } from './healthcheck'
import type { EventPredicate, ResolvedOptions } from './options'
import type { MeshStatus } from './status'

/** The mesh handle: `app.distribution`. */
export interface Distribution {
  /** This app's partition key. */
  readonly key: string
  /** This app's id in the mesh (new at every start). */
  readonly uuid: string
  /** Resolves once this app is reachable and its services are announced. */
  readonly ready: Promise<void>
  /** The resolved options. */
  readonly options: Readonly<ResolvedOptions>
  /** Resolves with the service at `path` once it exists (local, or remote through a proxy); `S` types it. */
  waitForService<S = any>(path: string, options?: { timeout?: number }): Promise<S>
  /** Probes every replica of `key` (as `GET {healthcheckPath}:key` does). */
  healthcheck(key?: string): Promise<HealthReport>
  /** TCP ports this app listens on for the mesh (calls, events); undefined until started. */
  readonly ports?: { responder: number; publisher: number }
  /** Messages dropped so far (unauthenticated, replayed, malformed...), by reason. */
  drops(): Record<string, number>
  /** This app, its peers, its proxies and its counters (see MeshStatus). */
  status(): MeshStatus
  /** Prometheus registry of the mesh metrics, when metrics are on. */
  readonly metrics?: import('prom-client').Registry<import('prom-client').RegistryContentType>
  /** Peers refused (incompatible protocol version), with the reason. */
  refused(): Array<{ uuid: string; key: string; reason: string }>
  /** Admitted peers, with the host this app reaches each on. */
  peers(): Array<{ uuid: string; key: string; host?: string; services: string[] }>
  /** Closes everything the mesh opened (as `finalize(app)`). */
  close(): Promise<void>
}

declare module '@feathersjs/feathers/lib/declarations' {
  interface Application<Services, Settings> {
    /** The mesh handle, set by `app.configure(distribution())`. */
    distribution: Distribution
  }
  interface ServiceOptions<MethodTypes> {
    /** Events of this service forwarded to consumers: a list, or a predicate run per emission (overrides the app-level option). */
    distributedEvents?: string[] | EventPredicate
    /** Send this service's events to the other replicas of this app's key (overrides the app-level `sync`). */
    sync?: boolean
    /** Methods of this service served to consumers (overrides the app-level option). */
    distributedMethods?: string[]
  }
  interface Params<Q> {
    /** Set by the provider on calls that came through the mesh. */
    fromRemote?: boolean
    /** `false` keeps the events of this call from the other replicas of the key (replica sync). */
    sync?: boolean
  }
}

export {}
