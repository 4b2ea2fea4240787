import { randomUUID } from 'crypto'
import createDebug from 'debug'
import { pick } from 'lodash'
import type { Application } from '@feathersjs/feathers'
import { Announcer } from './announcer'
import type { MeshServiceOptions } from './announcer'
import { checkHealth } from './healthcheck'
import { Membership } from './membership'
import { servicePath } from './options'
import { resolveOptions } from './resolve-options'
import type { DistributionOptions, ResolvedOptions } from './options'
import type { Distribution } from './declarations'
import { meshPorts } from './ports'
import { delay } from './delays'
import { PROTOCOL_VERSION } from './protocol'
import { Registry } from './registry'
import { CallServer } from './responder'
import { Stats } from './stats'
import { offerSocketMethods } from './socket-methods'
import { overrideUse } from './use-overrides'
import { passwordFields } from './password-fields'
import type { StreamTag } from './streams'
import { meshStatus } from './status'
import { createMetrics } from './metrics'
import { createDispatcher } from './dispatch'
import { createCoteTransport } from './transport'
import { lateTransport } from './late-transport'
import { createSealer } from './security'
import { helloIntervalOf } from './discovery'
import type { Transport } from './transport'
import { mountHealthcheck, mountStatus, transportOf, withOwnOptions } from './app-hooks'

/** The protocol an app that opens stream frames up to a kind of tag stands for (older ones only in tests and benchmarks). */
const SPEAKS: Record<StreamTag, '1.3' | '1.4' | '1.5'> = { 'sha3-256': '1.3', sha256: '1.4', poly1305: '1.5' }
const debug = createDebug('feathers-mesh:plugin')

const DEFAULT_WAIT_TIMEOUT = 10_000 // ms
const GOODBYE_TIMEOUT = 1_000 // ms, for each peer to acknowledge a goodbye
const configured = new WeakSet<object>()

/** Configures the mesh on a Feathers app: `app.configure(distribution(options))`. */
export function distribution(options: DistributionOptions = {}) {
  const resolved = resolveOptions(options)
  return (app: Application) => {
    if (configured.has(app)) throw new Error('feathers-mesh: distribution() is already configured on this app')
    configured.add(app)
    const { use, unuse } = app
    try {
      setup(app, resolved)
    } catch (error) {
      // Nothing of a configure that threw stays on the app (its mesh never started): it may be configured again.
      createMetrics.unregister(app.distribution?.metrics)
      Object.assign(app, { use, unuse, distribution: undefined })
      configured.delete(app)
      throw error
    }
  }
}

/** Closes the mesh of an app: goodbye, timers, pending calls, proxies, cote components. Idempotent. */
export async function finalize(app: Application): Promise<void> {
  await app.distribution?.close()
}

