/** Figure 9: consumer memory after 100k remote calls against after a warm-up (both after a full GC). */
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'

export async function run(ctx: Context): Promise<FigureResult> {
  const { mesh } = await ctx.calls()
  const quick = ctx.settings.quick
  const calls = quick ? 10_000 : 100_000
  const result = await mesh.consumer.send({ cmd: 'memory', record: mesh.id, concurrency: 50, warmupCalls: quick ? 2000 : 10_000, calls, maxMs: 30_000 }, 90_000)
  const { before, after, run } = result
  const mb = (bytes: number) => bytes / (1024 * 1024)
  const rssGrowth = (after.rss / before.rss - 1) * 100
  const heapGrowth = (after.heapUsed / before.heapUsed - 1) * 100
  // Failed calls allocate less than answered ones: growth after them says nothing about the 100k calls.
  const allAnswered = run.calls === calls && !run.errors
  const note = `${run.calls} calls in ${run.seconds.toFixed(1)} s${run.errors ? `, ${run.errors} failed` : ''}`
  return {
    rows: [
      row('9', `consumer RSS after ${run.calls} calls (vs warm)`, mb(after.rss), mb(before.rss), 'MiB', '≤ +10%', rssGrowth <= 10 && allAnswered, `${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)}%; ${note}`),
      row('9', 'consumer heap used after GC (vs warm)', mb(after.heapUsed), mb(before.heapUsed), 'MiB', 'flat (≤ +10%)', heapGrowth <= 10 && allAnswered, `${heapGrowth >= 0 ? '+' : ''}${heapGrowth.toFixed(1)}%`)
    ],
    details: result
  }
}
