import { defaultServiceMethods } from '@feathersjs/feathers'
import { asArray, checkBoolean, describe, checkCount, checkPath, checkKey, checkList, checkMs, envBoolean, envNumber, stripSlashes, toPredicate } from './checks'
import type { Env } from './checks'
import { resolveDiscovery } from './discovery-options'
import { checkHooks } from './hook-options'
import { checkOptionNames } from './option-names'
import { portRange } from './port-range'
import { resolveSecrets } from './secrets'
import {
  DEFAULT_GRACE_PERIOD,
  DEFAULT_HEALTHCHECK_PATH,
  DEFAULT_HEALTHCHECK_TIMEOUT,
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_KEY,
  DEFAULT_MAX_BACKLOG,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_QUEUE,
  DEFAULT_MAX_RETRIES,
  DEFAULT_REMOTE_PARAMS,
  DEFAULT_REPLICA_TIMEOUT,
  DEFAULT_TIMEOUT
} from './options'
import type { DistributionOptions, EventFilter, EventPredicate, MeshOptions, ResolvedOptions } from './options'
import { POLY1305_AVAILABLE } from './poly1305'
import type { StreamTag } from './streams'

/**
 * FEATHERS_MESH_STREAMS=1.3 or 1.4 stands in for an app of that version; anything else opens every
 * kind of tag, when the process runs WebAssembly (else it acts as an app of 1.4).
 */
function streamTagSetting(value: string | undefined, wasm: boolean): StreamTag {
  const version = value?.trim()
  return version === '1.3' ? 'sha3-256' : version === '1.4' || !wasm ? 'sha256' : 'poly1305'
}

function checkEventFilter(name: string, value: unknown, fallback: string[]): EventFilter {
  return typeof value === 'function' ? (value as EventPredicate) : checkList(name, value, fallback)
}

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object' && !Array.isArray(value)

/** Options the mesh keeps and hands on as they are: checked for their shape here, so that a wrong one fails at configure. */
function checkShapes(options: DistributionOptions) {
  checkHooks(options.hooks)
  const middlewares = options.middlewares as unknown
  if (middlewares !== undefined) {
    // Express takes nested arrays of middleware too.
    const fine = isObject(middlewares) && Object.keys(middlewares).every((name) => name === 'before' || name === 'after')
    const all = fine ? [...asArray<unknown>(options.middlewares!.before), ...asArray<unknown>(options.middlewares!.after)].flat(Infinity) : []
    if (!fine || !all.every((m) => typeof m === 'function')) {
      throw new TypeError(`feathers-mesh: option middlewares must be { before?, after? }, each a middleware function or an array of them, got ${describe(middlewares)}`)
    }
  }
  const registry = options.metricsRegistry as unknown
  if (registry !== undefined && (!isObject(registry) || typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function')) {
    throw new TypeError(`feathers-mesh: option metricsRegistry must be a prom-client Registry, got ${describe(registry)}`)
  }
}

/** The options' own properties, those set to null left out: null stands for "not set", as it did when values were read with `??`. */
function given(options: DistributionOptions): MeshOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== null)) as MeshOptions
}

