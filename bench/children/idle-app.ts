/**
 * An app with `services` in-memory services, with or without feathers-mesh, that does nothing: the
 * idle-cost figure runs many of them. BENCH_CHILD JSON: { mesh: boolean, options, services, prefix }.
 * It counts the cote components and the discoveries created in it and reports them with `components`.
 * Commands: peers, services, components, gcs (its age and the times of its full GCs, in ms since it started).
 */
import { PerformanceObserver, constants } from 'perf_hooks'
import { config, idleApp, requireGuard, serve } from './common'
import type { IdleAppConfig } from './common'

requireGuard()

// Counted at construction, before the library loads: its components override startDiscovery (the
// app runs one discovery of its own), so a patched startDiscovery would count nothing.
const components: Record<string, number> = {}
let discoveries = 0
const counted = <T extends object>(target: T, count: () => void): T =>
  new Proxy(target, {
    construct(base, args, newTarget) {
      count()
      return Reflect.construct(base as any, args, newTarget)
    }
  })
// cote's components and the library both take the discovery class from the module cache: swap it first.
const discoveryFile = require.resolve('cote/src/components/discovery')
require(discoveryFile)
require.cache[discoveryFile]!.exports = counted(require.cache[discoveryFile]!.exports, () => discoveries++)
const cote = require('cote')
for (const type of ['Requester', 'Responder', 'Publisher', 'Subscriber', 'Sockend', 'TimeBalancedRequester', 'PendingBalancedRequester']) {
  cote[type] = counted(cote[type], () => (components[type.toLowerCase()] = (components[type.toLowerCase()] ?? 0) + 1))
}

// Full GCs, so the figure can tell V8's one-off start-up GCs from the idle cost.
const fullGcs: number[] = []
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if ((entry as any).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs.push(Math.round(entry.startTime))
}).observe({ entryTypes: ['gc'] })

idleApp(config as IdleAppConfig).then(async ({ app, httpPort, close }) => {
  serve(
    {
      peers: () => (config.mesh ? app.distribution.peers().length : 0),
      services: () => Object.keys(app.services).length,
      components: () => ({ components, discoveries }),
      gcs: () => ({ age: Math.round(performance.now()), fullGcs })
    },
    close
  )
  if (config.mesh) await app.distribution.ready
  process.send?.({ type: 'ready', pid: process.pid, httpPort })
})
