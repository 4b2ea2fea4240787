/**
 * autocannon against 127.0.0.1 only. Latency percentiles are computed from every response time
 * (autocannon's own histogram keeps whole milliseconds, too coarse for sub-millisecond figures).
 */
import autocannon from 'autocannon'
import { summarize } from './helpers'

export interface CannonResult {
  requestsPerSecond: number
  total: number
  errors: number
  timeouts: number
  non2xx: number
  latencyMs: ReturnType<typeof summarize>
  /** autocannon's own (whole-ms) percentiles, for reference. */
  autocannon: { p50: number; p99: number; average: number }
}

export function cannon(url: string, options: { connections: number; duration: number; overallRate?: number }): Promise<CannonResult> {
  const { hostname } = new URL(url)
  if (hostname !== '127.0.0.1') return Promise.reject(new Error(`the bench only loads 127.0.0.1, not ${hostname}`))
  const samples: number[] = []
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections: options.connections, duration: options.duration, overallRate: options.overallRate, timeout: 10 }, (error, result) => {
      if (error) return reject(error)
      resolve({
        requestsPerSecond: result.requests.average,
        total: result.requests.total,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        latencyMs: summarize(samples),
        autocannon: { p50: result.latency.p50, p99: result.latency.p99, average: result.latency.average }
      })
    })
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) samples.push(responseTime)
    })
  })
}
