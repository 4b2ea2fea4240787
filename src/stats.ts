/**
 * Counters the status API and the metrics read. Updating one is a plain increment on an object
 * resolved once per service and method, so counting costs the call almost nothing. They are kept
 * whether metrics are served or not: the status needs them, and metrics then cost no work per call.
 */
export const OUTCOMES = ['ok', 'error', 'timeout', 'unavailable', 'refused'] as const
export type Outcome = (typeof OUTCOMES)[number]

/** Upper bounds (seconds) of the latency buckets kept for every method. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export interface MethodStats {
  service: string
  method: string
  outcomes: Record<Outcome, number>
  /** Calls per latency bucket (the last one is above 10 s). */
  latency: number[]
  /** Sum of the latencies, in seconds (the histogram's `_sum`). */
  latencySum: number
}

export class Stats {
  readonly methods = new Map<string, MethodStats>()
  readonly inFlight = new Map<string, number>()
  retries = 0
  eventsIn = 0
  eventsOut = 0

  method(service: string, method: string): MethodStats {
    const id = `${service}\u0000${method}`
    let entry = this.methods.get(id)
    if (!entry) {
      entry = { service, method, outcomes: { ok: 0, error: 0, timeout: 0, unavailable: 0, refused: 0 }, latency: new Array(LATENCY_BUCKETS.length + 1).fill(0), latencySum: 0 }
      this.methods.set(id, entry)
    }
    return entry
  }

  /**
   * A proxy's path is free: its figures go (in a gateway whose paths come and go, they and their
   * metric series would pile up), and their outcomes stay in the totals, which only grow.
   */
  forget(service: string) {
    for (const [id, entry] of this.methods) {
      if (entry.service !== service) continue
      for (const outcome of OUTCOMES) this.retired[outcome] += entry.outcomes[outcome]
      this.methods.delete(id)
    }
  }

  private readonly retired: Record<Outcome, number> = { ok: 0, error: 0, timeout: 0, unavailable: 0, refused: 0 }

  totals(): Record<Outcome, number> {
    const totals = { ...this.retired }
    for (const entry of this.methods.values()) for (const outcome of OUTCOMES) totals[outcome] += entry.outcomes[outcome]
    return totals
  }
}

export function recordLatency(entry: MethodStats, seconds: number) {
  let i = 0
  while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++
  entry.latency[i]++
  entry.latencySum += seconds
}

/** The bucket bound (ms) under which `q` of the calls fell; undefined without calls. */
export function quantileMs(latency: number[], q: number): number | undefined {
  const total = latency.reduce((a, b) => a + b, 0)
  if (total === 0) return undefined
  let seen = 0
  for (let i = 0; i < latency.length; i++) {
    seen += latency[i]
    if (seen >= q * total) return i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i] * 1000 : Infinity
  }
  return Infinity
}

/**
 * p50 and p99 (ms, bucket bounds) for the status API. One past the last bound is left out, and
 * `above` (that bound) says so: JSON has no Infinity, and would write null.
 */
export function percentiles(latency: number[]): { p50?: number; p99?: number; above?: number } {
  const out: { p50?: number; p99?: number; above?: number } = {}
  for (const [name, q] of [['p50', 0.5], ['p99', 0.99]] as const) {
    const ms = quantileMs(latency, q)
    if (ms === Infinity) out.above = LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1] * 1000
    else if (ms !== undefined) out[name] = ms
  }
  return out
}
