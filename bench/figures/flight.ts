/** Figure 2: remote `get`, 100 calls in flight, calls/s, against raw cote with 100 in flight. */
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'

export async function run(ctx: Context): Promise<FigureResult> {
  const { mesh, raw } = await ctx.calls()
  const quick = ctx.settings.quick
  const options = { concurrency: 100, maxCalls: 1_000_000, maxMs: quick ? 500 : 1500, warmupMs: quick ? 200 : 500 }
  const rounds = quick ? 1 : 3
  const runs: Record<'mesh' | 'raw', any[]> = { mesh: [], raw: [] }
  for (let i = 0; i < rounds; i++) {
    runs.raw.push(await raw.consumer.send({ cmd: 'flight', record: raw.id, ...options }, 60_000))
    runs.mesh.push(await mesh.consumer.send({ cmd: 'flight', record: mesh.id, ...options }, 60_000))
  }
  const median = (list: any[]) => [...list].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(list.length / 2)]
  const m = median(runs.mesh)
  const r = median(runs.raw)
  const errors = runs.mesh.reduce((sum, run) => sum + run.errors, 0)
  return {
    rows: [row('2', 'remote get, 100 in flight', m.perSecond, r.perSecond, 'calls/s', '≥ 0.85× baseline', m.perSecond >= 0.85 * r.perSecond && errors === 0, errors ? `${errors} errors (${m.firstError ?? ''})` : undefined)],
    details: { mesh: runs.mesh, raw: runs.raw }
  }
}
