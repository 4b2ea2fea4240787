import cote from 'cote'
import createDebug from 'debug'
import { guardDiscovery } from './discovery-input'
import { printable } from './printable'
import { dirname } from 'path'
import { RedisChannel } from './redis-channel'
import { advertisable } from './local-address'
import { startTicker } from './ticker'
import { namedTag, tagFields } from './stream-fields'
import type { StreamTag } from './streams'

const debug = createDebug('feathers-mesh:discovery')

// cote's discovery (node-discover underneath). Importing cote first lets it read its COTE_* variables.
void cote
const CoteDiscovery: any = require('cote/src/components/discovery')
const nodeDiscoverRedis: any = require(require.resolve('@dashersw/node-discover/lib/redis', { paths: [dirname(require.resolve('cote'))] }))

// node-discover builds its Redis socket from its `redis` option; handing it a RedisChannel makes it use ours.
const createRedisSocket = nodeDiscoverRedis.createSocket
if (!createRedisSocket.feathersMesh) {
  const create = (options: unknown) => (options instanceof RedisChannel ? options : createRedisSocket(options))
  create.feathersMesh = true
  nodeDiscoverRedis.createSocket = create
}

const COTE_KEY = 'feathers-mesh'
/** The longest delay a Node timer takes (a longer one fires after 1 ms): node-discover's own timers never fire. */
const NEVER = 2 ** 31 - 1 // ms

/**
 * Announcement period, in ms (cote's is 2000). Joining does not wait for it: a new app announces
 * itself at once, every app that hears it connects and greets it with its own address, and it
 * connects back. So the period only bounds how soon a lost first announcement is repeated, and a
 * longer one costs every app less (each hears every other).
 */
export const DEFAULT_HELLO_INTERVAL = 5_000

/** cote's discovery timings, derived from the hello interval unless set (node-discover refuses inconsistent ones). */
export function discoveryTimings(options: Record<string, unknown>) {
  const ms = (name: string) => (typeof options[name] === 'number' && (options[name] as number) > 0 ? (options[name] as number) : undefined)
  const helloInterval = ms('helloInterval') ?? DEFAULT_HELLO_INTERVAL
  const checkInterval = ms('checkInterval') ?? helloInterval
  const nodeTimeout = Math.max(ms('nodeTimeout') ?? 3 * helloInterval, checkInterval)
  const masterTimeout = Math.max(ms('masterTimeout') ?? nodeTimeout, nodeTimeout)
  return { helloInterval, checkInterval, nodeTimeout, masterTimeout }
}

/** The hello interval an app runs with these cote options (and cote's COTE_* defaults). */
export const helloIntervalOf = (cote: Record<string, unknown>) => discoveryTimings({ ...CoteDiscovery.defaults, ...cote }).helloInterval

/** Where a peer's two servers listen. */
export interface Endpoint {
  uuid: string
  key: string
  version: number
  host: string
  /** Port of its responder (calls). */
  calls: number
  /** Port of its publisher (events). */
  events: number
  /** Whether it takes our discovery hellos for heartbeats (since 1.2): we need not send it any. */
  hellos?: boolean
  /** Whether it opens stream-sealed frames (since 1.3). */
  streams?: boolean
  /** The newest kind of stream frame tag it opens, when it opens stream frames (`sha256` since 1.4, `poly1305` since 1.5). */
  streamTag?: StreamTag
}

export interface DiscoverySettings {
  uuid: string
  key: string
  version: number
  calls: number
  events: number
  /** cote discovery options (`broadcast`, `port`, `helloInterval`, `nodeTimeout`, `log`...). */
  cote: Record<string, unknown>
  redis?: string
  advertise?: string
  /**
   * Set when discovery hellos stand for heartbeats (no secret: hellos are not sealed). The
   * advertisement then says so and carries `seq`, this app's list number, read at each hello.
   */
  hellos?: { seq: () => number }
  /** The advertisement says this app opens stream-sealed frames (1.3), and the newest kind of tag it opens (see `tagFields`). */
  streams?: boolean
  streamTag?: StreamTag
}

