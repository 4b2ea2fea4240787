/**
 * Figure 6: start-up. Spawn a provider (the fixture, serving todos) and a consumer at once, with
 * default options except loopback discovery on a port of the run's own; time from the spawn to
 * the consumer's first successful remote `find`. Each run has a discovery port of its own.
 */
import { PORTS, defaultCote, nowNs, row, spawnBenchChild, spawnFixture, summarize } from '../helpers'
import type { Child, FigureResult } from '../helpers'
import type { Context } from '../context'

const RUN_TIMEOUT = 8000 // ms: a run that has not called by then failed

async function once(index: number) {
  const options = { cote: defaultCote(PORTS.startup + index) }
  const start = nowNs()
  const children: Child[] = []
  try {
    const [provider, consumer] = await Promise.all([
      spawnFixture(`startup-provider-${index}`, { key: 'todos', services: ['todos'], options }, { waitReady: false }),
      spawnBenchChild('consumer', `startup-consumer-${index}`, { mode: 'mesh', options, startup: { path: 'todos', timeout: RUN_TIMEOUT } }, { waitReady: false })
    ])
    children.push(provider, consumer)
    const booted = consumer.message('ready', RUN_TIMEOUT).then(() => Number(nowNs() - start) / 1e6, () => NaN)
    const first = await consumer.message('first-call', RUN_TIMEOUT + 2000)
    return { ok: first.ok === true, ms: Number(BigInt(first.atNs) - start) / 1e6, bootMs: await booted }
  } catch (error) {
    return { ok: false, ms: NaN, bootMs: NaN, error: String((error as Error).message) }
  } finally {
    await Promise.all(children.map((child) => child.stop(1500)))
  }
}

export async function run(ctx: Context): Promise<FigureResult> {
  const runs = ctx.settings.quick ? 3 : 10
  const results = []
  for (let i = 0; i < runs; i++) results.push(await once(i))
  const ok = results.filter((r) => r.ok)
  const times = summarize(ok.map((r) => r.ms))
  const boot = summarize(results.map((r) => r.bootMs).filter(Number.isFinite))
  return {
    rows: [
      row('6', 'start-up → first remote call, successes', `${ok.length}/${runs}`, null, 'runs', `${runs} of ${runs}`, ok.length === runs),
      row('6', 'start-up → first remote call, p50', times.p50, null, 'ms', '≤ 1000 ms', ok.length === runs && times.p50 <= 1000, `consumer process booted (modules loaded) at p50 ${boot.p50.toFixed(0)} ms`),
      row('6', 'start-up → first remote call, max', times.max, null, 'ms', '≤ 2500 ms', ok.length === runs && times.max <= 2500)
    ],
    details: { runs: results }
  }
}
