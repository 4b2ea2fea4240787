#!/usr/bin/env node
/**
 * `feathers-mesh status`: joins the mesh as an observer (it exposes and consumes nothing, so it never
 * receives calls and is never a replica), waits one discovery round, probes every replica and prints
 * what it saw. Exit code 0 when every known replica answers, 1 otherwise and on usage errors, so it
 * can serve as a container healthcheck.
 */
import { feathers } from '@feathersjs/feathers'
import type { Application } from '@feathersjs/feathers'
import { distribution, finalize } from './plugin'
import { checkKey } from './options'
import { DEFAULT_HELLO_INTERVAL } from './discovery'
import type { HealthReport } from './healthcheck'
import { renderReport } from './cli-table'
import type { CliReport, KeyReport } from './cli-table'

/** The key the CLI joins with; apps of this key (other CLIs) are left out of reports. */
export const OBSERVER_KEY = 'feathers-mesh-cli'
const DEFAULT_HELLO = DEFAULT_HELLO_INTERVAL
const DEFAULT_NODE_TIMEOUT = 3 * DEFAULT_HELLO_INTERVAL // ms, as discoveryTimings derives it
// Apps connect back as soon as they hear the observer's first announcement: a short wait sees them.
const DEFAULT_WAIT = 2_000 // ms
const DEFAULT_INTERVAL = 2000 // ms between two rounds of --watch
const EXIT_GRACE = 2000 // ms the process may take to end on its own once the mesh is closed

export const USAGE = `Usage: feathers-mesh status [options]

Joins the mesh as an observer, waits one discovery round, then prints the apps it sees and, per key,
the services with their replicas and whether each answers. Exit code 0 when every known replica
answers (or no app is seen), 1 otherwise.

Options:
  --key <key>         only this key (exit code 1 when no app of it is known)
  --json              print one JSON document (with --watch, one per line)
  --watch             redraw every --interval ms until Ctrl-C (exit code of the last round)
  --watch-count <n>   stop after n rounds (implies --watch)
  --interval <ms>     time between two rounds of --watch (default ${DEFAULT_INTERVAL})
  --wait <ms>         discovery wait before the first round (default 2000; with --hello or
                      COTE_HELLO_INTERVAL, 2.5 x the hello interval if longer)
  --timeout <ms>      how long each replica may take to answer (default 2000)
  --port <port>       UDP discovery port, as the apps' cote port (env COTE_PORT; default 12345)
  --broadcast <addr>  discovery broadcast address (env COTE_BROADCAST_ADDRESS)
  --hello <ms>        the mesh's cote helloInterval (env COTE_HELLO_INTERVAL; default ${DEFAULT_HELLO})
  -h, --help          this help

Environment, read as the apps read it: COTE_PORT, COTE_BROADCAST_ADDRESS, COTE_HELLO_INTERVAL,
COTE_LOG, FEATHERS_MESH_SECRET, FEATHERS_MESH_SECRET_FILE, HEARTBEAT_INTERVAL.
`

export class UsageError extends Error {}

export interface CliArgs {
  command: 'status' | 'help'
  key?: string
  json: boolean
  watch: boolean
  watchCount?: number
  interval: number
  wait?: number
  timeout?: number
  port?: number
  broadcast?: string
  hello?: number
}

const VALUE_FLAGS = ['--key', '--watch-count', '--interval', '--wait', '--timeout', '--port', '--broadcast', '--hello']

function integer(name: string, raw: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`)
  }
  return value
}

/** Parses `status [options]`; throws a UsageError whose message says what is wrong. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  const [command, ...rest] = argv
  if (command === undefined) throw new UsageError('missing command (the only one is "status")')
  if (command === '-h' || command === '--help' || command === 'help') return { command: 'help', json: false, watch: false, interval: DEFAULT_INTERVAL }
  if (command !== 'status') throw new UsageError(`unknown command "${command}" (the only one is "status")`)
  const args: CliArgs = { command: 'status', json: false, watch: false, interval: DEFAULT_INTERVAL }
  for (let i = 0; i < rest.length; i++) {
    let flag = rest[i]
    let value: string | undefined
    const equals = flag.indexOf('=')
    if (flag.startsWith('--') && equals > 0) {
      value = flag.slice(equals + 1)
      flag = flag.slice(0, equals)
    }
    if (flag === '-h' || flag === '--help') return { ...args, command: 'help' }
    if (flag === '--json' || flag === '--watch') {
      if (value !== undefined) throw new UsageError(`${flag} takes no value`)
      args[flag === '--json' ? 'json' : 'watch'] = true
      continue
    }
    if (!VALUE_FLAGS.includes(flag)) throw new UsageError(`unknown option "${flag}"`)
    if (value === undefined) {
      value = rest[++i]
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`)
    }
    switch (flag) {
      case '--key':
        try {
          args.key = checkKey(value)
        } catch {
          throw new UsageError(`--key must be 1-128 characters of letters, digits and . _ @ / -, got "${value}"`)
        }
        break
      case '--watch-count':
        args.watchCount = integer(flag, value, 1)
        args.watch = true
        break
      case '--interval':
        args.interval = integer(flag, value)
        break
      case '--wait':
        args.wait = integer(flag, value)
        break
      case '--timeout':
        args.timeout = integer(flag, value)
        break
      case '--port':
        args.port = integer(flag, value, 1, 65535)
        break
      case '--broadcast':
        if (value.trim() === '') throw new UsageError('--broadcast needs an address')
        args.broadcast = value
        break
      case '--hello':
        args.hello = integer(flag, value, 1)
        break
    }
  }
  if (args.port === undefined && env.COTE_PORT) {
    try {
      args.port = integer('COTE_PORT', env.COTE_PORT, 1, 65535)
    } catch (error) {
      throw new UsageError(`environment variable ${(error as Error).message}`)
    }
  }
  return args
}

