/** Figure 2: remote `get`, 100 calls in flight, calls/s, against raw cote with 100 in flight. */
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'
import type { GcCounts } from '../children/common'
import { median, pairedRounds } from '../rounds'

export async function run(ctx: Context): Promise<FigureResult> {
  const { mesh, raw } = await ctx.calls()
  const quick = ctx.settings.quick
  const options = { concurrency: 100, maxCalls: 1_000_000, maxMs: quick ? 300 : 400, warmupMs: quick ? 100 : 100 }
  await raw.consumer.send({ cmd: 'flight', record: raw.id, ...options, warmupMs: 500 }, 60_000)
  await mesh.consumer.send({ cmd: 'flight', record: mesh.id, ...options, warmupMs: 500 }, 60_000)
  // Many short paired rounds (see rounds.ts).
  const paired = await pairedRounds(
    quick ? 1 : 9,
    () => mesh.consumer.send({ cmd: 'flight', record: mesh.id, ...options }, 60_000),
    () => raw.consumer.send({ cmd: 'flight', record: raw.id, ...options }, 60_000),
    (run: any) => run.perSecond
  )
  const errors = paired.runs.reduce((sum, run: any) => sum + run.subject.errors, 0)
  const firstError = paired.runs.map((run: any) => run.subject.firstError).find(Boolean)
  // Raw cote's failed calls end early: its rate with them is not the rate to compare with.
  const baselineErrors = paired.runs.reduce((sum, run: any) => sum + run.baseline.errors, 0)
  const baselineFirstError = paired.runs.map((run: any) => run.baseline.firstError).find(Boolean)
  const note = `median ratio of ${paired.runs.length} paired rounds, middle half ${paired.spread}; consumer GC per 10k calls: ${gcPer10k(paired.runs.map((run: any) => run.subject))} (raw cote: ${gcPer10k(paired.runs.map((run: any) => run.baseline))})${errors ? `; ${errors} errors (${firstError ?? ''})` : ''}${baselineErrors ? `; raw cote: ${baselineErrors} errors (${baselineFirstError ?? ''})` : ''}`
  const line = row('2', 'remote get, 100 in flight', median(paired.runs.map((run: any) => run.subject.perSecond)), median(paired.runs.map((run: any) => run.baseline.perSecond)), 'calls/s', '≥ 0.85× baseline', Number.isFinite(paired.ratio) && paired.ratio >= 0.85 && errors === 0 && baselineErrors === 0, note)
  return {
    rows: [{ ...line, ratio: paired.ratio }],
    details: { ratio: paired.ratio, ratios: paired.ratios, mesh: paired.runs.map((run) => run.subject), raw: paired.runs.map((run) => run.baseline) }
  }
}

/** Scavenges and full GCs of the consumer per 10,000 calls, with their pause time, over all rounds. */
function gcPer10k(runs: Array<{ calls: number; gc?: GcCounts }>): string {
  const calls = runs.reduce((sum, run) => sum + run.calls, 0)
  const total = (key: keyof GcCounts) => (runs.reduce((sum, run) => sum + (run.gc?.[key] ?? 0), 0) * 10_000) / Math.max(calls, 1)
  return `${total('minor').toFixed(1)} scavenges (${total('minorMs').toFixed(1)} ms), ${total('major').toFixed(2)} full (${total('majorMs').toFixed(1)} ms)`
}
