/**
 * Figure 3: GET /todos/1 on a gateway (express + proxy), 50 connections, against the service's own
 * REST, in paired rounds of 1 s runs (see rounds.ts): one 5 s run of each, one after the other, gave
 * ratios from 0.79× to 0.91× for the same code as the machine's speed drifted.
 */
import { cannon } from '../http'
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'
import { median, pairedRounds, quantile } from '../rounds'

const ROUNDS = 9

export async function run(ctx: Context): Promise<FigureResult> {
  const { serviceUrl, gatewayUrl } = await ctx.http()
  const connections = 50
  // Warm both (JIT, connection set-up) before either is measured.
  await cannon(serviceUrl, { connections, duration: 1 })
  await cannon(gatewayUrl, { connections, duration: 1 })
  const paired = await pairedRounds(
    ctx.settings.quick ? 1 : ROUNDS,
    () => cannon(gatewayUrl, { connections, duration: 1 }),
    () => cannon(serviceUrl, { connections, duration: 1 }),
    (result) => result.requestsPerSecond
  )
  const meshRuns = paired.runs.map((r) => r.subject)
  const baseRuns = paired.runs.map((r) => r.baseline)
  const p99Ratios = paired.runs.map((r) => r.subject.latencyMs.p99 / r.baseline.latencyMs.p99)
  const p99Ratio = median(p99Ratios)
  const failed = (runs: typeof meshRuns) => runs.reduce((sum, run) => sum + run.errors + run.timeouts + run.non2xx, 0)
  const failures = failed(meshRuns)
  const baselineFailures = failed(baseRuns)
  // Failed requests answer fast (or not at all): a ratio taken with them, or with a round that measured nothing, meets nothing.
  const clean = failures === 0 && baselineFailures === 0
  const finite = (ratios: number[]) => ratios.every((ratio) => Number.isFinite(ratio) && ratio > 0)
  const rounds = `median ratio of ${paired.runs.length} paired rounds of 1 s, middle half`
  const failureNote = `${failures ? `; gateway: ${failures} errors, timeouts or non-2xx` : ''}${baselineFailures ? `; service: ${baselineFailures} errors, timeouts or non-2xx` : ''}`
  const note = `${connections} connections; ${rounds} ${paired.spread}${failureNote}`
  const p99Note = `${rounds} ${quantile(p99Ratios, 0.25).toFixed(2)}–${quantile(p99Ratios, 0.75).toFixed(2)}×${failureNote}`
  const rps = (runs: typeof meshRuns) => median(runs.map((run) => run.requestsPerSecond))
  const p99 = (runs: typeof meshRuns) => median(runs.map((run) => run.latencyMs.p99))
  return {
    rows: [
      { ...row('3', 'HTTP GET /todos/1 via gateway, throughput', rps(meshRuns), rps(baseRuns), 'req/s', '≥ 0.95× baseline', paired.ratio >= 0.95 && clean && finite(paired.ratios), note), ratio: paired.ratio },
      { ...row('3', 'HTTP GET /todos/1 via gateway, p99', p99(meshRuns), p99(baseRuns), 'ms', '≤ 1.2× baseline', p99Ratio <= 1.2 && clean && finite(p99Ratios), p99Note), ratio: p99Ratio }
    ],
    details: { serviceUrl, gatewayUrl, ratios: paired.ratios, p99Ratios, runs: paired.runs }
  }
}