export interface DiscoveryHandlers {
  found(endpoint: Endpoint): void
  lost(uuid: string): void
  /** A hello from a peer, with the list number it carries (only with `hellos` set). */
  seen?(uuid: string, seq: number | undefined): void
  /** A discovery message that node-discover would have choked on (discovery-input.ts). */
  dropped?(): void
}

export interface MeshDiscovery {
  readonly mode: 'broadcast' | 'redis'
  /** Whether announcements can be sent and heard now (always true with broadcast). */
  readonly connected: boolean
  /** Hellos heard from other apps since start (one increment per hello: the scale benchmark reads it). */
  readonly heard: number
  /** Peers discovery sees now. */
  endpoints(): Endpoint[]
  /** The host this app advertises, when it names one (else peers use the source address). */
  host(): string | undefined
  close(): void
}

/** The advertisement every app announces: one per app, whatever its number of services and keys. */
export function advertisement(settings: Omit<DiscoverySettings, 'cote' | 'redis'>, environment = '') {
  const mesh: Record<string, unknown> = { uuid: settings.uuid, key: settings.key, version: settings.version, calls: settings.calls, events: settings.events }
  if (settings.advertise) mesh.host = settings.advertise
  if (settings.streams) mesh.streams = true
  if (settings.streams && settings.streamTag !== undefined) Object.assign(mesh, tagFields(settings.streamTag))
  if (settings.hellos) {
    mesh.hellos = true
    // A getter: node-discover serializes the advertisement at each hello, which then carries the current number.
    Object.defineProperty(mesh, 'seq', { get: settings.hellos.seq, enumerable: true })
  }
  return { name: `feathers-mesh ${settings.uuid.slice(0, 8)}`, key: `${environment}$$${COTE_KEY}`, axon_type: 'mesh', mesh }
}


export function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536
}

/** A peer's endpoint from a discovery node, or undefined when the node is not a valid mesh app. */
export function endpointOf(node: any, key: string): Endpoint | undefined {
  const ad = node?.advertisement
  const mesh = ad?.mesh
  if (ad?.key !== key || !mesh || typeof mesh.uuid !== 'string' || typeof mesh.key !== 'string') return undefined
  if (!isPort(mesh.calls) || !isPort(mesh.events) || typeof mesh.version !== 'number') return undefined
  const host = typeof mesh.host === 'string' && mesh.host !== '' ? mesh.host : node.address
  if (typeof host !== 'string' || host === '0.0.0.0') return undefined
  return { uuid: mesh.uuid, key: mesh.key, version: mesh.version, host, calls: mesh.calls, events: mesh.events, hellos: mesh.hellos === true, streams: mesh.streams === true, streamTag: mesh.streams === true ? namedTag(mesh.streamTag, mesh.poly1305) : undefined }
}

/**
 * One discovery per app (cote gives each component its own: four UDP sockets and four hello timers
 * per app). It announces where this app's two servers listen and reports peers found and lost.
 */
