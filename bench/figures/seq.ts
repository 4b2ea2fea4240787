/** Figure 1: remote `get` through a proxy, sequential, µs/call, against raw cote request/response. */
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'
import { median, pairedRounds } from '../rounds'

export async function run(ctx: Context): Promise<FigureResult> {
  const { mesh, raw } = await ctx.calls()
  const quick = ctx.settings.quick
  const options = { warmup: quick ? 200 : 300, maxCalls: 50_000, maxMs: quick ? 400 : 400 }
  // One long warm-up of each, then many short paired rounds (see rounds.ts).
  await raw.consumer.send({ cmd: 'seq', record: raw.id, ...options, warmup: 2000 }, 60_000)
  await mesh.consumer.send({ cmd: 'seq', record: mesh.id, ...options, warmup: 2000 }, 60_000)
  const paired = await pairedRounds(
    quick ? 1 : 11,
    () => mesh.consumer.send({ cmd: 'seq', record: mesh.id, ...options }, 60_000),
    () => raw.consumer.send({ cmd: 'seq', record: raw.id, ...options }, 60_000),
    (run: any) => run.usPerCall
  )
  const of = (side: 'subject' | 'baseline', field: string) => median(paired.runs.map((run: any) => run[side][field]))
  const errors = paired.runs.reduce((sum, run: any) => sum + run.subject.errors, 0)
  // Raw cote's failed calls end early: its time per call with them is not the time to compare with.
  const baselineErrors = paired.runs.reduce((sum, run: any) => sum + run.baseline.errors, 0)
  const note = `median ratio of ${paired.runs.length} paired rounds, middle half ${paired.spread}${errors ? `; ${errors} errors` : ''}${baselineErrors ? `; raw cote: ${baselineErrors} errors` : ''}`
  const mean = row('1', 'remote get, sequential (mean)', of('subject', 'usPerCall'), of('baseline', 'usPerCall'), 'µs/call', '≤ 1.2× baseline', paired.ratio <= 1.2 && errors === 0 && baselineErrors === 0, note)
  return {
    rows: [{ ...mean, ratio: paired.ratio }, row('1', 'remote get, sequential (p99)', of('subject', 'p99Us'), of('baseline', 'p99Us'), 'µs', '')],
    details: { ratio: paired.ratio, ratios: paired.ratios, mesh: paired.runs.map((run) => run.subject), raw: paired.runs.map((run) => run.baseline) }
  }
}
