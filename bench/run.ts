/**
 * `npm run bench`: every figure of issue #4, each next to its baseline measured in the same run,
 * on loopback only. Prints one table and writes bench-results/bench.json and bench.txt
 * (bench-partial.* for --only and --quick runs).
 *
 *   npm run bench                        all figures (about 3 minutes on 2 cores)
 *   npm run bench -- --only 1,2,5        some figures
 *   npm run bench -- --idle-seconds 15   a shorter idle window (figure 7)
 *   npm run bench -- --quick             short loops: checks the harness, measures nothing
 *   npm run bench -- --profile           figure 1 under node --cpu-prof (bench-results/profiles/)
 *   npm run bench -- --profile --secret  the same, with a mesh secret set
 *   npm run bench -- --scale             the scale part alone: meshes of 10, 20 and 40 apps, broadcast
 *                                        and Redis (about 5 minutes; bench-results/scale.json and .txt)
 *   npm run bench -- --scale --scale-seconds 10   a shorter idle window per mesh (default 20)
 *
 * The parent and every child preload the network guard (build/test/helpers/guard.js), discovery
 * uses 127.255.255.255 on ports of the bench's own (49100 and above), HTTP load targets 127.0.0.1,
 * and the scale part's redis-server is the bench's own, on 127.0.0.1, stopped by PID.
 */
import fs from 'fs'
import os from 'os'
import path from 'path'
import { RESULTS, failedFigure, fmt, guardLoaded, machineBusySeconds, ownTreeSeconds, portBase, stopAll, table } from './helpers'
import type { FigureResult, Row } from './helpers'
import type { BenchSettings, Context } from './context'
import { httpPair, meshCallPair, rawCallPair } from './pairs'
import type { CallPair, HttpPair } from './pairs'
import { profile } from './profile'
import * as seq from './figures/seq'
import * as flight from './figures/flight'
import * as httpLoad from './figures/http-load'
import * as httpRate from './figures/http-rate'
import * as events from './figures/events'
import * as startup from './figures/startup'
import * as idle from './figures/idle'
import * as payload from './figures/payload'
import * as memory from './figures/memory'
import * as costs from './figures/costs'
import * as scale from './figures/scale'
import { renderScale } from './scale-report'

interface Figure {
  n: string
  name: string
  uses: Array<'calls' | 'http'>
  run(ctx: Context): Promise<FigureResult>
}

/** In running order: the ones sharing the call pairs first (memory before the big payloads), then the rest. */
const FIGURES: Figure[] = [
  { n: '1', name: 'sequential get', uses: ['calls'], run: seq.run },
  { n: '2', name: '100 in flight', uses: ['calls'], run: flight.run },
  { n: '9', name: 'memory', uses: ['calls'], run: memory.run },
  { n: '8', name: 'payload', uses: ['calls'], run: payload.run },
  { n: '3', name: 'HTTP load', uses: ['http'], run: httpLoad.run },
  { n: '4', name: 'HTTP at 200 req/s', uses: ['http'], run: httpRate.run },
  { n: '5', name: 'events', uses: [], run: events.run },
  { n: '6', name: 'start-up', uses: [], run: startup.run },
  { n: '7', name: 'idle cost', uses: [], run: idle.run },
  { n: '10', name: 'cost of a secret and of metrics', uses: [], run: costs.run }
]

/** Run alone, with --scale. */
const SCALE: Figure = { n: 'S', name: 'scale', uses: [], run: scale.run }

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const index = argv.indexOf(flag)
    if (index < 0) return undefined
    const next = argv[index + 1]
    if (next === undefined || next.startsWith('--')) throw new Error(`${flag} needs a value`)
    return next
  }
  const only = onlyFigures(value('--only'))
  const idleSeconds = Number(value('--idle-seconds') ?? 30)
  if (!Number.isFinite(idleSeconds) || idleSeconds <= 0 || idleSeconds > 120) throw new Error('--idle-seconds must be in (0, 120]')
  const profileSeconds = Number(value('--profile-seconds') ?? 6)
  const scaleSeconds = Number(value('--scale-seconds') ?? 20)
  if (!Number.isFinite(scaleSeconds) || scaleSeconds <= 0 || scaleSeconds > 60) throw new Error('--scale-seconds must be in (0, 60]')
  return { only, quick: argv.includes('--quick'), profile: argv.includes('--profile'), scale: argv.includes('--scale'), idleSeconds, profileSeconds, scaleSeconds }
}

