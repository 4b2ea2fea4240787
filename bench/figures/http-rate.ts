/**
 * Figure 4: the same request at a steady 200 req/s, p50 and p99, against the service's own REST at
 * the same rate: one keep-alive connection, a request every 5 ms on a fixed schedule (see
 * paced.ts; autocannon's overallRate sent each second's 200 requests back to back). Every request
 * meets an idle server, so these are unloaded latencies, where a Nagle delay would show in full.
 * Both sides are warmed up, then measured in paired rounds, the first of each round alternating;
 * each row gives the medians of the rounds' p50 (p99).
 */
import { paced } from '../paced'
import type { PacedResult } from '../paced'
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'
import { median, pairedRounds } from '../rounds'

const INTERVAL_MS = 5 // 200 req/s
const ROUNDS = 2
const PER_ROUND = 500 // 2.5 s: 1000 requests per side over the rounds
/** Before the rounds, per side (1 s): the JIT of each request path (with --only 4, figure 3 has not run before). */
const WARM_UP = 200
/** Before each round's measured requests: its new connection's set-up. */
const ROUND_WARM_UP = 10

export async function run(ctx: Context): Promise<FigureResult> {
  const { serviceUrl, gatewayUrl } = await ctx.http()
  const quick = ctx.settings.quick
  const options = { intervalMs: INTERVAL_MS, count: quick ? 100 : PER_ROUND, warmup: ROUND_WARM_UP }
  const rounds = quick ? 1 : ROUNDS
  const warmUp = quick ? 50 : WARM_UP
  for (const url of [serviceUrl, gatewayUrl]) await paced(url, { intervalMs: INTERVAL_MS, count: 0, warmup: warmUp })
  const paired = await pairedRounds(
    rounds,
    () => paced(gatewayUrl, options),
    () => paced(serviceUrl, options),
    (result) => result.latencyMs.p50
  )
  const meshRuns = paired.runs.map((r) => r.subject)
  const baseRuns = paired.runs.map((r) => r.baseline)
  const of = (runs: PacedResult[], p: 'p50' | 'p99') => median(runs.map((run) => run.latencyMs[p]))
  const total = (runs: PacedResult[], field: 'sent' | 'ok' | 'failed' | 'late') => runs.reduce((sum, run) => sum + run[field], 0)
  const [mesh, baseline] = [meshRuns, baseRuns].map((runs) => ({ p50: of(runs, 'p50'), p99: of(runs, 'p99') }))
  const asked = rounds * options.count
  // Every request of both sides answered: a failed one answers fast, or not at all.
  const whole = [meshRuns, baseRuns].every((runs) => total(runs, 'ok') === asked)
  const failures = total(meshRuns, 'failed')
  const baselineFailures = total(baseRuns, 'failed')
  const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`
  const perRound = paired.runs.map((r) => signed(r.subject.latencyMs.p50 - r.baseline.latencyMs.p50)).join(' / ')
  const note =
    `${total(meshRuns, 'sent')} requests each, 1 every ${INTERVAL_MS} ms on one connection, in ${rounds} paired ${rounds === 1 ? 'round' : 'rounds'} (p50 per round ${perRound} ms); ` +
    `late (sent when the previous answer came, after their time): gateway ${total(meshRuns, 'late')}, service ${total(baseRuns, 'late')}` +
    `${failures ? `; gateway: ${failures} failed (${meshRuns.map((run) => run.firstError).find(Boolean)})` : ''}` +
    `${baselineFailures ? `; service: ${baselineFailures} failed (${baseRuns.map((run) => run.firstError).find(Boolean)})` : ''}`
  return {
    rows: [
      row('4', 'HTTP GET at 200 req/s, p50', mesh.p50, baseline.p50, 'ms', '≤ baseline + 0.5 ms', whole && mesh.p50 <= baseline.p50 + 0.5, note),
      row('4', 'HTTP GET at 200 req/s, p99', mesh.p99, baseline.p99, 'ms', '')
    ],
    details: { options: { intervalMs: INTERVAL_MS, perRound: options.count, rounds, roundWarmUp: ROUND_WARM_UP, warmUp }, mesh: { ...mesh, runs: meshRuns }, baseline: { ...baseline, runs: baseRuns } }
  }
}
