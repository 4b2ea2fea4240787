import './declarations'
import { distribution, finalize } from './plugin'
import { errorFromWire, errorToWire, methodNotAllowedError, payloadTooLargeError, timeoutError, unavailableError } from './errors'
import { DEFAULT_HEALTHCHECK_PATH, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_KEY, DEFAULT_TIMEOUT } from './options'
import { PROTOCOL_VERSION } from './protocol'
import { RemoteService } from './remote-service'

export {
  distribution,
  finalize,
  RemoteService,
  errorFromWire,
  errorToWire,
  methodNotAllowedError,
  payloadTooLargeError,
  timeoutError,
  unavailableError,
  PROTOCOL_VERSION,
  DEFAULT_KEY,
  DEFAULT_TIMEOUT,
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_HEALTHCHECK_PATH
}
export type { DistributionOptions, ServiceDescriptor, LocalServiceInfo, ResolvedOptions, EventFilter, EventPredicate } from './options'
export type { Distribution } from './declarations'
export type { RemoteServiceEvent } from './proxy-record'
export type { MeshServiceOptions } from './announcer'
export type { HealthReport } from './healthcheck'
export type { MeshStatus } from './status'
export type { WireError } from './protocol'

export default distribution

// `require('feathers-mesh')` returns the function itself, with the named exports on it.
module.exports = Object.assign(distribution, module.exports, { default: distribution })
