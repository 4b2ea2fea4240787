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
import { coteSettings, defaultWait, envMs, parseArgs, USAGE, UsageError } from './cli-args'
import type { CliArgs } from './cli-args'
import type { HealthReport } from './healthcheck'
import { renderReport } from './cli-table'
import type { CliReport, KeyReport } from './cli-table'

export { coteSettings, parseArgs, USAGE, UsageError }
export type { CliArgs }

/** The key the CLI joins with; apps of this key (other CLIs) are left out of reports. */
export const OBSERVER_KEY = 'feathers-mesh-cli'
const EXIT_GRACE = 2000 // ms the process may take to end on its own once the mesh is closed

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
  // A reader that goes away (`| head`) is no error: the CLI stops writing, then closes the mesh as on SIGINT.
  let outClosed = false
  let stop = () => {}
  const onOutError = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') process.stderr.write(`feathers-mesh: stdout: ${error.message}\n`)
    outClosed = true
    stop()
  }
  const out = (text: string) => {
    if (!outClosed) process.stdout.write(text)
  }
  // Kept until the process ends: a write's EPIPE comes after the write returned, even the last one.
  process.stdout.on('error', onOutError)
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
  // COTE_HELLO_INTERVAL is not bounded as --hello is: a huge one must not overflow the timer (it would fire at once).
  const wait = args.wait ?? defaultWait(hello)
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
  stop = () => {
    stopping = true
    wake?.()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)

  let code = 1
  try {
    // A mesh that cannot start has said why on stderr (the plugin does, once).
    if (!(await app.distribution.ready.then(() => true, () => false))) return code
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
