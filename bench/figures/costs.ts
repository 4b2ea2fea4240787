/**
 * Figure 10: what a mesh secret (#7) and metrics (#9) cost. Three pairs of the same service run side
 * by side: the baseline (no secret, metrics off), metrics on, and a secret. Each round measures the
 * three, one after the other (the order turns each round), on sequential small-record `get`s and
 * 100 calls in flight (time, and the CPU both processes spend per call) and on an event burst, and
 * takes each variant's ratio to the baseline of the same round. Noise that lasts longer than one round then hits both sides of a ratio. Each row's ratio
 * is the median of the rounds' ratios, its note the middle half of them, and its two values the
 * medians of each side's runs. Rounds are bounded in count and in time.
 *
 * The three pairs are started twice, with up to MAX_ROUNDS rounds on each start: where the
 * scheduler places a pair's two processes on the CPUs moves its latency by up to ±5% for as long
 * as they run (seen between pairs of one build), and two placements per variant narrow that.
 */
import { meshServicePair } from '../pairs'
import type { CallPair } from '../pairs'
import { PORTS, row } from '../helpers'
import type { FigureResult, Row } from '../helpers'
import type { Context } from '../context'
import { burst, connected } from './events'
import { median, quantile } from '../rounds'

const SECRET = 'bench-mesh-secret-0123456789abcdef'
const VARIANTS = {
  plain: { metricsPath: false },
  metrics: {},
  secret: { metricsPath: false, secret: SECRET }
} as const
type Variant = keyof typeof VARIANTS
const ORDER = Object.keys(VARIANTS) as Variant[]
const STARTS = 2
const MIN_ROUNDS = 3 // per start
const MAX_ROUNDS = 8 // per start
const ROUNDS_SECONDS = 15 // per start: no round starts after this (a round takes about 2 s)
const WARM_UP_MS = 2000 // sequential calls per pair before the rounds (and half as long with 100 in flight)

type Kind = 'seq' | 'flight' | 'burst'
type Measure = Kind | 'seqCpu' | 'flightCpu' | 'burstCpu'
/**
 * Per measure: the runs it reads, the value of a run, and whether lower is better. CPU per call
 * (consumer and provider together) moves less with the machine's other load than time does.
 */
const MEASURES: Record<Measure, { kind: Kind; unit: string; value: (run: any) => number; lowerIsBetter: boolean }> = {
  seq: { kind: 'seq', unit: 'µs/call', value: (run) => run.usPerCall, lowerIsBetter: true },
  flight: { kind: 'flight', unit: 'calls/s', value: (run) => run.perSecond, lowerIsBetter: false },
  burst: { kind: 'burst', unit: 'events/s', value: (run) => run.perSecond, lowerIsBetter: false },
  seqCpu: { kind: 'seq', unit: 'CPU µs/call', value: (run) => run.cpuUsPerCall, lowerIsBetter: true },
  flightCpu: { kind: 'flight', unit: 'CPU µs/call', value: (run) => run.cpuUsPerCall, lowerIsBetter: true },
  // A burst's rate swings with the consumer's CPU per event (2–6 µs, in both variants: its GC); the CPU is steadier.
  burstCpu: { kind: 'burst', unit: 'CPU µs/event', value: (run) => run.cpuUsPerCall, lowerIsBetter: true }
}
const KINDS: Kind[] = ['seq', 'flight', 'burst']

