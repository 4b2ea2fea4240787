/**
 * Figure 10: what a mesh secret (#7) and metrics (#9) cost. Three mesh pairs measured in turn, in
 * rounds, on the same small-record calls: the default (metrics on, no secret), with a secret, and
 * with metrics off.
 */
import { meshCallPair } from '../pairs'
import type { CallPair } from '../pairs'
import { PORTS, row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'

const SECRET = 'bench-mesh-secret-0123456789abcdef'
const VARIANTS = {
  plain: { metricsPath: false },
  metrics: {},
  secret: { metricsPath: false, secret: SECRET }
} as const
type Variant = keyof typeof VARIANTS

export async function run(ctx: Context): Promise<FigureResult> {
  const quick = ctx.settings.quick
  const seqOptions = { warmup: quick ? 200 : 1000, maxCalls: 50_000, maxMs: quick ? 300 : 1200 }
  const flightOptions = { concurrency: 100, maxCalls: 1_000_000, maxMs: quick ? 300 : 1200, warmupMs: quick ? 100 : 400 }
  const pairs = {} as Record<Variant, CallPair>
  let port = PORTS.costs
  try {
    for (const variant of Object.keys(VARIANTS) as Variant[]) pairs[variant] = await meshCallPair(port++, { mesh: VARIANTS[variant] })
    const seq = { plain: [], metrics: [], secret: [] } as Record<Variant, any[]>
    const flight = { plain: [], metrics: [], secret: [] } as Record<Variant, any[]>
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      for (const variant of Object.keys(VARIANTS) as Variant[]) {
        const { consumer, id } = pairs[variant]
        seq[variant].push(await consumer.send({ cmd: 'seq', record: id, ...seqOptions }, 60_000))
        flight[variant].push(await consumer.send({ cmd: 'flight', record: id, ...flightOptions }, 60_000))
      }
    }
    const median = (list: any[], field: string) => [...list].map((run) => run[field]).sort((a, b) => a - b)[Math.floor(list.length / 2)]
    const us = (variant: Variant) => median(seq[variant], 'usPerCall')
    const rate = (variant: Variant) => median(flight[variant], 'perSecond')
    return {
      rows: [
        row('10', 'sequential get, metrics on vs off', us('metrics'), us('plain'), 'µs/call', '≤ 1.05× baseline', us('metrics') <= 1.05 * us('plain')),
        row('10', '100 in flight, metrics on vs off', rate('metrics'), rate('plain'), 'calls/s', '≥ 0.95× baseline', rate('metrics') >= 0.95 * rate('plain')),
        row('10', 'sequential get, secret vs none', us('secret'), us('plain'), 'µs/call', '≤ 1.15× baseline', us('secret') <= 1.15 * us('plain')),
        row('10', '100 in flight, secret vs none', rate('secret'), rate('plain'), 'calls/s', '', null)
      ],
      details: { seq, flight }
    }
  } finally {
    await Promise.all(Object.values(pairs).map((pair) => pair.close()))
  }
}
