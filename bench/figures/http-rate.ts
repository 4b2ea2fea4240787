/**
 * Figure 4: the same request at 200 req/s (autocannon overallRate), p50 and p99, against the
 * service's own REST at the same rate. autocannon paces per second (each connection sends its
 * quota, then waits for the next second); with one connection every request meets an idle
 * server, so these are unloaded latencies, where a Nagle delay would show in full.
 */
import { cannon } from '../http'
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'

export async function run(ctx: Context): Promise<FigureResult> {
  const { serviceUrl, gatewayUrl } = await ctx.http()
  const duration = ctx.settings.quick ? 1 : 5
  const options = { connections: 1, overallRate: 200, duration }
  const baseline = await cannon(serviceUrl, options)
  const mesh = await cannon(gatewayUrl, options)
  const failures = mesh.errors + mesh.timeouts + mesh.non2xx
  const note = `${mesh.total} requests each${failures ? `; gateway: ${failures} failed` : ''}`
  return {
    rows: [
      row('4', 'HTTP GET at 200 req/s, p50', mesh.latencyMs.p50, baseline.latencyMs.p50, 'ms', '≤ baseline + 0.5 ms', mesh.latencyMs.p50 <= baseline.latencyMs.p50 + 0.5 && failures === 0, note),
      row('4', 'HTTP GET at 200 req/s, p99', mesh.latencyMs.p99, baseline.latencyMs.p99, 'ms', '')
    ],
    details: { options, mesh, baseline }
  }
}
