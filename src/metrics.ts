import { Counter, Gauge, Registry } from 'prom-client'
import type { Metric, MetricValueWithName, RegistryContentType } from 'prom-client'
import { LATENCY_BUCKETS, OUTCOMES } from './stats'
import type { Stats } from './stats'
import type { MeshStatus } from './status'

const PREFIX = 'feathers_mesh_'
/** A registry in either text format (Prometheus' or OpenMetrics). */
type AnyRegistry = Registry<RegistryContentType>

/**
 * The latency histogram, read from the buckets Stats keeps anyway. prom-client's own Histogram
 * would hash the label values on every observation, even through a child; this one does nothing
 * per call, and prom-client still writes the text format.
 */
function latencyHistogram(stats: Stats) {
  const name = `${PREFIX}call_duration_seconds`
  const metric = {
    name,
    help: 'Remote call latency through a proxy, by service and method',
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    get() {
      const values: MetricValueWithName<string>[] = []
      for (const { service, method, latency, latencySum } of stats.methods.values()) {
        let count = 0
        for (let i = 0; i < latency.length; i++) {
          count += latency[i]
          const le = i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i] : '+Inf'
          values.push({ metricName: `${name}_bucket`, labels: { le, service, method }, value: count })
        }
        values.push({ metricName: `${name}_sum`, labels: { service, method }, value: latencySum })
        values.push({ metricName: `${name}_count`, labels: { service, method }, value: count })
      }
      return { name, help: metric.help, type: metric.type, aggregator: metric.aggregator, values }
    },
    // The counts are the status API's too: a registry reset leaves them alone.
    reset() {}
  }
  return metric
}

/**
 * The metrics each registry holds for the app that registered them, so that close takes out only
 * those, under the names they were registered with: in OpenMetrics mode, a scrape renames counters
 * in place (`_total` dropped), while the registry still files them under the first name.
 */
const registered = new WeakMap<AnyRegistry, Array<[string, Metric]>>()

/**
 * Prometheus metrics, labelled by the proxy's local path. No work per call: every figure, the
 * latency histogram included, is read from the counters (Stats) when Prometheus scrapes.
 */
export function createMetrics(stats: Stats, status: () => MeshStatus, registry: AnyRegistry = new Registry()): AnyRegistry {
  // prom-client's own error names one metric and not why: two live apps cannot share a registry,
  // as their series would collide.
  const taken = registry.getMetricsAsArray().map((metric) => metric.name).filter((name) => name.startsWith(PREFIX))
  if (taken.length > 0) {
    const names = taken.length > 1 ? `${taken[0]}, and ${taken.length - 1} more` : taken[0]
    throw new TypeError(`feathers-mesh: option metricsRegistry already holds the mesh metrics of another app (${names}): give each app its own registry`)
  }
  // Registries take any object with get(), as prom-client's own metrics are; its types list only those.
  const histogram = latencyHistogram(stats)
  registry.registerMetric(histogram as unknown as Metric)
  const metrics: Array<[string, Metric]> = [[histogram.name, histogram as unknown as Metric]]
  registered.set(registry, metrics)

  // Every prom-client metric has its name; the types leave it out.
  const add = (metric: Metric) => metrics.push([(metric as unknown as { name: string }).name, metric])
  add(new Counter({
    name: `${PREFIX}calls_total`,
    help: 'Remote calls through a proxy, by service, method and outcome',
    labelNames: ['service', 'method', 'outcome'],
    registers: [registry],
    collect() {
      this.reset()
      for (const entry of stats.methods.values()) for (const outcome of OUTCOMES) this.inc({ service: entry.service, method: entry.method, outcome }, entry.outcomes[outcome])
    }
  }))
  add(new Gauge({
    name: `${PREFIX}calls_in_flight`,
    help: 'Remote calls in flight, by service',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset()
      for (const proxy of status().proxies) this.set({ service: proxy.path }, proxy.inFlight)
    }
  }))
  add(new Counter({
    name: `${PREFIX}call_retries_total`,
    help: 'Calls sent again to another replica after their replica failed',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(stats.retries)
    }
  }))
  add(new Counter({
    name: `${PREFIX}events_total`,
    help: 'Service events forwarded to consumers (out) and re-emitted from providers (in)',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ direction: 'out' }, stats.eventsOut)
      this.inc({ direction: 'in' }, stats.eventsIn)
    }
  }))
  add(new Gauge({
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
  }))
  add(new Gauge({
    name: `${PREFIX}replicas`,
    help: 'Replicas serving each proxy',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset()
      for (const proxy of status().proxies) this.set({ service: proxy.path }, proxy.replicas.length)
    }
  }))
  add(new Counter({
    name: `${PREFIX}messages_dropped_total`,
    help: 'Messages dropped on receipt (unauthenticated, replayed, malformed...), by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [reason, count] of Object.entries(status().counters.dropped)) this.inc({ reason }, count)
    }
  }))
  return registry
}

/**
 * Takes the app's mesh metrics out of `registry` (the app closed): its figures would go stale there,
 * and another app could not register in it. Others' metrics stay. Idempotent.
 */
createMetrics.unregister = (registry: AnyRegistry | undefined) => {
  for (const [name, metric] of (registry && registered.get(registry)) ?? []) {
    if (registry!.getSingleMetric(name) === metric) registry!.removeSingleMetric(name)
  }
  if (registry) registered.delete(registry)
}