/**
 * The figures of `--only 1,2`. A list naming no figure ran every figure and wrote the result as a
 * partial run (or, naming only unknown ones, an empty one): each name must be a figure.
 */
function onlyFigures(list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined
  const names = list.split(',').map((s) => s.trim()).filter(Boolean)
  const known = FIGURES.map((f) => f.n)
  const unknown = names.filter((name) => !known.includes(name))
  if (names.length === 0 || unknown.length) {
    throw new Error(`--only takes figures from ${[...known].sort((a, b) => Number(a) - Number(b)).join(',')}${unknown.length ? `, not ${unknown.join(',')}` : ''}`)
  }
  return names
}

function renderTable(rows: Row[]): string {
  const sorted = [...rows].sort((a, b) => Number(a.n) - Number(b.n))
  const lines = sorted.map((r) => [
    r.n,
    r.metric,
    fmt(r.mesh),
    fmt(r.baseline),
    r.unit,
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
    r.target,
    r.met === null ? '' : r.met ? 'yes' : 'NO'
  ])
  const out = [table(['#', 'figure', 'feathers-mesh', 'baseline', 'unit', 'ratio', 'target', 'met'], lines, ['l', 'l', 'r', 'r', 'l', 'r', 'l', 'l'])]
  const notes = sorted.filter((r) => r.note)
  if (notes.length) {
    out.push('\nnotes:')
    for (const r of notes) out.push(`  ${r.n} ${r.metric}: ${r.note}`)
  }
  return out.join('\n')
}

function renderPerApp(details: any): string {
  const perApp = details?.perApp
  if (!perApp) return ''
  const listening = (ports: number[]) => `${ports.length} (${ports.join(', ')})`
  const types = Object.entries(perApp.coteComponents as Record<string, number>).map(([type, n]) => `${n} ${type}`).join(', ')
  return (
    '\nper app (one of the idle apps; HTTP port included in TCP listening):\n' +
    table(
      ['', 'with feathers-mesh', 'without'],
      [
        ['cote components', `${perApp.coteComponentCount} (${types})`, String(perApp.plain.coteComponentCount)],
        ['discoveries', String(perApp.discoveries), String(perApp.plain.discoveries)],
        ['TCP listening ports', listening(perApp.tcpListening.mesh), listening(perApp.tcpListening.plain)],
        ['UDP discovery sockets', `${perApp.discoverySockets} (all on port ${details.ports.discoveryPort})`, String(perApp.udpSockets.plain.length)],
        [`TCP connections (mesh of ${details.apps})`, String(perApp.tcpEstablished.mesh), String(perApp.tcpEstablished.plain)]
      ]
    )
  )
}

