import type { EventPredicate } from './options'
import type { Distribution } from './plugin'

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
  }
}

export {}
