/**
 * What every figure shares: paths, the bench's own discovery ports, child processes that preload
 * the network guard and report readiness over IPC, statistics, /proc readings and result rows.
 */
import { fork } from 'child_process'
import type { ChildProcess } from 'child_process'
import fs from 'fs'
import os from 'os'
import path from 'path'

export const ROOT = path.resolve(__dirname, '..', '..')
export const GUARD = path.join(ROOT, 'build', 'test', 'helpers', 'guard.js')
export const FIXTURE = path.join(ROOT, 'build', 'test', 'fixtures', 'app.js')
export const CHILDREN = path.join(__dirname, 'children')
export const RESULTS = path.join(ROOT, 'bench-results')
export const LOOPBACK_BROADCAST = '127.255.255.255'

/** True when the network guard was preloaded into this process (`node -r .../guard.js`). */
export function guardLoaded(): boolean {
  const suffix = path.join('test', 'helpers', 'guard.js')
  return Object.keys(require.cache).some((file) => file.endsWith(suffix))
}

/**
 * The bench's discovery ports: a block of 100 at 49100 and above (the tests use 42000–48000), held
 * by this run alone through a lock file in the temporary directory. Two runs sharing a block would
 * not fail: the raw cote requester and the mesh consumer would split their calls with the other
 * run's providers, and every figure would be skewed without a word. Taken on first use (a unit test
 * of a figure that opens no port takes none), released when the process exits; a lock whose run
 * died without releasing it is taken over.
 */
const PORT_BLOCKS = 8
const LOCK_PREFIX = 'feathers-mesh-bench-ports-'
let heldBase: number | undefined

export function portBase(): number {
  return (heldBase ??= lockPortBlock())
}

/** Takes the first block whose lock file in `dir` is free or stale; the lock goes when this process exits. */
export function lockPortBlock(dir = os.tmpdir()): number {
  for (let block = 0; block < PORT_BLOCKS; block++) {
    const base = 49100 + block * 100
    const file = path.join(dir, `${LOCK_PREFIX}${base}.lock`)
    if (!takeLock(file)) continue
    process.once('exit', () => {
      try {
        if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file)
      } catch {
        // already gone
      }
    })
    return base
  }
  throw new Error(`no free block of bench ports: ${PORT_BLOCKS} other runs hold ${path.join(dir, `${LOCK_PREFIX}*.lock`)}`)
}

/** Creates `file` holding this process's id, or takes it over from a process that has died. */
function takeLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx')
      fs.writeSync(fd, String(process.pid))
      fs.closeSync(fd)
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    if (lockHeld(file)) return false
    try {
      fs.unlinkSync(file)
    } catch {
      // another run took it over first: the next attempt finds its lock
    }
  }
  return false
}

