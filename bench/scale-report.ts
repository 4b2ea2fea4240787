/** The scale part's two tables: what was measured per mesh, and how each quantity grows with N. */
import { fmt, table } from './helpers'
import { formula } from './fit'
import type { Fit, Point } from './figures/scale'

function measured(points: Point[]): string {
  const lines = points.map((p) => [
    p.mode,
    String(p.n),
    p.converged === p.n ? `${fmt(p.formSeconds, 2)} / ${fmt(p.formP50Seconds, 2)}` : `NOT FORMED (${p.converged}/${p.n})`,
    fmt(p.formCpuSeconds, 2),
    fmt(p.cpuPercent, 2),
    fmt(p.perAppPercent, 3),
    fmt(p.baselinePerAppPercent, 3),
    fmt(p.overPercent, 2),
    p.redisPercent === null ? '—' : fmt(p.redisPercent, 2),
    fmt(p.hellosPerApp, 2),
    fmt(p.heartbeatsPerApp, 2),
    fmt(p.n * (p.hellosPerApp + p.heartbeatsPerApp), 0),
    String(p.tcpEstablished)
  ])
  return table(
    ['discovery', 'N', 'formed s (last / p50)', 'CPU to form, s', 'idle CPU %', 'per app %', 'no mesh, per app %', 'over no mesh %', 'redis-server %', 'hellos /s/app', 'heartbeats /s/app', 'messages /s, mesh', 'TCP conns/app'],
    lines,
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']
  )
}

function growthTable(fits: Fit[]): string {
  const lines = fits.map((f) => [
    f.mode,
    `${f.quantity} (${f.unit})`,
    `${formula(f.growth.linear, 'linear')} (R² ${f.growth.linear.r2.toFixed(3)})`,
    `${formula(f.growth.quadratic, 'quadratic')} (R² ${f.growth.quadratic.r2.toFixed(3)})`,
    Number.isFinite(f.growth.exponent) ? f.growth.exponent.toFixed(2) : '—',
    f.growth.best,
    fmt(f.at200),
    fmt(f.at1000)
  ])
  return table(['discovery', 'quantity', 'linear fit', 'quadratic fit', 'exponent', 'fits best', 'at 200', 'at 1,000'], lines, ['l', 'l', 'l', 'l', 'r', 'l', 'r', 'r'])
}

export function renderScale(details: any): string {
  if (!details?.points) return `scale: FAILED: ${details?.error ?? 'no result'}`
  return [
    `scale: ${details.sizes.join(', ')} apps × ${details.services} services, one process each (${details.points.length} meshes, booted once in ${fmt(details.bootSeconds, 1)} s); idle window ${details.seconds} s; "no mesh": ${details.baselineApps} apps without the mesh in the same window`,
    `library at ${details.revision}; defaults: hello every ${details.defaults.helloInterval / 1000} s, heartbeat every ${details.defaults.heartbeatInterval / 1000} s; tuned: hello every ${details.tuned.cote.helloInterval / 1000} s, heartbeat every ${details.tuned.heartbeatInterval / 1000} s`,
    '',
    measured(details.points),
    ...(details.failures?.length ? ['', 'FAILED:', ...details.failures.map((f: string) => `  ${f}`)] : []),
    '',
    `growth with N (least squares on ${details.sizes.join(', ')}; exponent p of y = k·N^p; predictions from the better fit):`,
    growthTable(details.fits)
  ].join('\n')
}
