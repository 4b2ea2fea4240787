/** What every bench child shares: its configuration, the guard check, the idle app, the IPC command loop, loops and clocks. */
import path from 'path'
import { PerformanceObserver, constants } from 'perf_hooks'

export const config: Record<string, any> = JSON.parse(process.env.BENCH_CHILD ?? '{}')

/** A bench child never runs without the network guard (`node -r build/test/helpers/guard.js`). */
export function requireGuard() {
  const suffix = path.join('test', 'helpers', 'guard.js')
  if (!Object.keys(require.cache).some((file) => file.endsWith(suffix))) {
    console.error(`bench child ${config.name ?? process.pid}: started without the network guard, refusing to run`)
    process.exit(2)
  }
}

export interface IdleAppConfig {
  name: string
  mesh: boolean
  /** Options of `distribution()` (mesh apps). */
  options?: Record<string, unknown>
  services?: number
  prefix?: string
}

/**
 * An Express app with `services` in-memory services, with or without feathers-mesh, listening on
 * 127.0.0.1 and doing nothing (the idle-cost and scale figures run many). The library is required
 * here, so a child can patch cote before it loads.
 */
export async function idleApp(settings: IdleAppConfig) {
  const { feathers } = require('@feathersjs/feathers')
  const express = require('@feathersjs/express')
  const { TodoService } = require('../../test/fixtures/services')
  const app: any = express.default(feathers())
  app.use(express.json())
  app.configure(express.rest())
  if (settings.mesh) app.configure(require('../../src').distribution(settings.options ?? {}))
  // Paths of the app's own (as distinct microservices have): with the mesh, every app mounts a proxy for each other app's.
  for (let i = 0; i < (settings.services ?? 10); i++) app.use(`${settings.prefix ?? 'service'}${i}`, new TodoService(settings.name))
  app.use(express.errorHandler({ logger: false }))
  const server = await app.listen(0, '127.0.0.1')
  // Feathers resolves once the app is set up, which may be before the server listens.
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  return {
    app,
    httpPort: server.address().port as number,
    async close() {
      if (settings.mesh) await require('../../src').finalize(app)
      await app.teardown().catch(() => undefined)
    }
  }
}

/** Monotonic time in µs, shared by every process of the machine (CLOCK_MONOTONIC). */
export const nowUs = () => Number(process.hrtime.bigint() / 1000n)

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export type Commands = Record<string, (message: any) => unknown>

/** Answers `{ cmd, id }` messages with `{ type: 'reply', id, value | error }`; `exit` runs `close` then exits. */
const cpuUs = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}
/** Page faults this process has taken (a fault costs about 14 µs on the VMs these figures come from). */
const faults = () => {
  const { minorPageFault, majorPageFault } = process.resourceUsage()
  return minorPageFault + majorPageFault
}

