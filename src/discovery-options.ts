/**
 * Where apps find each other. Besides the mesh's own `discovery.redis` and COTE_DISCOVERY_REDIS_URL,
 * Redis may be set up the ways cote documents (`cote: { redis: { host, port } }`, the
 * COTE_DISCOVERY_REDIS_* variables), as feathers-distributed apps do: ignored, they would leave an
 * app on UDP broadcast, which cloud networks do not carry, and the mesh would never form.
 */
import { describe } from './checks'
import type { Env } from './checks'
import type { DistributionOptions, ResolvedDiscovery } from './options'

/** Where cote's Redis discovery goes with COTE_DISCOVERY_REDIS=true alone: ioredis's defaults. */
export const COTE_DEFAULT_REDIS = { host: 'localhost', port: 6379 }

/** The ioredis options of cote's that one Redis URL can carry; any other is refused, not dropped. */
const FIELDS = ['url', 'host', 'port', 'username', 'password', 'db'] as const
type Field = (typeof FIELDS)[number]
type Settings = Partial<Record<Field, unknown>>

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value)

function checkUrl(name: string, value: unknown): string {
  let url: URL | undefined
  try {
    url = new URL(String(value))
  } catch {}
  if (typeof value !== 'string' || !url || !/^rediss?:$/.test(url.protocol) || !url.hostname) {
    throw new TypeError(`feathers-mesh: ${name} must be a URL such as redis://host:6379, got ${describe(value)}`)
  }
  return value
}

/**
 * cote's Redis settings as one URL. As in cote, `url` wins over `host` and `port`; `username`,
 * `password` and `db` apply on top of either. `name(field)` names a field in error messages.
 */
export function redisUrl(settings: Settings, name: (field: Field) => string): string {
  const text = (field: Field, valid: (value: string) => boolean, what: string) => {
    const value = settings[field]
    if (value === undefined) return undefined
    if ((typeof value !== 'string' && typeof value !== 'number') || !valid(String(value))) throw new TypeError(`feathers-mesh: ${name(field)} must be ${what}, got ${describe(value)}`)
    return String(value)
  }
  const host = text('host', (value) => /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9._-]+)$/.test(value), 'a host name or an IP address')
  const port = text('port', (value) => /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535, 'a TCP port (1-65535)')
  const db = text('db', (value) => /^\d+$/.test(value), 'a database number')
  const username = text('username', () => true, 'a string')
  const password = text('password', () => true, 'a string')
  const hostPart = host === undefined ? COTE_DEFAULT_REDIS.host : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  const base = settings.url !== undefined ? checkUrl(name('url'), settings.url) : `redis://${hostPart}:${port ?? COTE_DEFAULT_REDIS.port}`
  if (username === undefined && password === undefined && db === undefined) return base
  const url = new URL(base)
  // The setters leave `%` as it is: encoded first, a password holding one reaches Redis unchanged (ioredis decodes it).
  if (username !== undefined) url.username = encodeURIComponent(username)
  if (password !== undefined) url.password = encodeURIComponent(password)
  if (db !== undefined) url.pathname = `/${db}`
  return url.toString()
}

/** `cote.redis`, as cote takes it: ioredis options, or (as ioredis takes it) a URL; unset when falsy. */
function fromCoteOption(value: unknown): string | undefined {
  if (value === undefined || value === null || value === false || value === '') return undefined
  if (typeof value === 'string') return checkUrl('option cote.redis', value)
  if (!isObject(value)) throw new TypeError(`feathers-mesh: option cote.redis must be an object such as { host, port }, got ${describe(value)}`)
  for (const field of Object.keys(value)) {
    if (!(FIELDS as readonly string[]).includes(field)) {
      throw new TypeError(`feathers-mesh: option cote.redis.${field} is not supported: the mesh takes ${FIELDS.join(', ')} (or a URL in discovery.redis)`)
    }
  }
  return redisUrl(value, (field) => `option cote.redis.${field}`)
}

const PREFIX = 'COTE_DISCOVERY_REDIS_'

/** The COTE_DISCOVERY_REDIS* variables, which cote turns into ioredis options the same way. */
function fromEnv(env: Env): string | undefined {
  const settings: Settings = {
    url: env.COTE_DISCOVERY_REDIS_URL || undefined,
    host: env.COTE_DISCOVERY_REDIS_HOST || undefined,
    port: env.COTE_DISCOVERY_REDIS_PORT || undefined,
    username: env.COTE_DISCOVERY_REDIS_USERNAME || undefined,
    password: env.COTE_DISCOVERY_REDIS_PASSWORD || undefined,
    db: env.COTE_DISCOVERY_REDIS_DB || undefined
  }
  for (const variable of Object.keys(env)) {
    if (variable.startsWith(PREFIX) && env[variable] && !(FIELDS as readonly string[]).includes(variable.slice(PREFIX.length).toLowerCase())) {
      throw new TypeError(`feathers-mesh: environment variable ${variable} is not supported: the mesh reads ${FIELDS.map((field) => PREFIX + field.toUpperCase()).join(', ')} and COTE_DISCOVERY_REDIS`)
    }
  }
  const name = (field: Field) => PREFIX + field.toUpperCase()
  if (Object.values(settings).some((value) => value !== undefined)) return redisUrl(settings, name)
  // cote takes any value for on; as with COTE_LOG, false, 0, no and off mean off here.
  const on = env.COTE_DISCOVERY_REDIS?.trim().toLowerCase()
  return on && !['false', '0', 'no', 'off'].includes(on) ? redisUrl({}, name) : undefined
}

/** `discovery.redis` wins over `cote.redis`, which wins over the variables. */
export function resolveDiscovery(options: DistributionOptions, env: Env): ResolvedDiscovery {
  const discovery = options.discovery ?? {}
  if (!isObject(discovery)) throw new TypeError(`feathers-mesh: option discovery must be an object such as { redis: "redis://host:6379" }, got ${describe(discovery)}`)
  // Checked even when discovery.redis wins: a mistake in it shows at configure, not once that option goes.
  const fromCote = fromCoteOption(isObject(options.cote) ? options.cote.redis : undefined)
  const redis = discovery.redis !== undefined && discovery.redis !== null ? checkUrl('option discovery.redis', discovery.redis) : fromCote ?? fromEnv(env)
  const advertise = options.advertise ?? (env.DISCOVERY_HOSTNAME || undefined)
  if (advertise !== undefined && (typeof advertise !== 'string' || advertise.trim() === '' || /[\s/]/.test(advertise))) {
    const name = options.advertise === undefined ? 'DISCOVERY_HOSTNAME' : 'option advertise'
    throw new TypeError(`feathers-mesh: ${name} must be a host name or an IP address, got ${describe(advertise)}`)
  }
  return { redis, advertise }
}
