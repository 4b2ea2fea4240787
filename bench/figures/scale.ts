/**
 * Scale (`npm run bench -- --scale`, issue #10): meshes of 10, 20 and 40 apps (each its own process,
 * 5 services, default options but loopback discovery), once with UDP broadcast and once with Redis
 * discovery (a redis-server of the bench's own on 127.0.0.1), then one mesh of 40 with longer hello
 * and heartbeat intervals. For each: the time to form the mesh, idle CPU against apps without the
 * mesh in the same window, and the discovery hellos and heartbeats each app receives per second.
 *
 * The processes boot once (Node and the modules loaded) and each runs one app after another, so the
 * time to form is the mesh's and not that of N process start-ups on 2 cores.
 */
import { execFileSync } from 'child_process'
import { DEFAULT_HELLO_INTERVAL } from '../../src/discovery'
import { DEFAULT_HEARTBEAT_INTERVAL } from '../../src/options'
import { RedisServer } from '../../test/helpers/redis'
import { PORTS, ROOT, cpuSeconds, defaultCote, nowNs, owned, row, sleep, socketInventory, spawnBenchChild, startInto, summarize, within } from '../helpers'
import type { Child, FigureResult } from '../helpers'
import type { Context } from '../context'
import { growth } from '../fit'
import type { Growth } from '../fit'

const SIZES = [10, 20, 40]
const SERVICES = 5
const BASELINE_APPS = 8 // apps without the mesh, measured in every window
const BATCH = 4 // processes booted at once (2 cores)
const FORM_TIMEOUT = 60_000 // ms
/** Between the mesh formed and the window: past discovery's first check, whose master election adds hellos. */
const settleMs = (mode: Mode) => (mode === 'broadcast, tuned' ? TUNED.cote.helloInterval : DEFAULT_HELLO_INTERVAL) + 1_000
/** Offsets from PORTS.scale of the warm-up ports (the meshes use 0 to 9). */
const WARM_UP_PORTS = [10, 30]
/** The tuned mesh: hellos every 10 s and heartbeats every 15 s (the defaults: 5 s each). */
const TUNED = { cote: { helloInterval: 10_000, nodeTimeout: 30_000, masterTimeout: 30_000 }, heartbeatInterval: 15_000 }

export type Mode = 'broadcast' | 'redis' | 'broadcast, tuned'

export interface Point {
  mode: Mode
  n: number
  /** From the start command to the last (and the median) app seeing every other, in s. */
  formSeconds: number
  formP50Seconds: number
  converged: number
  /** CPU time the N apps used from the start command to the last one formed, in s (all cores). */
  formCpuSeconds: number
  /** Why apps did not form the mesh, if any did not. */
  errors?: string[]
  /** Idle CPU of the N apps, % of one core: in total, per app, per app without the mesh (same window). */
  cpuPercent: number
  perAppPercent: number
  baselinePerAppPercent: number
  /** Over N apps without the mesh. */
  overPercent: number
  redisPercent: number | null
  /** Per app and second, mean over the apps. */
  hellosPerApp: number
  heartbeatsPerApp: number
  tcpEstablished: number
  udpSockets: number
  windowSeconds: number
}

const us = () => Number(nowNs() / 1000n)
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

/** Boots `count` processes, BATCH at a time, into `children` as each is ready (the caller stops them, even when one fails). */
async function boot(count: number, prefix: string, mesh: boolean, children: Child[]): Promise<void> {
  for (let i = 0; i < count; i += BATCH) {
    // Each process warms up with a mesh app, on a port it shares with one or two others at most.
    const warmUp = (k: number) => ({ key: 'warm-up', cote: defaultCote(PORTS.scale + WARM_UP_PORTS[0] + (k % (WARM_UP_PORTS[1] - WARM_UP_PORTS[0]))) })
    const batch = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => spawnBenchChild('scale-app', `${prefix}-${i + j}`, mesh ? { warmUp: warmUp(i + j) } : {}, { readyTimeout: 30_000 }))
    await startInto(children, batch)
  }
}

let runs = 0

/** The commit measured, and whether src/ differs from it. */
function revision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', 'src') ? ' with uncommitted changes in src/' : ''}`
  } catch {
    return 'unknown'
  }
}

