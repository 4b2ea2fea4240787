import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { LATENCY_BUCKETS, OUTCOMES } from './stats'
import type { Stats } from './stats'
import type { MeshStatus } from './status'

const PREFIX = 'feathers_mesh_'

/**
 * Prometheus metrics. Per call: one histogram observation on a child resolved once per service and
 * method; every other figure is read from the counters at scrape time.
 */
export function createMetrics(stats: Stats, status: () => MeshStatus, registry: Registry = new Registry()) {
  const latency = new Histogram({
    name: `${PREFIX}call_duration_seconds`,
    help: 'Remote call latency through a proxy, by service and method',
    labelNames: ['service', 'method'],
    buckets: LATENCY_BUCKETS,
    registers: [registry]
  })
  stats.onMethod = (entry) => {
    const child = latency.labels(entry.service, entry.method)
    entry.observe = (seconds) => child.observe(seconds)
  }
  for (const entry of stats.methods.values()) stats.onMethod(entry)

  new Counter({
    name: `${PREFIX}calls_total`,
    help: 'Remote calls through a proxy, by service, method and outcome',
    labelNames: ['service', 'method', 'outcome'],
    registers: [registry],
    collect() {
      this.reset()
      for (const entry of stats.methods.values()) for (const outcome of OUTCOMES) this.inc({ service: entry.service, method: entry.method, outcome }, entry.outcomes[outcome])
    }
  })
  new Gauge({
    name: `${PREFIX}calls_in_flight`,
    help: 'Remote calls in flight, by service',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset()
      for (const proxy of status().proxies) this.set({ service: proxy.path }, proxy.inFlight)
    }
  })
  new Counter({
    name: `${PREFIX}call_retries_total`,
    help: 'Calls sent again to another replica after their replica failed',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(stats.retries)
    }
  })
  new Counter({
    name: `${PREFIX}events_total`,
    help: 'Service events forwarded to consumers (out) and re-emitted from providers (in)',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ direction: 'out' }, stats.eventsOut)
      this.inc({ direction: 'in' }, stats.eventsIn)
    }
  })
  new Gauge({
    name: `${PREFIX}peers`,
    help: 'Peers this app knows, by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset()
      const counts: Record<string, number> = { admitted: 0, suspect: 0, refused: 0, leaving: 0, gone: 0 }
      for (const peer of status().peers) counts[peer.state]++
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count)
    }
  })
  new Gauge({
    name: `${PREFIX}replicas`,
    help: 'Replicas serving each proxy',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset()
      for (const proxy of status().proxies) this.set({ service: proxy.path }, proxy.replicas.length)
    }
  })
  new Counter({
    name: `${PREFIX}messages_dropped_total`,
    help: 'Messages dropped on receipt (unauthenticated, replayed, malformed...), by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [reason, count] of Object.entries(status().counters.dropped)) this.inc({ reason }, count)
    }
  })
  return registry
}