export function serve(commands: Commands, close: () => Promise<void>) {
  const exit = async () => {
    await Promise.race([close().catch(() => undefined), sleep(2000)])
    setImmediate(() => process.exit(0))
    return true
  }
  process.on('message', (message: any) => {
    // cpu: µs of CPU this process has used (user + system), for figures that report CPU per call.
    const handler = message?.cmd === 'exit' ? exit : message?.cmd === 'cpu' ? cpuUs : message?.cmd === 'faults' ? faults : commands[message?.cmd]
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message?.cmd}`)
        return handler(message)
      })
      .then(
        (value) => process.send?.({ type: 'reply', id: message.id, value }),
        (error) => process.send?.({ type: 'reply', id: message.id, error: String(error?.message ?? error) })
      )
  })
  process.on('disconnect', () => process.exit(0))
  process.once('SIGTERM', () => void exit())
}

/** Sequential calls: warm-up, then at most `maxCalls` within `maxMs`; per-call times in µs. */
export async function sequential(call: () => Promise<unknown>, { warmup = 500, maxCalls = 20_000, maxMs = 3000 } = {}) {
  let errors = 0
  for (let i = 0; i < warmup; i++) await call().catch(() => errors++)
  errors = 0
  const samples = new Float64Array(maxCalls)
  let n = 0
  const start = process.hrtime.bigint()
  const deadline = performance.now() + maxMs
  while (n < maxCalls && (n % 64 !== 0 || performance.now() < deadline)) {
    const t = process.hrtime.bigint()
    try {
      await call()
    } catch {
      errors++
    }
    samples[n++] = Number(process.hrtime.bigint() - t) / 1000
  }
  const end = process.hrtime.bigint()
  const totalUs = Number(end - start) / 1000
  const sorted = samples.slice(0, n).sort()
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]
  // The measured window on the machine's monotonic clock (V8 CPU profiles use the same one).
  const window = [Number(start / 1000n), Number(end / 1000n)]
  return { calls: n, errors, totalUs, usPerCall: totalUs / n, p50Us: at(50), p99Us: at(99), window }
}

/** `concurrency` calls in flight at all times; at most `maxCalls` within `maxMs`. */
export async function inFlight(call: () => Promise<unknown>, { concurrency = 100, maxCalls = 1_000_000, maxMs = 3000 } = {}) {
  let started = 0
  let done = 0
  let errors = 0
  let firstError: string | undefined
  const start = performance.now()
  const deadline = start + maxMs
  await new Promise<void>((resolve) => {
    let active = 0
    const launch = () => {
      while (active < concurrency && started < maxCalls && performance.now() < deadline) {
        started++
        active++
        call().then(ok, fail)
      }
      if (active === 0) resolve()
    }
    const ok = () => {
      done++
      active--
      launch()
    }
    const fail = (error: any) => {
      errors++
      firstError ??= String(error?.message ?? error)
      active--
      launch()
    }
    launch()
  })
  const seconds = (performance.now() - start) / 1000
  return { calls: done, errors, firstError, seconds, perSecond: done / seconds }
}

/** A value whose JSON is about `bytes` long: a list of small records (realistic to encode and parse). */
export function payloadValue(bytes: number) {
  const item = (i: number) => ({ id: i, name: `item ${i}`, text: 'lorem ipsum dolor sit amet, consectetur', n: i * 1.5, done: i % 2 === 0 })
  const itemBytes = JSON.stringify(item(10_000)).length + 1
  const count = Math.max(1, Math.round((bytes - 40) / itemBytes))
  return { title: `payload of ${bytes} bytes`, items: Array.from({ length: count }, (_, i) => item(i)) }
}

/** Records events per phase: arrivals, latencies (µs, from the `t` the emitter put in) and duplicates. */
export class EventLog {
  phase = ''
  count = 0
  duplicates = 0
  firstAt = 0
  lastAt = 0
  latencies: number[] = []
  private seen = new Set<number>()

  reset(phase: string) {
    this.phase = phase
    this.count = 0
    this.duplicates = 0
    this.firstAt = 0
    this.lastAt = 0
    this.latencies = []
    this.seen.clear()
  }

  record(data: any) {
    if (!data || data.phase !== this.phase) return
    const at = nowUs()
    if (this.seen.has(data.seq)) {
      this.duplicates++
      return
    }
    this.seen.add(data.seq)
    this.count++
    if (!this.firstAt) this.firstAt = at
    this.lastAt = at
    if (typeof data.t === 'number') this.latencies.push(at - data.t)
  }

  /** Waits until `expected` events arrived or none arrived for `quietMs` (at most `maxMs`). */
  async collect(expected: number, quietMs = 1000, maxMs = 15_000) {
    const deadline = Date.now() + maxMs
    let lastCount = -1
    let lastChange = Date.now()
    while (this.count < expected && Date.now() < deadline) {
      if (this.count !== lastCount) {
        lastCount = this.count
        lastChange = Date.now()
      } else if (Date.now() - lastChange > quietMs) break
      await sleep(20)
    }
    return { phase: this.phase, count: this.count, duplicates: this.duplicates, firstAt: this.firstAt, lastAt: this.lastAt, latencies: this.latencies }
  }
}

export interface GcCounts {
  /** Scavenges and their total pause (ms). */
  minor: number
  minorMs: number
  /** Mark-compacts (full GCs) and the steps of incremental marking, and their total pause (ms). */
  major: number
  majorMs: number
}

/** Counts this process's garbage collections while `work` runs (what a figure's load costs in GC). */
export async function countingGcs<T>(work: () => Promise<T>): Promise<{ result: T; gc: GcCounts }> {
  const gc: GcCounts = { minor: 0, minorMs: 0, major: 0, majorMs: 0 }
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as any).detail?.kind
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        gc.minor++
        gc.minorMs += entry.duration
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR || kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) {
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++
        gc.majorMs += entry.duration
      }
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  try {
    const result = await work()
    // GC entries are delivered asynchronously: let the last ones arrive.
    await sleep(20)
    return { result, gc }
  } finally {
    observer.disconnect()
  }
}