export function startDiscovery(settings: DiscoverySettings, handlers: DiscoveryHandlers): MeshDiscovery {
  const short = settings.uuid.slice(0, 8)
  const given = { ...CoteDiscovery.defaults, ...settings.cote }
  const options = { ...given, ...discoveryTimings(given) }
  const ad = advertisement(settings, options.environment ? `${options.environment}:` : '')
  const channel = settings.redis
    ? new RedisChannel({
        url: settings.redis,
        name: short,
        helloInterval: options.helloInterval,
        onLocalAddress: (address) => {
          // The address this host reaches Redis from is the one its peers can most likely reach it on.
          if (!(ad.mesh as any).host) (ad.mesh as any).host = advertisable(address)
          if (!(ad.mesh as any).host) {
            console.warn(`feathers-mesh ${short}: this app reaches Redis over IPv6 (${address}) from an interface without an IPv4 address, and the mesh listens on IPv4 only: set advertise (DISCOVERY_HOSTNAME) to an address peers reach it on`)
          }
          debug('%s advertises %s', short, (ad.mesh as any).host)
        }
      })
    : undefined
  // `redis` is always set, so the COTE_DISCOVERY_REDIS* settings cote reads never reach node-discover's own socket.
  // node-discover starts its hello and check timers when its socket binds, each app at its own
  // phase, so every peer's hello would wake an app on its own. Its timers are set never to fire,
  // and both run on the mesh-wide cadence instead (ticker.ts). Its constructor checks the timings;
  // check() reads the two timeouts when it runs, so they get their real values back.
  const discovery = new CoteDiscovery(ad, { ...options, helloInterval: NEVER, checkInterval: NEVER, nodeTimeout: NEVER, masterTimeout: NEVER, redis: channel })
  guardDiscovery(discovery, () => handlers.dropped?.())
  discovery.settings.nodeTimeout = options.nodeTimeout
  discovery.settings.masterTimeout = options.masterTimeout
  // Both wait until its socket is bound, as its own timers did (a check may send a hello); it sends
  // its first hello then, without waiting for the cadence.
  let closed = false
  const bound = () => !closed && discovery.broadcast.destination !== undefined
  const hellos = startTicker(options.helloInterval, () => bound() && discovery.hello(), `${short} discovery hello`)
  // Checked after the loop's poll phase, which reads the hellos of this very instant first.
  const checks = startTicker(options.checkInterval, () => bound() && setImmediate(() => bound() && discovery.check()).unref(), `${short} discovery check`)
  // cote's own listeners only log, and read `advertisement.key` unchecked: a malformed hello from
  // the network would throw out of the socket handler. Ours check every field.
  discovery.removeAllListeners('added')
  discovery.removeAllListeners('removed')
  discovery.on('error', (error: Error) => debug('%s discovery error: %s', short, error.message))
  let heard = 0
  discovery.on('helloReceived', (node: any) => {
    heard++
    if (!settings.hellos || !handlers.seen) return
    const endpoint = endpointOf(node, ad.key)
    if (!endpoint || endpoint.uuid === settings.uuid) return
    const seq = node.advertisement.mesh.seq
    handlers.seen(endpoint.uuid, Number.isSafeInteger(seq) ? seq : undefined)
  })
  // cote logs peers coming and going when `log` is on, from the listeners removed above: these lines
  // stand for them, for checked peers only.
  const statusLogs = Boolean(options.log) && options.statusLogsEnabled !== false
  const logStatus = (endpoint: Endpoint, status: 'online' | 'offline') =>
    console.log(`${ad.name} > feathers-mesh ${printable(endpoint.uuid.slice(0, 8))} (key ${printable(endpoint.key)}) ${status} at ${printable(endpoint.host)}:${endpoint.calls}`)
  discovery.on('added', (node: unknown) => {
    const endpoint = endpointOf(node, ad.key)
    if (!endpoint || endpoint.uuid === settings.uuid) return
    debug('%s found %s at %s:%d', short, endpoint.uuid.slice(0, 8), endpoint.host, endpoint.calls)
    if (statusLogs) logStatus(endpoint, 'online')
    handlers.found(endpoint)
  })
  discovery.on('removed', (node: unknown) => {
    const endpoint = endpointOf(node, ad.key)
    if (!endpoint || endpoint.uuid === settings.uuid) return
    if (statusLogs) logStatus(endpoint, 'offline')
    handlers.lost(endpoint.uuid)
  })

  return {
    mode: channel ? 'redis' : 'broadcast',
    get connected() {
      return channel ? channel.connected : true
    },
    get heard() {
      return heard
    },
    host() {
      return (ad.mesh as { host?: string }).host
    },
    endpoints() {
      return Object.values(discovery.nodes as Record<string, unknown>)
        .map((node) => endpointOf(node, ad.key))
        .filter((endpoint): endpoint is Endpoint => endpoint !== undefined && endpoint.uuid !== settings.uuid)
    },
    close() {
      closed = true
      hellos.stop()
      checks.stop()
      discovery.stop()
      channel?.close() // stop() skips a discovery that never started (Redis never reached)
    }
  }
}
