/**
 * Figure 7: idle cost. 20 apps × 10 services, each its own process, with feathers-mesh (default
 * options but loopback discovery) beside the same 20 apps without the mesh; both sets sit idle
 * in one window, and their CPU time (utime + stime, /proc/<pid>/stat) is compared. Also reports
 * what one app holds: cote components, discoveries, TCP listening ports, UDP discovery sockets.
 */
import { PORTS, cpuSeconds, defaultCote, row, sleep, socketInventory, spawnBenchChild, waitUntil } from '../helpers'
import type { Child, FigureResult } from '../helpers'
import type { Context } from '../context'

const APPS = 20
const SERVICES = 10
const BATCH = 4 // children started at once (2 cores)
/**
 * The window opens once the youngest app is this old: V8's memory reducer runs one-off full GCs
 * (`Mark-Compact (reduce)` in --trace-gc) 40–55 s after an app of this kind starts, mesh or not, 45–70
 * ms of CPU each; that is start-up garbage, not idle cost. (The quick run does not wait.)
 */
const SETTLED_MS = 75_000

async function startAll(mesh: boolean, count: number): Promise<Child[]> {
  const apps: Child[] = []
  for (let i = 0; i < count; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) =>
      spawnBenchChild('idle-app', `${mesh ? 'mesh' : 'plain'}-idle-${i + j}`, { mesh, services: SERVICES, prefix: `app${i + j}-service`, options: { key: `app${i + j}`, cote: defaultCote(PORTS.idle) } }, { readyTimeout: 30_000 })
    )
    apps.push(...(await Promise.all(batch)))
  }
  return apps
}

export async function run(ctx: Context): Promise<FigureResult> {
  const count = ctx.settings.quick ? 4 : APPS
  const seconds = ctx.settings.idleSeconds
  const meshApps: Child[] = []
  const plainApps: Child[] = []
  try {
    meshApps.push(...(await startAll(true, count)))
    plainApps.push(...(await startAll(false, count)))
    const lastStarted = performance.now()
    // Converged: every mesh app knows every other one (bounded; a shortfall is reported, not hidden).
    let peers: number[] = []
    let services: number[] = []
    const converged = await waitUntil(
      async () => {
        peers = await Promise.all(meshApps.map((app) => app.send({ cmd: 'peers' }, 5000) as Promise<number>))
        if (!peers.every((n) => n === count - 1)) return false
        // …and has mounted a proxy for every other app's services.
        services = await Promise.all(meshApps.map((app) => app.send({ cmd: 'services' }, 5000) as Promise<number>))
        return services.every((n) => n >= count * SERVICES)
      },
      30_000,
      'the idle mesh to converge',
      500
    ).catch(() => false)
    await sleep(ctx.settings.quick ? 2000 : Math.max(2000, SETTLED_MS - (performance.now() - lastStarted)))

    const cpu = (apps: Child[]) => apps.map((app) => cpuSeconds(app.pid))
    const startedAt = performance.now()
    const meshBefore = cpu(meshApps)
    const plainBefore = cpu(plainApps)
    await sleep(seconds * 1000)
    const meshAfter = cpu(meshApps)
    const plainAfter = cpu(plainApps)
    const window = (performance.now() - startedAt) / 1000
    const total = (before: number[], after: number[]) => after.reduce((sum, value, i) => sum + value - before[i], 0)
    const meshPercent = (100 * total(meshBefore, meshAfter)) / window
    const plainPercent = (100 * total(plainBefore, plainAfter)) / window
    const over = meshPercent - plainPercent

    const { components, discoveries } = await meshApps[0].send({ cmd: 'components' })
    const plain = await plainApps[0].send({ cmd: 'components' })
    const meshSockets = socketInventory(meshApps[0].pid)
    const plainSockets = socketInventory(plainApps[0].pid)
    const ports = { mesh: meshSockets, plain: plainSockets, discoveryPort: PORTS.idle }
    const componentCount = Object.values(components as Record<string, number>).reduce((a, b) => a + b, 0)
    const discoverySockets = meshSockets.udp.filter((port) => port === PORTS.idle).length
    return {
      rows: [
        row('7', `idle CPU, ${count} apps × ${SERVICES} services, ${seconds} s`, meshPercent, plainPercent, '% of a core', '≤ +3% over baseline', over <= 3, `+${over.toFixed(2)}% of one core over baseline; each mesh app: ${SERVICES} services + ${(count - 1) * SERVICES} proxies${converged ? '' : `; NOT converged: peers ${peers.join(',')}, services ${services.join(',')}`}`)
      ],
      details: {
        apps: count,
        seconds: window,
        converged,
        peers,
        services,
        meshPercent,
        plainPercent,
        overPercent: over,
        perApp: {
          coteComponents: components,
          coteComponentCount: componentCount,
          discoveries,
          plain: { coteComponentCount: Object.values(plain.components as Record<string, number>).reduce((a, b) => a + b, 0), discoveries: plain.discoveries },
          tcpListening: { mesh: meshSockets.tcpListening, plain: plainSockets.tcpListening },
          udpSockets: { mesh: meshSockets.udp, plain: plainSockets.udp },
          discoverySockets,
          tcpEstablished: { mesh: meshSockets.tcpEstablished, plain: plainSockets.tcpEstablished }
        },
        ports,
        meshCpuSeconds: meshAfter.map((v, i) => v - meshBefore[i]),
        plainCpuSeconds: plainAfter.map((v, i) => v - plainBefore[i])
      }
    }
  } finally {
    // Each asked to exit (mesh apps say goodbye), and ended by PID after 2 s if still there.
    await Promise.all([...meshApps, ...plainApps].map((app) => app.stop(2000)))
  }
}
