import './declarations'
import * as plugin from './plugin'
import * as errors from './errors'
import * as options from './options'
import * as protocol from './protocol'
import * as remote from './remote-service'

/**
 * `app.configure(distribution(options))`. The module is this function (`export =`), with the named
 * exports on it: `require('feathers-mesh')`, `import distribution from` and the named imports all
 * type-check as they run. (An `export default` would be typed as the module object, not callable.)
 */
function distribution(meshOptions?: options.DistributionOptions): ReturnType<typeof plugin.distribution> {
  return plugin.distribution(meshOptions)
}

const self = distribution

// A namespace merged with the function: the only way to give an `export =` function named members.
// eslint-disable-next-line @typescript-eslint/no-namespace
namespace distribution {
  export const distribution = self
  export const finalize = plugin.finalize
  export const RemoteService = remote.RemoteService
  export type RemoteService = remote.RemoteService
  export const errorFromWire = errors.errorFromWire
  export const errorToWire = errors.errorToWire
  export const methodNotAllowedError = errors.methodNotAllowedError
  export const payloadTooLargeError = errors.payloadTooLargeError
  export const timeoutError = errors.timeoutError
  export const unavailableError = errors.unavailableError
  export const PROTOCOL_VERSION = protocol.PROTOCOL_VERSION
  export const DEFAULT_KEY = options.DEFAULT_KEY
  export const DEFAULT_TIMEOUT = options.DEFAULT_TIMEOUT
  export const DEFAULT_HEARTBEAT_INTERVAL = options.DEFAULT_HEARTBEAT_INTERVAL
  export const DEFAULT_HEALTHCHECK_PATH = options.DEFAULT_HEALTHCHECK_PATH
  export type DistributionOptions = options.DistributionOptions
  export type MeshOptions = options.MeshOptions
  export type DiscoveryOptions = options.DiscoveryOptions
  export type ServiceDescriptor = options.ServiceDescriptor
  export type LocalServiceInfo = options.LocalServiceInfo
  export type ServiceFilter<T> = options.ServiceFilter<T>
  export type ResolvedOptions = options.ResolvedOptions
  export type EventFilter = options.EventFilter
  export type EventPredicate = options.EventPredicate
  export type ExpressMiddleware = options.ExpressMiddleware
  export type ErrorMiddleware = options.ErrorMiddleware
  export type Distribution = import('./declarations').Distribution
  export type RemoteServiceEvent = import('./proxy-record').RemoteServiceEvent
  export type MeshServiceOptions = import('./announcer').MeshServiceOptions
  export type HealthReport = import('./healthcheck').HealthReport
  export type MeshStatus = import('./status').MeshStatus
  export type WireError = protocol.WireError
}

// Compiled code that reads `.default` without interop helpers (older TypeScript, Babel) gets the function too.
Object.defineProperty(distribution, 'default', { value: distribution, enumerable: true })

// Never run: Node's ES module loader finds the named exports of a CommonJS module by reading its
// code for such an assignment (the values are the function's members, set above).
// prettier-ignore
if (Number.NaN) module.exports = { distribution: self, finalize: self, RemoteService: self, errorFromWire: self, errorToWire: self, methodNotAllowedError: self, payloadTooLargeError: self, timeoutError: self, unavailableError: self, PROTOCOL_VERSION: self, DEFAULT_KEY: self, DEFAULT_TIMEOUT: self, DEFAULT_HEARTBEAT_INTERVAL: self, DEFAULT_HEALTHCHECK_PATH: self, default: self }

export = distribution