export async function run(ctx: Context): Promise<FigureResult> {
  const quick = ctx.settings.quick
  // Short runs, many rounds: a ratio is taken between runs a few hundred ms apart.
  const seqOptions = { warmup: 100, maxCalls: 50_000, maxMs: quick ? 100 : 200 }
  const flightOptions = { concurrency: 100, maxCalls: 1_000_000, maxMs: quick ? 100 : 300, warmupMs: 50 }
  const burstSize = quick ? 2000 : 30_000
  const runs = { seq: [], flight: [], burst: [] } as Record<Kind, Array<Record<Variant, any>>>
  const roundsPerStart: number[] = []
  let roundsMs = 0
  let round = 0 // across starts, so that each variant goes first as often
  for (let start = 0; start < (quick ? 1 : STARTS); start++) {
    const pairs = {} as Record<Variant, CallPair>
    let port = PORTS.costs
    try {
      for (const variant of ORDER) pairs[variant] = await meshServicePair(port++, { mesh: VARIANTS[variant] })
      for (const variant of ORDER) {
        await connected(pairs[variant].provider, pairs[variant].consumer)
        await burst(pairs[variant].provider, pairs[variant].consumer, burstSize, 'warm-up')
        // The call paths too, until the JIT has settled: a secret's refills of keystream run once
        // every few dozen frames and reach their optimized code only after tens of thousands of calls.
        const { consumer, id } = pairs[variant]
        await consumer.send({ cmd: 'seq', record: id, warmup: 100, maxCalls: 100_000, maxMs: quick ? 200 : WARM_UP_MS }, 60_000)
        await consumer.send({ cmd: 'flight', record: id, concurrency: 100, maxCalls: 1_000_000, maxMs: quick ? 100 : WARM_UP_MS / 2, warmupMs: 50 }, 60_000)
      }
      /** The run, with the CPU both processes spent on it per call (warm-up calls included on both sides of the count). */
      const withCpu = async (pair: CallPair, run: () => Promise<any>, warmupCalls: (result: any) => number) => {
        const cpu = async () => (await Promise.all([pair.consumer.send({ cmd: 'cpu' }), pair.provider.send({ cmd: 'cpu' })])).reduce((a, b) => a + b, 0)
        const before = await cpu()
        const result = await run()
        const used = (await cpu()) - before
        return { ...result, cpuUsPerCall: used / (result.calls + warmupCalls(result)) }
      }
      const measure: Record<Kind, (variant: Variant) => Promise<any>> = {
        seq: (v) => withCpu(pairs[v], () => pairs[v].consumer.send({ cmd: 'seq', record: pairs[v].id, ...seqOptions }, 60_000), () => seqOptions.warmup),
        flight: (v) => withCpu(pairs[v], () => pairs[v].consumer.send({ cmd: 'flight', record: pairs[v].id, ...flightOptions }, 60_000), (result) => result.warmupCalls),
        burst: (v) =>
          withCpu(
            pairs[v],
            async () => {
              // Per event sent: a burst cut short by its time bound emitted fewer than burstSize.
              const result = await burst(pairs[v].provider, pairs[v].consumer, burstSize)
              return { ...result, calls: result.emitted }
            },
            () => 0
          )
      }
      const startedRounds = Date.now()
      let inStart = 0
      for (; inStart < (quick ? 1 : MAX_ROUNDS); inStart++, round++) {
        if (inStart >= MIN_ROUNDS && Date.now() - startedRounds > ROUNDS_SECONDS * 1000) break
        // Each variant goes first in turn, so a drift within a round does not always favour the same one.
        const order = ORDER.map((_, i) => ORDER[(i + round) % ORDER.length])
        for (const kind of KINDS) {
          const results = {} as Record<Variant, any>
          for (const variant of order) results[variant] = await measure[kind](variant)
          runs[kind].push(results)
        }
      }
      roundsPerStart.push(inStart)
      roundsMs += Date.now() - startedRounds
    } finally {
      await Promise.all(Object.values(pairs).map((pair) => pair.close()))
    }
  }
  const rows: Row[] = []
  const summary: Record<string, unknown> = {}
  const compare = (variant: Variant, kind: Measure, label: string, target?: number) => {
    const { unit, value, lowerIsBetter } = MEASURES[kind]
    const measured = runs[MEASURES[kind].kind]
    const ratios = measured.map((r) => value(r[variant]) / value(r.plain))
    const ratio = median(ratios)
    // The middle half of the rounds: one disturbed round does not widen it.
    const spread = `${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)}×`
    // A round where either side measured nothing (a rate of NaN, CPU per event of 0 events) has no ratio to meet a target with.
    const measuredAll = ratios.length > 0 && ratios.every((r) => Number.isFinite(r) && r > 0)
    const met = target === undefined ? null : measuredAll && (lowerIsBetter ? ratio <= target : ratio >= target)
    const errors = measured.reduce((sum, r) => sum + (r[variant].errors ?? 0) + (r[variant].lost ?? 0) + (r.plain.errors ?? 0) + (r.plain.lost ?? 0), 0)
    const note = `median ratio over ${ratios.length} ${ratios.length === 1 ? 'round' : 'rounds'}, middle half ${spread}${errors ? `; ${errors} errors or lost events` : ''}`
    const targetText = target === undefined ? '' : `${lowerIsBetter ? '≤' : '≥'} ${target}× baseline`
    const line = row('10', label, median(measured.map((r) => value(r[variant]))), median(measured.map((r) => value(r.plain))), unit, targetText, met === null ? null : met && errors === 0, note)
    summary[`${variant} ${kind}`] = { ratio, quartiles: [quantile(ratios, 0.25), quantile(ratios, 0.75)], ratios }
    rows.push({ ...line, ratio })
  }
  compare('metrics', 'seq', 'sequential get, metrics on vs off', 1.05)
  compare('metrics', 'flight', '100 in flight, metrics on vs off', 0.95)
  compare('metrics', 'burst', 'event burst, metrics on vs off', 0.95)
  compare('metrics', 'seqCpu', 'CPU per sequential get, metrics on vs off', 1.05)
  compare('metrics', 'flightCpu', 'CPU per call, 100 in flight, metrics on vs off', 1.05)
  compare('secret', 'seq', 'sequential get, secret vs none', 1.15)
  compare('secret', 'flight', '100 in flight, secret vs none')
  compare('secret', 'seqCpu', 'CPU per sequential get, secret vs none')
  compare('secret', 'burst', 'event burst, secret vs none', 0.85)
  compare('metrics', 'burstCpu', 'CPU per event, burst, metrics on vs off')
  compare('secret', 'burstCpu', 'CPU per event, burst, secret vs none')
  return { rows, details: { rounds: runs.seq.length, roundsPerStart, roundsSeconds: roundsMs / 1000, burstSize, ratios: summary, runs } }
}
