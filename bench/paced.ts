/**
 * Requests at a steady rate on one keep-alive connection, against 127.0.0.1 only (figure 4).
 * autocannon's `overallRate` paces per second: with one connection it sent the second's 200
 * requests back to back, then waited for the next second, so "200 req/s" was a burst of requests
 * each sent as the previous one returned. Here request i goes at start + i × interval, on a clock
 * that does not drift (each wait is taken from the schedule, not from the previous request); when
 * a response comes after the next request's time, that request goes as soon as it returns, and is
 * counted as late. Each request is timed from its write to the end of its body.
 */
import http from 'http'
import { nowNs, summarize } from './helpers'

export interface PacedOptions {
  /** Time between two requests' scheduled writes, in ms. */
  intervalMs: number
  /** Requests measured. */
  count: number
  /** Requests before them on the same connection, not measured (its set-up, the first calls). */
  warmup?: number
  /** A request with no full answer within this many ms has failed. */
  timeoutMs?: number
}

export interface PacedResult {
  /** Requests measured that were sent (fewer than asked when the run's time bound was reached). */
  sent: number
  /** Of those, answered with a 2xx and a full body (each one a latency sample). */
  ok: number
  /** Errors, timeouts and non-2xx answers. */
  failed: number
  firstError?: string
  /** Requests that went after their time, because the previous response came after it. */
  late: number
  /** From the first measured request's scheduled time to the last response. */
  seconds: number
  /** Requests sent per second over that time. */
  rate: number
  latencyMs: ReturnType<typeof summarize>
}

/**
 * Waits with setTimeout alone, whose resolution is a ms: a request goes within about a ms of its
 * time (never drifting: each wait is taken from the schedule). Waiting out the last sub-ms part in
 * turns of the event loop (setImmediate) cost the generator a tenth of a core more, taken on a
 * 2-core machine from the processes it measures, for a precision the latencies do not need.
 */
const EARLY_MS = 0.5

async function until(at: bigint) {
  for (;;) {
    const remaining = Number(at - nowNs()) / 1e6
    if (remaining < EARLY_MS) return
    await new Promise((resolve) => setTimeout(resolve, Math.floor(remaining)))
  }
}

interface Answer {
  ok: boolean
  ms: number
  error?: string
}

function request(url: URL, agent: http.Agent, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    let written = nowNs()
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      res.resume()
      res.once('end', () => {
        const ms = Number(nowNs() - written) / 1e6
        const status = res.statusCode ?? 0
        resolve(status >= 200 && status < 300 ? { ok: true, ms } : { ok: false, ms, error: `HTTP ${status}` })
      })
      res.once('error', (error) => resolve({ ok: false, ms: NaN, error: error.message }))
    })
    // The request is written as its socket is assigned (on the next tick, on a kept-alive socket).
    req.once('socket', () => void (written = nowNs()))
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.once('error', (error) => resolve({ ok: false, ms: NaN, error: error.message }))
  })
}

/** `warmup` + `count` requests, one every `intervalMs`; bounded by their schedule plus 10 s. */
export async function paced(target: string, options: PacedOptions): Promise<PacedResult> {
  const url = new URL(target)
  if (url.hostname !== '127.0.0.1') throw new Error(`the bench only loads 127.0.0.1, not ${url.hostname}`)
  const { intervalMs, count, warmup = 0, timeoutMs = 2000 } = options
  const total = warmup + count
  const interval = BigInt(Math.round(intervalMs * 1e6))
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const start = nowNs()
  const deadline = start + BigInt(total) * interval + 10_000_000_000n
  const samples: number[] = []
  let sent = 0
  let failed = 0
  let late = 0
  let firstError: string | undefined
  try {
    for (let i = 0; i < total; i++) {
      const at = start + BigInt(i) * interval
      const measured = i >= warmup
      if (nowNs() > at) {
        if (i > 0 && measured) late++
      } else await until(at)
      if (nowNs() > deadline) break
      const answer = await request(url, agent, timeoutMs)
      if (!measured) continue
      sent++
      if (answer.ok) samples.push(answer.ms)
      else {
        failed++
        firstError ??= answer.error
      }
    }
  } finally {
    agent.destroy()
  }
  const seconds = Number(nowNs() - (start + BigInt(warmup) * interval)) / 1e9
  return { sent, ok: samples.length, failed, ...(firstError ? { firstError } : {}), late, seconds, rate: sent / seconds, latencyMs: summarize(samples) }
}