/** One mesh of `n` apps: formed, left idle for `seconds`, measured, closed. */
async function measure(pool: Child[], baseline: Child[], mode: Mode, n: number, port: number, seconds: number, redis?: RedisServer): Promise<Point> {
  const apps = pool.slice(0, n)
  const run = ++runs
  const errors = new Set<string>()
  const fail = (error: string) => {
    errors.add(error)
    return NaN
  }
  const options = (i: number) => ({
    key: `app${i}`,
    ...(mode === 'broadcast, tuned' ? TUNED : {}),
    cote: { ...defaultCote(port), ...(mode === 'broadcast, tuned' ? TUNED.cote : {}) },
    ...(mode === 'redis' ? { discovery: { redis: redis!.url } } : {})
  })
  try {
    const cpuAt0 = sum(apps.map((app) => cpuSeconds(app.pid)))
    const t0 = us()
    const converged = apps.map((app) =>
      app.message(`converged-${run}`, FORM_TIMEOUT).then(
        (m) => (m.error ? fail(m.error) : (m.at - t0) / 1e6),
        (error) => fail(error.message)
      )
    )
    await Promise.all(apps.map((app, i) => app.send({ cmd: 'start', run, app: { mesh: true, services: SERVICES, prefix: `app${i}-service`, options: options(i) }, expect: { peers: n - 1, services: n * SERVICES } }, FORM_TIMEOUT)))
    const times = await Promise.all(converged)
    const formCpuSeconds = sum(apps.map((app) => cpuSeconds(app.pid))) - cpuAt0
    const formed = times.filter(Number.isFinite)
    if (formed.length === 0) throw new Error(`${mode}, ${n} apps: no app formed the mesh (${[...errors].join('; ')})`)
    await sleep(settleMs(mode))

    const counters = () => Promise.all(apps.map((app) => app.send({ cmd: 'counters' }, 5000)))
    const cpu = () => ({ apps: apps.map((app) => cpuSeconds(app.pid)), baseline: baseline.map((app) => cpuSeconds(app.pid)), redis: redis?.pid ? cpuSeconds(redis.pid) : 0, at: performance.now() })
    const before = await counters()
    const cpu0 = cpu()
    await sleep(seconds * 1000)
    const cpu1 = cpu()
    const after = await counters()
    const window = (cpu1.at - cpu0.at) / 1000
    const percent = (a: number[], b: number[]) => (100 * (sum(b) - sum(a))) / window
    const cpuPercent = percent(cpu0.apps, cpu1.apps)
    const baselinePerAppPercent = percent(cpu0.baseline, cpu1.baseline) / baseline.length
    const rate = (field: 'heard' | 'heartbeatsIn') => sum(after.map((c, i) => c[field] - before[i][field])) / n / window
    const sockets = socketInventory(apps[0].pid)
    return {
      mode,
      n,
      formSeconds: formed.length === n ? Math.max(...formed) : NaN,
      formP50Seconds: summarize(formed).p50,
      converged: formed.length,
      formCpuSeconds,
      ...(errors.size ? { errors: [...errors] } : {}),
      cpuPercent,
      perAppPercent: cpuPercent / n,
      baselinePerAppPercent,
      overPercent: cpuPercent - n * baselinePerAppPercent,
      redisPercent: redis ? (100 * (cpu1.redis - cpu0.redis)) / window : null,
      hellosPerApp: rate('heard'),
      heartbeatsPerApp: rate('heartbeatsIn'),
      tcpEstablished: sockets.tcpEstablished,
      udpSockets: sockets.udp.length,
      windowSeconds: window
    }
  } finally {
    // Each app says goodbye and closes; its process stays for the next mesh.
    await Promise.all(apps.map((app) => app.send({ cmd: 'stop' }, 10_000).catch(() => undefined)))
  }
}