/** Validates options and fills every default once, so the rest of the code never guesses. */
export function resolveOptions(raw: DistributionOptions = {}, env: Env = process.env): ResolvedOptions {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new TypeError(`feathers-mesh: options must be an object, got ${describe(raw)}`)
  checkOptionNames(raw)
  const options = given(raw)
  // An option read from its environment variable is named with it in errors.
  const named = (name: 'heartbeatInterval' | 'coteDelay' | 'publicationDelay', variable: string) => (options[name] === undefined && env[variable] !== undefined ? `${name} (from ${variable})` : name)
  const givenInterval = checkMs(named('heartbeatInterval', 'HEARTBEAT_INTERVAL'), options.heartbeatInterval ?? envNumber(env, 'HEARTBEAT_INTERVAL'), DEFAULT_HEARTBEAT_INTERVAL)
  // 0 is feathers-distributed's "no periodic announcements". Heartbeats expire dead peers here and cannot be off: 0 takes the default.
  const heartbeatInterval = givenInterval === 0 ? DEFAULT_HEARTBEAT_INTERVAL : givenInterval
  const heartbeatTimeout = checkMs('heartbeatTimeout', options.heartbeatTimeout, 3 * heartbeatInterval)
  if (heartbeatTimeout <= heartbeatInterval) {
    throw new TypeError(`feathers-mesh: option heartbeatTimeout (${heartbeatTimeout}) must be greater than heartbeatInterval (${heartbeatInterval})`)
  }
  if (options.remoteServicePath !== undefined && typeof options.remoteServicePath !== 'function') {
    throw new TypeError('feathers-mesh: option remoteServicePath must be a function (descriptor) => path')
  }
  if (options.remoteServiceOptions !== undefined && typeof options.remoteServiceOptions !== 'function') {
    throw new TypeError('feathers-mesh: option remoteServiceOptions must be a function (service) => string[]')
  }
  // '' is the default, as feathers-distributed's `healthcheckPath || default`; the root would answer GET / and every /:segment.
  const healthcheckPath = options.healthcheckPath === '' ? DEFAULT_HEALTHCHECK_PATH : options.healthcheckPath ?? DEFAULT_HEALTHCHECK_PATH
  if ((healthcheckPath !== false && typeof healthcheckPath !== 'string') || (typeof healthcheckPath === 'string' && stripSlashes(healthcheckPath) === '')) {
    throw new TypeError(`feathers-mesh: option healthcheckPath must be a path below the root or false ('' for the default), got ${describe(healthcheckPath)}`)
  }
  if (options.cote !== undefined && !isObject(options.cote)) throw new TypeError(`feathers-mesh: option cote must be an object, got ${describe(options.cote)}`)
  // cote's Redis settings become `discovery.redis` (discovery-options.ts).
  const { basePort: coteBase, highestPort: coteHighest, redis: _redis, ...cote } = (options.cote ?? {}) as Record<string, unknown>
  const log = envBoolean(env, 'COTE_LOG')
  if (cote.log === undefined) cote.log = log ?? false
  if (cote.broadcast === undefined && env.COTE_BROADCAST_ADDRESS) cote.broadcast = env.COTE_BROADCAST_ADDRESS
  const range = portRange(coteBase, coteHighest, env)
  checkMs('componentDelay', options.componentDelay, 0)
  checkShapes(options)
  const resolved: ResolvedOptions = {
    services: toPredicate('services', options.services),
    remoteServices: toPredicate('remoteServices', options.remoteServices),
    remoteServicePath: options.remoteServicePath ?? ((descriptor) => descriptor.path),
    remoteServiceOptions: options.remoteServiceOptions ?? (() => null),
    hooks: options.hooks,
    // Flat: Express takes nested arrays, and the proxies' routes wrap each middleware on its own.
    middlewares: { before: asArray(options.middlewares?.before).flat(Infinity), after: asArray(options.middlewares?.after).flat(Infinity) },
    timeout: checkMs('timeout', options.timeout, DEFAULT_TIMEOUT),
    // Unset, each service forwards every event it declares (announcer.ts), as feathers-distributed does.
    distributedEvents: options.distributedEvents === undefined ? undefined : checkEventFilter('distributedEvents', options.distributedEvents, []),
    distributedMethods: checkList('distributedMethods', options.distributedMethods, [...defaultServiceMethods]),
    remoteEvents: options.remoteEvents === undefined ? undefined : checkEventFilter('remoteEvents', options.remoteEvents, []),
    sync: checkBoolean('sync', options.sync, false),
    publishEvents: checkBoolean('publishEvents', options.publishEvents, true),
    key: checkKey(options.key ?? DEFAULT_KEY),
    healthcheckPath,
    // 0 would arm no deadline (requests.ts arms one above 0): a frozen replica would hold the healthcheck until heartbeatTimeout.
    healthcheckTimeout: checkMs('healthcheckTimeout', options.healthcheckTimeout, DEFAULT_HEALTHCHECK_TIMEOUT, 1),
    coteDelay: checkMs(named('coteDelay', 'COTE_DELAY'), options.coteDelay ?? envNumber(env, 'COTE_DELAY'), 0),
    publicationDelay: checkMs(named('publicationDelay', 'PUBLICATION_DELAY'), options.publicationDelay ?? envNumber(env, 'PUBLICATION_DELAY'), 0),
    heartbeatInterval,
    heartbeatTimeout,
    forwardHeaders: checkList('forwardHeaders', options.forwardHeaders, []).map((h) => h.toLowerCase()),
    secrets: resolveSecrets(options.secret, env),
    streams: envBoolean(env, 'FEATHERS_MESH_STREAMS') ?? true,
    streamTag: streamTagSetting(env.FEATHERS_MESH_STREAMS, POLY1305_AVAILABLE),
    remoteParams: checkList('remoteParams', options.remoteParams, [...DEFAULT_REMOTE_PARAMS]),
    idempotentMethods: checkList('idempotentMethods', options.idempotentMethods, ['find', 'get']),
    maxRetries: checkCount('maxRetries', options.maxRetries, DEFAULT_MAX_RETRIES),
    replicaTimeout: checkMs('replicaTimeout', options.replicaTimeout, DEFAULT_REPLICA_TIMEOUT),
    maxQueue: checkCount('maxQueue', options.maxQueue, DEFAULT_MAX_QUEUE),
    gracePeriod: checkMs('gracePeriod', options.gracePeriod, DEFAULT_GRACE_PERIOD),
    maxBacklog: checkCount('maxBacklog', options.maxBacklog, DEFAULT_MAX_BACKLOG),
    maxPayload: checkCount('maxPayload', options.maxPayload, DEFAULT_MAX_PAYLOAD),
    statusPath: checkPath('statusPath', options.statusPath, '/distribution/status'),
    statusPage: checkBoolean('statusPage', options.statusPage, false),
    metricsPath: checkPath('metricsPath', options.metricsPath, '/distribution/metrics'),
    metricsRegistry: options.metricsRegistry,
    cote: Object.freeze(cote),
    discovery: Object.freeze(resolveDiscovery(options, env)),
    ...range
  }
  // Frozen (with what this function built inside it): `app.distribution.options` is read-only, and several apps may share one resolution.
  Object.freeze(resolved.secrets)
  return Object.freeze(resolved)
}