function lockHeld(file: string): boolean {
  try {
    const owner = Number(fs.readFileSync(file, 'utf8'))
    // Empty: its run is between creating and writing it (or died there, long ago).
    if (!owner) return Date.now() - fs.statSync(file).mtimeMs < 10_000
    process.kill(owner, 0)
    return true
  } catch (error) {
    // EPERM: alive, another user's; ESRCH: dead; ENOENT: released meanwhile (taken on the next attempt).
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Ports of the figures, as offsets in the run's block. */
export const PORTS = {
  get calls() {
    return portBase() + 1
  },
  get rawCalls() {
    return portBase() + 2
  },
  get http() {
    return portBase() + 3
  },
  get events() {
    return portBase() + 4
  },
  get rawEvents() {
    return portBase() + 5
  },
  /** One port per start-up run: + 10 … + 29. */
  get startup() {
    return portBase() + 10
  },
  get idle() {
    return portBase() + 40
  },
  get profile() {
    return portBase() + 50
  },
  /** Three pairs of the cost figure: + 60 … + 62. */
  get costs() {
    return portBase() + 60
  },
  /** One port per mesh of the scale part (--scale): + 70 … + 79; its warm-ups: + 80 … + 99. */
  get scale() {
    return portBase() + 70
  }
}

/** Discovery options of the measuring figures: loopback broadcast, fast hellos, quiet (same for mesh and raw cote). */
export function fastCote(port: number) {
  return { broadcast: LOOPBACK_BROADCAST, port, helloInterval: 200, log: false }
}

/** Discovery left at cote's defaults except the two settings that keep it on this machine and this run. */
export function defaultCote(port: number) {
  return { broadcast: LOOPBACK_BROADCAST, port }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
export const nowNs = () => process.hrtime.bigint()

/** Rejects after `ms`: every wait of the bench is bounded. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface Child {
  name: string
  pid: number
  process: ChildProcess
  /** The child's `ready` message. */
  info: any
  /** Sends a command and resolves with its reply value (bounded by `timeout`). */
  send(command: Record<string, unknown>, timeout?: number): Promise<any>
  /** Resolves with the next message of `type` the child sends (bounded). */
  message(type: string, timeout: number): Promise<any>
  exited: Promise<number | null>
  /** Asks the child to exit, then ends it by PID if it has not within `grace` ms. */
  stop(grace?: number): Promise<void>
}

const live = new Set<Child>()

export interface SpawnOptions {
  name: string
  env?: Record<string, string>
  /** Node options besides the guard (which is always first). */
  execArgv?: string[]
  readyTimeout?: number
  /** Whether to wait for the `ready` message (false: resolve as soon as the process is forked). */
  waitReady?: boolean
}

/** Forks `file` with the network guard preloaded; resolves once it reports `{ type: 'ready' }`. */
export async function spawnChild(file: string, options: SpawnOptions): Promise<Child> {
  const { name, readyTimeout = 15_000, waitReady = true } = options
  const proc = fork(file, [], {
    env: { ...process.env, ...(options.env ?? {}) },
    execArgv: ['-r', GUARD, ...(options.execArgv ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const replies = new Map<number, (message: any) => void>()
  const inbox: any[] = []
  const waiting = new Set<{ type: string; resolve: (message: any) => void }>()
  let nextId = 0
  proc.on('message', (message: any) => {
    if (message?.type === 'reply') return replies.get(message.id)?.(message)
    for (const waiter of waiting) {
      if (waiter.type === message?.type) {
        waiting.delete(waiter)
        return waiter.resolve(message)
      }
    }
    inbox.push(message)
  })
  const message = (type: string, timeout: number) => {
    const index = inbox.findIndex((m) => m?.type === type)
    if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0])
    const received = new Promise<any>((resolve, reject) => {
      const waiter = { type, resolve }
      waiting.add(waiter)
      exited.then((code) => {
        if (waiting.delete(waiter)) reject(new Error(`${name} exited (${code}) before sending ${type}`))
      })
    })
    return within(received, timeout, `${name} ${type}`)
  }
  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    process: proc,
    info: undefined,
    exited,
    message,
    send(command, timeout = 30_000) {
      if (!proc.connected) return Promise.reject(new Error(`${name} is not connected`))
      if ('id' in command) return Promise.reject(new Error(`${name}: \`id\` is the IPC message id, name the field otherwise`))
      const id = nextId++
      const reply = new Promise<any>((resolve, reject) => {
        replies.set(id, (message) => {
          replies.delete(id)
          message.error ? reject(new Error(`${name}: ${message.error}`)) : resolve(message.value)
        })
        proc.send({ ...command, id }, (error) => error && reject(error))
        exited.then((code) => reject(new Error(`${name} exited (${code}) during ${String(command.cmd)}`)))
      })
      return within(reply, timeout, `${name} ${String(command.cmd)}`).finally(() => replies.delete(id))
    },
    async stop(grace = 3000) {
      if (proc.exitCode === null && proc.signalCode === null && proc.connected) {
        child.send({ cmd: 'exit' }, grace).catch(() => undefined)
        await Promise.race([exited, sleep(grace)])
      }
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') // by PID, this child only
      await exited
      live.delete(child)
    }
  }
  live.add(child)
  if (!waitReady) return child
  try {
    child.info = await message('ready', readyTimeout)
  } catch (error) {
    await child.stop(0)
    throw error
  }
  return child
}

/** The test fixture app (test/fixtures/app.js), configured by MESH_FIXTURE. */
export function spawnFixture(name: string, config: Record<string, unknown>, extra: Partial<SpawnOptions> = {}) {
  return spawnChild(FIXTURE, { ...extra, name, env: { ...(extra.env ?? {}), MESH_FIXTURE: JSON.stringify({ ...config, name }) } })
}

/** A bench child (bench/children/NAME.js), configured by BENCH_CHILD. */
export function spawnBenchChild(file: string, name: string, config: Record<string, unknown>, extra: Partial<SpawnOptions> = {}) {
  return spawnChild(path.join(CHILDREN, `${file}.js`), { ...extra, name, env: { ...(extra.env ?? {}), BENCH_CHILD: JSON.stringify({ ...config, name }) } })
}

/**
 * Waits for every start of a batch, pushing each child into `into` as soon as it is ready, then
 * throws the first failure. With `into.push(...(await Promise.all(batch)))` one child that never
 * got ready left the others out of the caller's array, so its `finally` did not stop them.
 */
export async function startInto(into: Child[], starts: Array<Promise<Child>>): Promise<void> {
  const results = await Promise.allSettled(starts.map((start) => start.then((child) => void into.push(child))))
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failed) throw failed.reason
}

const others = new Set<{ stop(): Promise<void> }>()

/** Something else the bench started (a redis-server), stopped by `stopAll` too, with the children. */
export function owned<T extends { stop(): Promise<void> }>(thing: T): T {
  others.add(thing)
  return thing
}

/** Stops every child still running (each by its own PID), and whatever else the bench owns. */
export async function stopAll(grace = 2000) {
  const rest = [...others]
  others.clear()
  await Promise.all([...[...live].map((child) => child.stop(grace)), ...rest.map((thing) => thing.stop().catch(() => undefined))])
}

/** Polls `predicate` until it is truthy, at most `timeout` ms. */
export async function waitUntil<T>(predicate: () => Promise<T> | T, timeout: number, what: string, interval = 50): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    try {
      const value = await predicate()
      if (value) return value
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(interval)
  }
}

// ---------------------------------------------------------------- statistics

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}