/** The quantities fitted against N, per discovery mode. */
export const QUANTITIES: Array<{ name: string; unit: string; of: (p: Point) => number | null }> = [
  { name: 'time to form', unit: 's', of: (p) => p.formSeconds },
  { name: 'CPU to form, all apps', unit: 's', of: (p) => p.formCpuSeconds },
  { name: 'idle CPU, all apps', unit: '% of a core', of: (p) => p.cpuPercent },
  { name: 'idle CPU over no mesh', unit: '% of a core', of: (p) => p.overPercent },
  { name: 'idle CPU per app', unit: '% of a core', of: (p) => p.perAppPercent },
  { name: 'redis-server CPU', unit: '% of a core', of: (p) => p.redisPercent },
  { name: 'hellos heard per app', unit: '/s', of: (p) => p.hellosPerApp },
  { name: 'heartbeats per app', unit: '/s', of: (p) => p.heartbeatsPerApp },
  { name: 'messages in the mesh', unit: '/s', of: (p) => p.n * (p.hellosPerApp + p.heartbeatsPerApp) }
]

export interface Fit {
  mode: Mode
  quantity: string
  unit: string
  growth: Omit<Growth, 'predict'>
  at200: number
  at1000: number
}

function fits(points: Point[]): Fit[] {
  const out: Fit[] = []
  for (const mode of ['broadcast', 'redis'] as const) {
    const series = points.filter((p) => p.mode === mode)
    for (const quantity of QUANTITIES) {
      const ys = series.map(quantity.of)
      if (series.length < 3 || ys.some((y) => y === null || !Number.isFinite(y))) continue
      const { predict, ...rest } = growth(
        series.map((p) => p.n),
        ys as number[]
      )
      out.push({ mode, quantity: quantity.name, unit: quantity.unit, growth: rest, at200: predict(200), at1000: predict(1000) })
    }
  }
  return out
}

export async function run(ctx: Context): Promise<FigureResult> {
  const sizes = ctx.settings.quick ? [2, 3, 4] : SIZES
  const seconds = ctx.settings.scaleSeconds
  const largest = sizes[sizes.length - 1]
  const measured = revision() // before the run: the children load what is built now
  const redis = await RedisServer.start()
  owned({ stop: () => within(redis.stop(), 5000, 'redis-server stop').catch(() => void (redis.pid && process.kill(redis.pid, 'SIGKILL'))) })
  const pool: Child[] = []
  const baseline: Child[] = []
  const points: Point[] = []
  const failures: string[] = []
  const plan: Array<[Mode, number]> = [...sizes.map((n) => ['broadcast', n] as [Mode, number]), ...sizes.map((n) => ['redis', n] as [Mode, number]), ['broadcast, tuned', largest]]
  let bootSeconds = NaN
  try {
    const t = performance.now()
    await boot(largest, 'scale', true, pool)
    await boot(ctx.settings.quick ? 2 : BASELINE_APPS, 'scale-plain', false, baseline)
    bootSeconds = (performance.now() - t) / 1000
    await Promise.all(baseline.map((app, i) => app.send({ cmd: 'start', run: 0, app: { mesh: false, services: SERVICES, prefix: `plain${i}-service` } })))
    for (const [i, [mode, n]] of plan.entries()) {
      process.stdout.write(`${mode} ${n}… `)
      try {
        points.push(await measure(pool, baseline, mode, n, PORTS.scale + i, seconds, mode === 'redis' ? redis : undefined))
      } catch (error) {
        failures.push(`${mode}, ${n} apps: ${(error as Error).message}`)
      }
    }
  } finally {
    await Promise.all([...pool, ...baseline].map((app) => app.stop(3000)))
    await within(redis.stop(), 5000, 'redis-server stop').catch(() => undefined)
  }
  const summary = (p: Point) =>
    row('S', `${p.mode}, ${p.n} apps × ${SERVICES} services: idle CPU`, p.cpuPercent, p.n * p.baselinePerAppPercent, '% of a core', '', null, `formed in ${p.formSeconds.toFixed(2)} s; ${p.hellosPerApp.toFixed(1)} hellos and ${p.heartbeatsPerApp.toFixed(1)} heartbeats per app per s`)
  return {
    rows: [...points.filter((p) => p.n === largest).map(summary), ...failures.map((failure) => row('S', 'scale: FAILED', null, null, '', '', false, failure))],
    details: { revision: measured, defaults: { helloInterval: DEFAULT_HELLO_INTERVAL, heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL }, sizes, services: SERVICES, baselineApps: baseline.length, seconds, bootSeconds, tuned: TUNED, points, failures, fits: fits(points) }
  }
}
