/**
 * What both example apps share: every environment variable they read (ENV) and those feathers-mesh
 * reads on its own (LIBRARY_ENV), both checked against docker-compose.yml and deploy/kubernetes by
 * test/example/compose.test.ts and kubernetes.test.ts, discovery settings and a clean shutdown.
 */
import { finalize } from '../src'

/** The environment variables the example apps read, and what each one means. */
export const ENV = {
  PORT: 'HTTP port of the app (gateway 3030, replicas 3031 and 3032 under npm start)',
  MESH_KEY: "partition key in the mesh (gateway: 'gateway', replicas: 'todos')",
  REPLICA: 'name of a todos replica, shown in every TODO it returns (replicas only)',
  JWT_SECRET: 'secret signing the JWTs (gateway only; the default is for development)',
  COTE_BROADCAST_ADDRESS: 'where discovery broadcasts: the loopback broadcast address locally, the network broadcast address in Docker',
  COTE_PORT: 'UDP port of discovery; every app of one mesh must use the same one'
} as const
export type EnvName = keyof typeof ENV

/**
 * Variables the apps never read themselves: `distribution()` reads them (see the README's
 * environment table). The mesh secret reaches the apps this way, so their code holds no secret.
 */
export const LIBRARY_ENV = {
  FEATHERS_MESH_SECRET: 'the mesh secret itself (scripts/start.js draws a random one per run)',
  FEATHERS_MESH_SECRET_FILE: 'a file holding the mesh secret, one per line (docker-compose.yml: /run/secrets/mesh_secret)',
  COTE_DISCOVERY_REDIS_URL: 'Redis that discovery runs on instead of UDP broadcast (deploy/kubernetes: redis://redis:6379)',
  DISCOVERY_HOSTNAME: 'the address peers connect to this app at (deploy/kubernetes: the pod IP, from the downward API)'
} as const

/** Loopback broadcast: announcements never leave the machine unless COTE_BROADCAST_ADDRESS says so. */
export const LOOPBACK_BROADCAST = '127.255.255.255'
/** Outside the 42000-47999 range the library's test files hash their discovery ports into. */
export const DEFAULT_COTE_PORT = 48000
/**
 * Route a replica answers 200 on once it has joined the mesh and while its discovery is connected
 * (its container healthcheck and readiness probe): during a Redis outage a new replica is not ready,
 * as no gateway can find it.
 */
export const READY_PATH = '/ready'
/** Route a replica answers 200 on while it serves at all (its liveness probe): a Redis outage must not restart every replica. */
export const LIVE_PATH = '/live'
/** The user the gateway seeds, shown by npm start and prefilled on the page. */
export const DEMO_USER = { email: 'demo@feathers-mesh.dev', password: 'demo' }

export function setting(name: EnvName, fallback: string): string {
  const value = process.env[name]
  return value === undefined || value === '' ? fallback : value
}

export function numberSetting(name: EnvName, fallback: number): number {
  const raw = setting(name, String(fallback))
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number, got "${raw}"`)
  return value
}

/** cote discovery options: passed explicitly so an unset variable means loopback, never a LAN-wide broadcast. */
export function discovery() {
  return { broadcast: setting('COTE_BROADCAST_ADDRESS', LOOPBACK_BROADCAST), port: numberSetting('COTE_PORT', DEFAULT_COTE_PORT) }
}

/** On SIGINT/SIGTERM: say goodbye to the mesh (peers drop this app at once), close the server, exit. */
export function stopOnSignals(app: any, name: string) {
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`${name}: ${signal} received, leaving the mesh`)
    // Open sockets (keep-alive, socket.io) must not keep a stopped app alive.
    setTimeout(() => process.exit(1), 3000).unref()
    try {
      await finalize(app)
      // Feathers' teardown closes the HTTP server, which waits for open websockets: close them first.
      app.io?.disconnectSockets(true)
      await app.teardown()
      process.exit(0)
    } catch (error) {
      console.error(`${name}: shutdown failed`, error)
      process.exit(1)
    }
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
}
