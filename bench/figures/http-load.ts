/** Figure 3: GET /todos/1 on a gateway (express + proxy), 50 connections, against the service's own REST. */
import { cannon } from '../http'
import { row } from '../helpers'
import type { FigureResult } from '../helpers'
import type { Context } from '../context'

export async function run(ctx: Context): Promise<FigureResult> {
  const { serviceUrl, gatewayUrl } = await ctx.http()
  const duration = ctx.settings.quick ? 1 : 5
  const connections = 50
  // Warm both (JIT, connection set-up) before either is measured.
  await cannon(serviceUrl, { connections, duration: 1 })
  await cannon(gatewayUrl, { connections, duration: 1 })
  const baseline = await cannon(serviceUrl, { connections, duration })
  const mesh = await cannon(gatewayUrl, { connections, duration })
  const failures = mesh.errors + mesh.timeouts + mesh.non2xx
  const note = `${connections} connections, ${duration} s each${failures ? `; gateway: ${mesh.errors} errors, ${mesh.timeouts} timeouts, ${mesh.non2xx} non-2xx` : ''}`
  return {
    rows: [
      row('3', 'HTTP GET /todos/1 via gateway, throughput', mesh.requestsPerSecond, baseline.requestsPerSecond, 'req/s', '≥ 0.95× baseline', mesh.requestsPerSecond >= 0.95 * baseline.requestsPerSecond && failures === 0, note),
      row('3', 'HTTP GET /todos/1 via gateway, p99', mesh.latencyMs.p99, baseline.latencyMs.p99, 'ms', '≤ 1.2× baseline', mesh.latencyMs.p99 <= 1.2 * baseline.latencyMs.p99)
    ],
    details: { serviceUrl, gatewayUrl, mesh, baseline }
  }
}