/** cote reads COTE_HELLO_INTERVAL and COTE_NODE_TIMEOUT itself (as defaults); the wait follows them. */
function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = parseInt(env[name] ?? '', 10)
  return Number.isInteger(value) && value > 0 ? value : undefined
}

/** Discovery options of the observer: the port, the broadcast address and, with --hello, its timings. */
export function coteSettings(args: CliArgs, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const cote: Record<string, unknown> = {}
  if (args.port !== undefined) cote.port = args.port
  if (args.broadcast !== undefined) cote.broadcast = args.broadcast
  if (args.hello !== undefined) {
    // Faster hellos find the mesh sooner; the node timeout stays as long as the apps' (cote requires
    // it to cover the check interval), so a replica that stops saying hello is still listed, as not
    // answering, rather than vanishing at once.
    const checkInterval = 2 * args.hello
    const nodeTimeout = Math.max(envMs(env, 'COTE_NODE_TIMEOUT') ?? DEFAULT_NODE_TIMEOUT, checkInterval)
    Object.assign(cote, { helloInterval: args.hello, checkInterval, nodeTimeout, masterTimeout: Math.max(6000, nodeTimeout) })
  }
  return cote
}

const isActive = (state: string) => state === 'admitted' || state === 'suspect'

function keyReport(key: string, health: HealthReport): KeyReport {
  const body = health.body as {
    message?: string
    services?: Record<string, string[]>
    unavailable?: Array<{ uuid: string; paths: string[]; reason: string }>
    refused?: Array<{ uuid: string; reason: string }>
  }
  const services = new Map<string, KeyReport['services'][number]['replicas']>()
  const replicasOf = (path: string) => services.get(path) ?? services.set(path, []).get(path)!
  for (const [path, uuids] of Object.entries(body.services ?? {})) for (const uuid of uuids) replicasOf(path).push({ uuid, health: 'answering' })
  const unavailable: KeyReport['unavailable'] = []
  for (const app of body.unavailable ?? []) {
    if (app.paths.length === 0) unavailable.push({ uuid: app.uuid, reason: app.reason })
    for (const path of app.paths) replicasOf(path).push({ uuid: app.uuid, health: 'not answering', reason: app.reason })
  }
  return {
    key,
    status: health.status,
    ...(health.status === 404 ? { message: `no app of key ${key} is known` } : {}),
    services: [...services.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([path, replicas]) => ({ path, replicas: replicas.sort((a, b) => a.uuid.localeCompare(b.uuid)) })),
    unavailable,
    refused: (body.refused ?? []).map(({ uuid, reason }) => ({ uuid, reason }))
  }
}

