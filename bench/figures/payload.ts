/**
 * Figure 8: results of 1 KB, 100 KB, 1 MB and 10 MB (a list of small records), ms per remote
 * `get`, against JSON.stringify + JSON.parse of the same value in the consumer's process, each call
 * paired with one JSON round trip timed right after it (medians of both).
 */
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'

const KB = 1024
const MB = 1024 * KB
const SIZES = [KB, 100 * KB, MB, 10 * MB]
const label = (size: number) => (size >= MB ? `${size / MB} MB` : `${size / KB} KB`)

export async function run(ctx: Context): Promise<FigureResult> {
  const { mesh } = await ctx.calls()
  const quick = ctx.settings.quick
  const counts = quick ? { [KB]: 50, [100 * KB]: 10, [MB]: 3, [10 * MB]: 1 } : { [KB]: 300, [100 * KB]: 60, [MB]: 21, [10 * MB]: 7 }
  const results: any[] = await mesh.consumer.send({ cmd: 'payload', sizes: SIZES, counts, maxMsEach: quick ? 1000 : 4000 }, 120_000)
  const rows = results.map((r) => {
    const all = r.ok === r.calls && r.calls > 0
    const big = r.size >= MB
    const met = big ? all && r.msPerCall <= 1.5 * r.jsonMs : all
    const note = `${r.calls} calls, ${(r.jsonBytes / 1024).toFixed(0)} KiB JSON${r.errors ? `, ${r.errors} failed (${r.firstError ?? ''})` : ''}`
    return row('8', `payload ${label(r.size)} result`, r.msPerCall, r.jsonMs, 'ms/call', big ? '≤ 1.5× baseline, all succeed' : 'all succeed', met, note)
  })
  return { rows, details: { results } }
}
