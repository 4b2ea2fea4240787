import type { Distribution } from './plugin'

declare module '@feathersjs/feathers/lib/declarations' {
  interface Application<Services, Settings> {
    /** The mesh handle, set by `app.configure(distribution())`. */
    distribution: Distribution
  }
  interface ServiceOptions<MethodTypes> {
    /** Events of this service forwarded to consumers (overrides the app-level option). */
    distributedEvents?: string[]
    /** Methods of this service served to consumers (overrides the app-level option). */
    distributedMethods?: string[]
  }
  interface Params<Q> {
    /** Set by the provider on calls that came through the mesh. */
    fromRemote?: boolean
  }
}

export {}