/** One round: the observer's status, and the healthcheck of every key seen (or of --key). */
export async function gather(app: Application, args: CliArgs, waited: number): Promise<CliReport> {
  const status = app.distribution.status()
  const apps = status.peers
    .filter((peer) => peer.key !== OBSERVER_KEY && (args.key === undefined || peer.key === args.key))
    .map(({ uuid, key, state, reason, lastHeard, rtt, services }) => ({ uuid, key, state, reason, lastHeard, rtt, services }))
    .sort((a, b) => a.key.localeCompare(b.key) || a.uuid.localeCompare(b.uuid))
  const checked = args.key !== undefined ? [args.key] : [...new Set(apps.filter((a) => isActive(a.state)).map((a) => a.key))]
  const keys = await Promise.all(checked.map(async (key) => keyReport(key, await app.distribution.healthcheck(key))))
  // Keys with refused apps only are listed, but not checked: refused apps neither pass nor fail.
  for (const key of new Set(apps.filter((a) => a.state === 'refused' && !checked.includes(a.key)).map((a) => a.key))) {
    keys.push({ key, status: null, services: [], unavailable: [], refused: apps.filter((a) => a.key === key && a.state === 'refused').map((a) => ({ uuid: a.uuid, reason: a.reason ?? '' })) })
  }
  keys.sort((a, b) => a.key.localeCompare(b.key))

  const problems: string[] = []
  for (const key of keys) {
    if (key.status === 404) problems.push(`key ${key.key}: no app of this key is known`)
    else if (key.status !== null && key.status !== 200) {
      const failing = new Map<string, string>()
      for (const service of key.services) for (const r of service.replicas) if (r.health !== 'answering') failing.set(r.uuid, r.reason ?? '')
      for (const a of key.unavailable) failing.set(a.uuid, a.reason)
      const list = [...failing].map(([uuid, reason]) => `${uuid.slice(0, 8)} (${reason})`).join(', ')
      problems.push(`key ${key.key}: ${failing.size} app(s) not answering: ${list}`)
    }
  }
  if (apps.some((a) => a.state === 'refused') && !apps.some((a) => isActive(a.state))) {
    problems.push('every app seen was refused: check FEATHERS_MESH_SECRET (or FEATHERS_MESH_SECRET_FILE) and the versions')
  }
  const cote = app.distribution.options.cote
  return {
    observer: {
      uuid: status.app.uuid,
      key: status.app.key,
      version: status.app.package.version,
      protocol: status.app.protocol,
      port: typeof cote.port === 'number' ? cote.port : undefined,
      broadcast: typeof cote.broadcast === 'string' ? cote.broadcast : undefined
    },
    at: new Date().toISOString(),
    waited,
    ok: problems.length === 0,
    problems,
    apps,
    keys
  }
}

/** Runs the CLI; resolves with the exit code once the mesh is closed. */
export async function main(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = (text: string) => process.stdout.write(text)
  let args: CliArgs
  try {
    args = parseArgs(argv, env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`feathers-mesh: ${error.message}\nRun "feathers-mesh --help" for the options.\n`)
    return 1
  }
  if (args.command === 'help') {
    out(USAGE)
    return 0
  }
  // stdout holds the report only: cote (COTE_LOG) and anything else that logs goes to stderr.
  console.log = console.error
  console.info = console.error

  const hello = args.hello ?? envMs(env, 'COTE_HELLO_INTERVAL')
  const wait = args.wait ?? (hello === undefined ? DEFAULT_WAIT : Math.max(DEFAULT_WAIT, Math.round(2.5 * hello)))
  const app = feathers()
  try {
    app.configure(
      distribution({
        key: OBSERVER_KEY,
        services: () => false,
        remoteServices: () => false,
        healthcheckPath: false,
        statusPath: false,
        metricsPath: false,
        ...(args.timeout !== undefined ? { healthcheckTimeout: args.timeout } : {}),
        cote: coteSettings(args, env)
      })
    )
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    return 1
  }

  let stopping = false
  let wake: (() => void) | undefined
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping) return resolve()
      const done = () => {
        clearTimeout(timer)
        wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      wake = done
    })
  const stop = () => {
    stopping = true
    wake?.()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)

  let code = 1
  try {
    await app.distribution.ready
    await pause(wait)
    for (let round = 1; !stopping; round++) {
      const report = await gather(app, args, wait)
      code = report.ok ? 0 : 1
      if (args.json) out(args.watch ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`)
      else out(`${args.watch && process.stdout.isTTY ? '\x1b[2J\x1b[H' : round > 1 ? '\n' : ''}${renderReport(report)}`)
      if (!args.watch || round === args.watchCount) break
      await pause(args.interval)
    }
  } catch (error) {
    process.stderr.write(`feathers-mesh: ${(error as Error).message}\n`)
    code = 1
  } finally {
    process.removeListener('SIGINT', stop)
    process.removeListener('SIGTERM', stop)
    await finalize(app)
  }
  return code
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code
      // The mesh is closed and holds no handle: the process ends on its own. Should anything still
      // hold it open, a healthcheck must not hang: say what, and leave.
      setTimeout(() => {
        const open = (process as any).getActiveResourcesInfo?.().filter((r: string) => r !== 'Timeout') ?? []
        process.stderr.write(`feathers-mesh: still open ${EXIT_GRACE} ms after closing the mesh (${open.join(', ')}); exiting\n`)
        process.exit(code)
      }, EXIT_GRACE).unref()
    },
    (error) => {
      process.stderr.write(`feathers-mesh: ${error?.stack ?? error}\n`)
      process.exit(1)
    }
  )
}
