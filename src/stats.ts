/**
 * Counters the status API and the metrics read. Updating one is a plain increment on an object
 * resolved once per service and method, so counting costs the call almost nothing.
 */
export const OUTCOMES = ['ok', 'error', 'timeout', 'unavailable', 'refused'] as const
export type Outcome = (typeof OUTCOMES)[number]

export interface MethodStats {
  service: string
  method: string
  outcomes: Record<Outcome, number>
  /** Called with the latency in seconds; set by the metrics module when metrics are on. */
  observe?: (seconds: number) => void
}

export class Stats {
  readonly methods = new Map<string, MethodStats>()
  readonly inFlight = new Map<string, number>()
  retries = 0
  eventsIn = 0
  eventsOut = 0
  eventsDropped = 0
  /** Hook for the metrics module, to wire a histogram into each new method entry. */
  onMethod?: (entry: MethodStats) => void

  method(service: string, method: string): MethodStats {
    const id = `${service}\u0000${method}`
    let entry = this.methods.get(id)
    if (!entry) {
      entry = { service, method, outcomes: { ok: 0, error: 0, timeout: 0, unavailable: 0, refused: 0 } }
      this.methods.set(id, entry)
      this.onMethod?.(entry)
    }
    return entry
  }

  totals(): Record<Outcome, number> {
    const totals = { ok: 0, error: 0, timeout: 0, unavailable: 0, refused: 0 }
    for (const entry of this.methods.values()) for (const outcome of OUTCOMES) totals[outcome] += entry.outcomes[outcome]
    return totals
  }
}
