/** Figure 1: remote `get` through a proxy, sequential, µs/call, against raw cote request/response. */
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'

export async function run(ctx: Context): Promise<FigureResult> {
  const { mesh, raw } = await ctx.calls()
  const quick = ctx.settings.quick
  const options = { warmup: quick ? 200 : 1000, maxCalls: 50_000, maxMs: quick ? 400 : 1500 }
  // Rounds alternate between the two, so drift of a noisy machine hits both; the median round counts.
  const rounds = quick ? 1 : 3
  const runs: Record<'mesh' | 'raw', any[]> = { mesh: [], raw: [] }
  for (let i = 0; i < rounds; i++) {
    runs.raw.push(await raw.consumer.send({ cmd: 'seq', record: raw.id, ...options }, 60_000))
    runs.mesh.push(await mesh.consumer.send({ cmd: 'seq', record: mesh.id, ...options }, 60_000))
  }
  const median = (list: any[]) => [...list].sort((a, b) => a.usPerCall - b.usPerCall)[Math.floor(list.length / 2)]
  const m = median(runs.mesh)
  const r = median(runs.raw)
  const errors = runs.mesh.reduce((sum, run) => sum + run.errors, 0)
  return {
    rows: [
      row('1', 'remote get, sequential (mean)', m.usPerCall, r.usPerCall, 'µs/call', '≤ 1.2× baseline', m.usPerCall <= 1.2 * r.usPerCall && errors === 0, errors ? `${errors} errors` : undefined),
      row('1', 'remote get, sequential (p99)', m.p99Us, r.p99Us, 'µs', '')
    ],
    details: { mesh: runs.mesh, raw: runs.raw }
  }
}