async function main() {
  if (!guardLoaded()) {
    console.error('bench: run it as `node -r build/test/helpers/guard.js build/bench/run.js` (npm run bench does): the network guard is not loaded')
    process.exit(2)
  }
  let args: ReturnType<typeof parseArgs>
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`)
    process.exit(2)
  }
  const settings: BenchSettings = {
    quick: args.quick,
    idleSeconds: args.quick ? Math.min(args.idleSeconds, 5) : args.idleSeconds,
    scaleSeconds: args.quick ? Math.min(args.scaleSeconds, 3) : args.scaleSeconds
  }
  const started = Date.now()
  fs.mkdirSync(RESULTS, { recursive: true })
  console.log(`feathers-mesh bench: node ${process.version}, ${os.cpus().length} cores, discovery ports ${portBase()}+ on 127.255.255.255${settings.quick ? ' (QUICK: not a measurement)' : ''}`)
  const loadBefore = os.loadavg()
  const busyBefore = machineBusySeconds()
  const ownBefore = ownTreeSeconds()
  // Other work on the machine skews every figure (the baselines too, but not evenly): say so.
  if (loadBefore[0] > 0.5) console.log(`  note: load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} at start: the machine is not idle`)

  if (args.profile) {
    const result = await profile(args.profileSeconds, process.argv.includes('--secret') ? { secret: 'bench-mesh-secret-0123456789abcdef' } : {})
    console.log(result.text)
    console.log(`\nsequential get during profiling (µs/call): mesh ${fmt((result.seq as any).mesh?.usPerCall)}, raw cote ${fmt((result.seq as any).raw?.usPerCall)}`)
    console.log(`profiles and summary in ${path.relative(process.cwd(), path.join(RESULTS, 'profiles'))}/; wall time ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return
  }

  const figures = args.scale ? [SCALE] : FIGURES.filter((f) => !args.only || args.only.includes(f.n))
  let calls: Promise<{ mesh: CallPair; raw: CallPair }> | undefined
  let http: Promise<HttpPair> | undefined
  const ctx: Context = {
    settings,
    calls: () =>
      (calls ??= (async () => {
        const mesh = await meshCallPair()
        try {
          return { mesh, raw: await rawCallPair() }
        } catch (error) {
          await mesh.close()
          throw error
        }
      })()),
    http: () => (http ??= httpPair())
  }
  const lastUse = (what: 'calls' | 'http') => figures.filter((f) => f.uses.includes(what)).pop()

  const rows: Row[] = []
  const details: Record<string, unknown> = {}
  const timings: Record<string, number> = {}
  for (const figure of figures) {
    const t = Date.now()
    process.stdout.write(`  figure ${figure.n} (${figure.name})… `)
    let result: FigureResult
    try {
      result = await figure.run(ctx)
    } catch (error) {
      result = failedFigure(figure.n, figure.name, error)
    }
    timings[figure.n] = (Date.now() - t) / 1000
    console.log(`${timings[figure.n].toFixed(1)} s`)
    rows.push(...result.rows)
    details[figure.n] = result.details
    if (calls && lastUse('calls') === figure) {
      const pairs = await calls.catch(() => undefined)
      await Promise.all([pairs?.mesh.close(), pairs?.raw.close()])
      calls = undefined
    }
    if (http && lastUse('http') === figure) {
      await (await http.catch(() => undefined))?.close()
      http = undefined
    }
  }
  await stopAll()

  const wallSeconds = (Date.now() - started) / 1000
  // What other processes took from the machine meanwhile (every child of the bench has exited and been counted).
  const otherPercent = (100 * (machineBusySeconds() - busyBefore - (ownTreeSeconds() - ownBefore))) / wallSeconds
  const text = args.scale ? renderScale(details.S) : [renderTable(rows), renderPerApp(details['7'])].filter(Boolean).join('\n')
  console.log('\n' + text)
  // A partial or quick run never replaces the full run's results.
  const name = args.scale ? (args.quick ? 'scale-partial' : 'scale') : args.only || args.quick ? 'bench-partial' : 'bench'
  const file = path.join(RESULTS, `${name}.json`)
  const report = {
    date: new Date().toISOString(),
    wallSeconds,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().map((cpu) => cpu.model).filter((model, i, all) => all.indexOf(model) === i),
    cores: os.cpus().length,
    settings,
    loadAverage: { start: loadBefore, end: os.loadavg() },
    /** CPU used by processes other than the bench during the run, % of one core (the machine has `cores`). */
    otherProcessesPercent: otherPercent,
    discoveryPortBase: portBase(),
    figureSeconds: timings,
    rows: [...rows].sort((a, b) => Number(a.n) - Number(b.n)),
    details
  }
  fs.writeFileSync(file, JSON.stringify(report, null, 2))
  const summary = `wall time ${wallSeconds.toFixed(1)} s; other processes used ${otherPercent.toFixed(0)}% of one core on average meanwhile`
  fs.writeFileSync(path.join(RESULTS, `${name}.txt`), `${report.date}, node ${process.version}, ${report.cores} cores\n\n${text}\n\n${summary}\n`)
  console.log(`\nwall time ${wallSeconds.toFixed(1)} s; other processes used ${otherPercent.toFixed(0)}% of one core on average meanwhile${otherPercent > 10 ? ' (NOISY: compare ratios, not absolute figures)' : ''}; results in ${path.relative(process.cwd(), file)}`)
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return
    stopping = true
    console.error(`\nbench: ${signal}, stopping the children`)
    stopAll(500).finally(() => process.exit(130))
  })
}

main()
  .catch(async (error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(async () => {
    await stopAll()
    // Nothing of the bench may keep running: autocannon or a stray timer must not hold the process.
    setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref()
  })