function setup(app: Application, options: ResolvedOptions) {
  const uuid = randomUUID()
  const short = uuid.slice(0, 8)
  const timers = new Map<NodeJS.Timeout, () => void>()
  const originalUse = app.use as (...args: any[]) => any
  const originalUnuse = app.unuse as (path: string) => Promise<unknown>
  let transport: Transport | undefined
  let published = false
  let closing: Promise<void> | undefined

  // Calls and announcements go through this indirection: the transport only exists once cote starts.
  const lazyTransport = lateTransport(() => transport, options.discovery.redis ? 'redis' : 'broadcast')
  const stats = new Stats()
  const startedAt = Date.now()
  const announcer = new Announcer(options, uuid, (message) => lazyTransport.publish(message), stats)
  const calls = new CallServer(announcer, options.remoteParams)
  const localState = () => (published ? announcer.state() : { seq: 0, services: [] })
  const callOptions = pick(options, ['key', 'timeout', 'forwardHeaders', 'idempotentMethods', 'maxRetries', 'replicaTimeout'])
  const registry = new Registry(app, options, { ...callOptions, transport: lazyTransport, uuid, stats, passwordFields: () => passwordFields(app) }, {
    // Through the outermost app.use/unuse, so transports that wrap them (routing) see proxies too;
    // our own overrides let proxies pass without announcing them.
    use: (path, ...args) => void ((app.use as any)(path, ...args), offerSocketMethods(app, path)),
    unuse: (path) => app.unuse(path),
    isLocal: (path) => app.services[path] !== undefined && (app.services[path] as any).remote !== true,
    transport: transportOf(app)
  })
  // Hellos are not sealed: with a secret only sealed heartbeats prove a peer alive.
  const hellosForHeartbeats = options.secrets.length === 0 && helloIntervalOf(options.cote) <= options.heartbeatInterval
  const membership = new Membership(lazyTransport, {
    uuid,
    key: options.key,
    heartbeatInterval: options.heartbeatInterval,
    heartbeatTimeout: options.heartbeatTimeout,
    helloTimeout: Math.max(options.heartbeatInterval, 1000),
    hellosForHeartbeats,
    localState,
    onPeerServices: (peer, previous) => registry.update(peer.uuid, peer.services, previous),
    onPeerLeft: (peer) => registry.removePeer(peer.uuid, peer.services, membership.departed.saidGoodbye(peer.uuid))
  })

  const { onRequest, onPublished } = createDispatcher({ app, uuid, membership, registry, calls, announcer })

  async function start() {
    // Closed in the turn that configured it, before this could set its first timer.
    if (!closing) await delay(options.coteDelay, timers)
    if (closing) return
    const ports = await meshPorts(options)
    if (closing) return
    transport = createCoteTransport(
      {
        uuid,
        key: options.key,
        version: PROTOCOL_VERSION,
        cote: options.cote,
        redis: options.discovery.redis,
        advertise: options.discovery.advertise,
        maxBacklog: options.maxBacklog,
        maxPayload: options.maxPayload,
        sealer: options.secrets.length > 0 ? createSealer(options.secrets, options.key, uuid, SPEAKS[options.streamTag]) : undefined,
        ports,
        hellos: hellosForHeartbeats ? { seq: () => localState().seq } : undefined,
        streams: options.streams,
        streamTag: options.streamTag
      },
      {
        onPublished,
        onRequest,
        onPeerUp: (peer) => membership.discovered(peer.uuid),
        onPeerDown: (peerUuid) => membership.lost(peerUuid),
        onPeerSeen: (peerUuid, seq) => membership.onHello(peerUuid, seq),
        onRefused: (from, key, reason) => membership.refuse(from, key, reason)
      }
    )
    await transport.start()
    ;(handle as { ports?: Distribution['ports'] }).ports = transport.ports()
    if (closing) return
    membership.start()
    await delay(options.publicationDelay, timers)
    if (closing) return
    published = true
    membership.announce()
    debug('%s ready (key %s)', short, options.key)
  }

  if (options.secrets.length === 0 && process.env.NODE_ENV === 'production') {
    console.warn('feathers-mesh: the mesh is unauthenticated: any process that reaches it can call, announce and listen. Set the secret option or FEATHERS_MESH_SECRET on every app.')
  }
  // Started once configure has done all that can throw: an app whose configure threw stays out of the mesh.
  let begin!: () => void
  const ready = new Promise<void>((resolve) => (begin = resolve)).then(start)
  // An app that never awaits `ready` must still learn that it is not in the mesh, and so must its probes.
  let failure: string | undefined
  ready.catch((error) => {
    // Closed while it was starting: not a failure to report.
    if (closing) return void debug('%s closed while starting: %O', short, error)
    failure = `the mesh did not start: ${(error instanceof Error ? error.message : String(error)).replace(/^feathers-mesh: /, '')}`
    console.error(`feathers-mesh: ${failure}`)
    debug('%s failed to start: %O', short, error)
  })

  async function close() {
    closing ??= (async () => {
      for (const [timer, resolve] of timers) {
        clearTimeout(timer)
        resolve()
      }
      timers.clear()
      // Goodbye first, so consumers stop sending; then calls in flight both ways (served here, and this app's own) finish, peers still known.
      const drain = () => Promise.all([calls.drain(options.gracePeriod), lazyTransport.idle(options.gracePeriod)])
      // At least 1 ms: a request timeout of 0 would mean no deadline, where a grace period of 0 means none.
      await membership.close(Math.max(1, Math.min(GOODBYE_TIMEOUT, options.gracePeriod)), drain)
      announcer.close()
      await Promise.all([registry.close(), createMetrics.unregister(metrics)])
      await transport?.close()
      debug('%s closed', short)
    })()
    return closing
  }

  const status = () =>
    meshStatus({ uuid, key: options.key, startedAt, heartbeatInterval: options.heartbeatInterval, membership, registry, stats, transport: lazyTransport })
  const metrics = options.metricsPath === false && !options.metricsRegistry ? undefined : createMetrics(stats, status, options.metricsRegistry)

  const handle: Distribution = {
    metrics,
    key: options.key,
    uuid,
    ready,
    options,
    waitForService: (path, waitOptions) => registry.waiters.wait(servicePath(path), waitOptions?.timeout ?? DEFAULT_WAIT_TIMEOUT) as Promise<any>,
    // The route and the function give one answer: until this app is published it is starting (or failed to), and closed once closing.
    healthcheck: async (key = 'default') => {
      const down = closing ? 'the mesh is closed' : published ? undefined : (failure ?? 'the mesh is starting')
      return down ? { status: 503, body: { key, message: down } } : checkHealth(key, membership, lazyTransport, uuid, options.key, options.healthcheckTimeout)
    },
    refused: () => [...membership.refused.values()],
    status,
    drops: () => ({ ...lazyTransport.drops }),
    peers: () => [...membership.peers.values()].map((peer) => ({ uuid: peer.uuid, key: peer.key, host: lazyTransport.hostOf(peer.uuid), services: peer.services.map((s) => s.path) })),
    close
  }
  app.distribution = handle

  overrideUse(app, { options, announcer, registry, membership, originalUse, originalUnuse, published: () => published, closing: () => closing !== undefined })

  try {
    // Local services registered before configure are exposed too; all their own options are checked first, so a wrong one exposes none.
    const existing = Object.keys(app.services).filter((path) => (app.services[path] as any)?.remote !== true).map((path) => [path, withOwnOptions(app.services[path], {})] as const)
    for (const [path, own] of existing) announcer.expose(path, app.service(path), own as MeshServiceOptions)
    mountStatus(app, options, originalUse, status, metrics)
    if (options.healthcheckPath !== false) mountHealthcheck(app, options.healthcheckPath, (key) => handle.healthcheck(key))
  } catch (error) {
    // The services keep no listener of a mesh that never started (distribution() puts the rest back).
    announcer.close()
    throw error
  }
  app.hooks({
    teardown: [
      // Alongside the rest: the HTTP server's close waits for every socket.io client to go, and the mesh must not.
      async (_context: unknown, next: () => Promise<void>) => {
        await Promise.all([next(), close()])
      }
    ]
  } as any)
  begin()
}