export function summarize(samples: number[]) {
  const sorted = Float64Array.from(samples).sort()
  const sum = samples.reduce((a, b) => a + b, 0)
  return {
    count: samples.length,
    mean: samples.length ? sum / samples.length : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN
  }
}

// ---------------------------------------------------------------- /proc

export const CLOCK_TICKS = 100 // USER_HZ on Linux (getconf CLK_TCK)

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11]) // field 14
  const stime = Number(fields[12]) // field 15
  return (utime + stime) / CLOCK_TICKS
}

/** CPU seconds the whole machine spent busy (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const [, ...fields] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number)
  void idle
  void iowait
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS
}

/** CPU seconds of this process and of its children that have exited (utime, stime, cutime, cstime). */
export function ownTreeSeconds(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  return match ? Number(match[1]) * 1024 : NaN
}

export interface SocketInventory {
  tcpListening: number[]
  tcpEstablished: number
  udp: number[]
}

/**
 * The sockets one process owns: its socket inodes (/proc/<pid>/fd) matched against the namespace's
 * tables (/proc/<pid>/net/{tcp,tcp6,udp,udp6}). Ports are local ports.
 */
export function socketInventory(pid: number): SocketInventory {
  const inodes = new Set<string>()
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (match) inodes.add(match[1])
    } catch {
      // closed meanwhile
    }
  }
  const rows = (table: string) => {
    try {
      return fs
        .readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((cols) => cols.length > 9 && inodes.has(cols[9]))
    } catch {
      return []
    }
  }
  const port = (local: string) => parseInt(local.split(':')[1], 16)
  const tcp = [...rows('tcp'), ...rows('tcp6')]
  return {
    tcpListening: [...new Set(tcp.filter((cols) => cols[3] === '0A').map((cols) => port(cols[1])))].sort((a, b) => a - b),
    tcpEstablished: tcp.filter((cols) => cols[3] === '01').length,
    udp: [...rows('udp'), ...rows('udp6')].map((cols) => port(cols[1])).sort((a, b) => a - b)
  }
}

// ---------------------------------------------------------------- results

export interface Row {
  /** Figure number (1–9) or a label. */
  n: string
  metric: string
  mesh: number | string | null
  baseline: number | string | null
  unit: string
  /** mesh / baseline, when both are numbers. */
  ratio: number | null
  target: string
  /** Whether the target is met (null: no target for this line). */
  met: boolean | null
  note?: string
}

export function row(n: string, metric: string, mesh: number | string | null, baseline: number | string | null, unit: string, target = '', met: boolean | null = null, note?: string): Row {
  const ratio = typeof mesh === 'number' && typeof baseline === 'number' && baseline !== 0 && Number.isFinite(mesh) && Number.isFinite(baseline) ? mesh / baseline : null
  // A comparison with NaN is false, but `!(x > target)` or a NaN baseline can still pass: a value that was not measured meets nothing.
  const measured = (value: number | string | null) => typeof value !== 'number' || Number.isFinite(value)
  return { n, metric, mesh, baseline, unit, ratio, target, met: met === true && !(measured(mesh) && measured(baseline)) ? false : met, ...(note ? { note } : {}) }
}

export interface FigureResult {
  rows: Row[]
  details: Record<string, unknown>
}

/** A figure that failed still gives a row, so the table shows what is missing and why. */
export function failedFigure(n: string, name: string, error: unknown): FigureResult {
  const message = String((error as Error)?.message ?? error)
  return { rows: [row(n, `${name}: FAILED`, null, null, '', '', false, message)], details: { error: message } }
}

export function fmt(value: number | string | null, digits?: number): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'string') return value
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  const d = digits ?? (abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3)
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
}

/** One plain-text table: columns sized to their content. */
export function table(header: string[], lines: string[][], align: Array<'l' | 'r'> = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => (line[i] ?? '').length)))
  const cell = (text: string, i: number) => (align[i] === 'r' ? text.padStart(widths[i]) : text.padEnd(widths[i]))
  const out = [header.map(cell).join(' │ '), widths.map((w) => '─'.repeat(w)).join('─┼─')]
  for (const line of lines) out.push(line.map(cell).join(' │ '))
  return out.join('\n')
}
