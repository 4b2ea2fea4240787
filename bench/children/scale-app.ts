/**
 * A process of the scale figure: it boots once (Node, Feathers, the library) and then runs one idle
 * app after another, each built on `start` and closed on `stop`, so that forming a mesh of N apps is
 * timed without N process start-ups on 2 cores. BENCH_CHILD JSON: { name, warmUp?: mesh options }: before
 * it reports ready, it builds, starts and closes one app (a mesh app with `warmUp`), so that modules are loaded and hot.
 * Commands: start { run, app: IdleAppConfig, expect: { peers, services } }, counters, stop.
 * A mesh app sends `{ type: 'converged-<run>', at }` (µs, CLOCK_MONOTONIC) once it has `expect.peers`
 * peers and `expect.services` services (its own and the proxies), or `{ error }` if its mesh failed to start.
 */
import { config, idleApp, nowUs, requireGuard, serve } from './common'
import type { IdleAppConfig } from './common'

requireGuard()

const CHECK_EVERY = 25 // ms
const CHECK_FOR = 120_000 // ms: a mesh that has not formed by then is reported by the parent

let current: { app: any; close(): Promise<void>; check?: NodeJS.Timeout } | undefined

async function stop() {
  const app = current
  current = undefined
  if (!app) return false
  clearInterval(app.check)
  await app.close()
  return true
}

serve(
  {
    async start({ run, app: settings, expect }: { run: number; app: IdleAppConfig; expect: { peers: number; services: number } }) {
      if (current) throw new Error('an app is running: stop it first')
      const { app, close } = await idleApp({ ...settings, name: `${config.name}-${run}` })
      current = { app, close }
      if (settings.mesh) {
        const since = Date.now()
        const check = setInterval(() => {
          const done = app.distribution.peers().length >= expect.peers && Object.keys(app.services).length >= expect.services
          if (done) process.send?.({ type: `converged-${run}`, at: nowUs() })
          if (done || Date.now() - since > CHECK_FOR) clearInterval(check)
        }, CHECK_EVERY)
        current.check = check
        // A mesh that cannot start (options cote refuses) is reported at once, not at the parent's deadline.
        app.distribution.ready.catch((error: Error) => {
          clearInterval(check)
          process.send?.({ type: `converged-${run}`, error: String(error?.message ?? error) })
        })
      }
      return { at: nowUs() }
    },
    counters() {
      if (!current?.app.distribution) return undefined
      const status = current.app.distribution.status()
      return { heard: status.app.discovery.heard, heartbeatsIn: status.counters.heartbeatsIn, peers: status.peers.filter((peer: any) => peer.state === 'admitted').length, services: Object.keys(current.app.services).length }
    },
    stop
  },
  async () => void (await stop())
)

// Loading Express, Feathers and the library takes about half a second of CPU: never inside a measurement.
idleApp({ name: `${config.name}-warm-up`, mesh: Boolean(config.warmUp), services: 1, prefix: 'warm-up', options: config.warmUp }).then(async ({ app, close }) => {
  await app.distribution?.ready
  await close()
  process.send?.({ type: 'ready', pid: process.pid })
})
