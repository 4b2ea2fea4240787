/**
 * The benchmark harness (bench/): what its figures report when a measurement failed, and how it
 * paces and where it holds its ports. Child processes are replaced by stand-ins (no app starts);
 * the HTTP figures load servers of this process, on 127.0.0.1.
 */
import { expect } from 'chai'
import fs from 'fs'
import http from 'http'
import type { AddressInfo } from 'net'
import os from 'os'
import path from 'path'
import * as helpers from '../../bench/helpers'
import type { Child } from '../../bench/helpers'
import type { Context } from '../../bench/context'
import * as events from '../../bench/figures/events'
import * as idle from '../../bench/figures/idle'
import * as memory from '../../bench/figures/memory'
import * as httpRate from '../../bench/figures/http-rate'
import { paced } from '../../bench/paced'

const original = { spawnBenchChild: helpers.spawnBenchChild, waitUntil: helpers.waitUntil }

/** A stand-in child: `replies[cmd](message)` answers each command. */
function fake(name: string, replies: Record<string, (m: any) => unknown>): Child {
  return { name, pid: process.pid, send: async (m: any) => replies[m.cmd](m), stop: async () => undefined } as unknown as Child
}

function stub(replacements: Partial<typeof original>) {
  Object.assign(helpers, replacements)
}

function context(settings: Partial<Context['settings']>, rest: Partial<Context> = {}): Context {
  return { settings: { quick: true, idleSeconds: 1, scaleSeconds: 1, ...settings }, ...rest } as Context
}

/** An HTTP server on 127.0.0.1 answering every request with `status`; `arrivals` in ms. */
async function server(status = 200) {
  const arrivals: number[] = []
  const s = http.createServer((_req, res) => {
    arrivals.push(performance.now())
    res.statusCode = status
    res.end('{"id":1}')
  })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/todos/1`
  return { url, arrivals, close: () => new Promise((resolve) => s.close(resolve)) }
}

describe('benchmark harness', function () {
  this.timeout(20_000)
  afterEach(() => stub(original))

  describe('rows do not say "met" when the measurement failed', () => {
    it('figure 5: a baseline burst that received nothing has no rate, and the burst row is not met', async () => {
      const provider = fake('provider', { emitBurst: () => ({ emitted: 50_000, startUs: 123_456_789, endUs: 123_556_789 }) })
      const consumer = fake('consumer', { listen: () => true, collect: () => ({ count: 0, duplicates: 0, firstAt: 0, lastAt: 0, latencies: [] }) })
      const raw = await events.burst(provider, consumer, 50_000)
      expect(raw.seconds, 'a burst cannot last a negative time').to.be.at.least(0)
      expect(raw.perSecond).to.be.NaN
      expect(150_000 >= 0.6 * raw.perSecond).to.equal(false)
    })

    it('figure 5: the burst row needs the baseline to have received every event', async () => {
      const figure = async (rawBurstReceived: (emitted: number) => number) => {
        stub({
          spawnBenchChild: (async (_file: string, name: string) => {
            let phase = ''
            return fake(name, {
              wait: () => true,
              probe: () => true,
              listen: (m) => void (phase = m.phase),
              emitPaced: (m) => ({ emitted: m.n }),
              emitBurst: (m) => ({ emitted: m.n, startUs: 1_000_000, endUs: 1_050_000 }),
              collect: (m) => {
                const count = phase === 'burst' && name.startsWith('cote') ? rawBurstReceived(m.expected) : m.expected
                return { count, duplicates: 0, firstAt: 1_000_100, lastAt: count ? 1_100_000 : 0, latencies: new Array(count).fill(100) }
              }
            })
          }) as typeof helpers.spawnBenchChild
        })
        const result = await events.run(context({ quick: true }))
        return result.rows.find((r) => r.metric === 'event burst rate')!
      }
      expect((await figure((n) => n)).met, 'both received all: the same rate').to.equal(true)
      expect((await figure(() => 0)).met, 'raw cote received nothing').to.equal(false)
      const some = await figure((n) => n / 2)
      expect(some.met, 'raw cote lost half').to.equal(false)
      expect(some.note).to.match(/raw cote received 5000 of 10000/)
    })

    it('figure 7: a mesh that did not converge is not reported as meeting its target', async () => {
      stub({
        spawnBenchChild: (async (_file: string, name: string) =>
          fake(name, {
            peers: () => 0,
            services: () => 10,
            gcs: () => ({ age: 60_000, fullGcs: [] }),
            components: () => ({ components: {}, discoveries: 1 })
          })) as typeof helpers.spawnBenchChild,
        waitUntil: (async () => {
          throw new Error('timed out')
        }) as typeof helpers.waitUntil
      })
      const result = await idle.run(context({ quick: true, idleSeconds: 1 }))
      expect(result.details.converged).to.equal(false)
      expect(result.rows[0].met).to.equal(false)
    })

    it('figure 7: apps already started are stopped when a later one never gets ready', async () => {
      const started: string[] = []
      const stopped: string[] = []
      stub({
        spawnBenchChild: (async (_file: string, name: string) => {
          await helpers.sleep(5)
          if (name === 'mesh-idle-5') throw new Error('mesh-idle-5 ready: no answer')
          started.push(name)
          return { name, pid: process.pid, send: async () => 0, stop: async () => void stopped.push(name) } as unknown as Child
        }) as typeof helpers.spawnBenchChild
      })
      const failure = await idle.run(context({ quick: false, idleSeconds: 1 })).then(
        () => undefined,
        (error: Error) => error
      )
      expect(failure?.message).to.match(/mesh-idle-5/)
      expect(started).to.include.members(['mesh-idle-4', 'mesh-idle-6', 'mesh-idle-7'])
      expect([...stopped].sort()).to.deep.equal([...started].sort())
    })

    it('figure 9: neither memory row is met when the calls failed', async () => {
      const m = { rss: 80e6, heapUsed: 20e6 }
      const consumer = fake('consumer', { memory: () => ({ before: m, after: m, run: { calls: 0, errors: 100_000, seconds: 1.2 } }) })
      const result = await memory.run(context({ quick: false }, { calls: async () => ({ mesh: { consumer, id: 1 } }) as any }))
      expect(result.rows.map((r) => r.met)).to.deep.equal([false, false])
    })

    it('a row whose value is NaN is never met', () => {
      expect(helpers.row('1', 'x', NaN, 1, 'ms', '≤ 1', true).met).to.equal(false)
      expect(helpers.row('1', 'x', 1, NaN, 'ms', '≤ 1', true).met).to.equal(false)
      expect(helpers.row('1', 'x', 1, 1, 'ms', '≤ 1', true).met).to.equal(true)
      expect(helpers.row('1', 'x', '10/10', null, 'runs', '10 of 10', true).met).to.equal(true)
    })
  })

  describe('figure 4: a steady rate', () => {
    it('sends one request every interval on a fixed schedule, not a second\'s requests back to back', async () => {
      const s = await server()
      try {
        const t0 = performance.now()
        const result = await paced(s.url, { intervalMs: 5, count: 60, warmup: 5 })
        expect(result).to.include({ sent: 60, ok: 60, failed: 0 })
        // A stall of the machine can only make requests late (then sent as the previous one returns), never early.
        const early = s.arrivals.filter((t, i) => t < t0 + i * 5 - 1)
        expect(early, 'requests that arrived before their time').to.deep.equal([])
        const gaps = s.arrivals.slice(1).map((t, i) => t - s.arrivals[i]).sort((a, b) => a - b)
        expect(gaps[gaps.length >> 1], 'median gap between arrivals, ms').to.be.within(3.5, 6.5)
      } finally {
        await s.close()
      }
    })

    it('loads 127.0.0.1 only', async () => {
      const refused = await paced('http://localhost:1/', { intervalMs: 5, count: 1 }).then(
        () => undefined,
        (error: Error) => error
      )
      expect(refused?.message).to.match(/only loads 127\.0\.0\.1/)
    })

    it('is not met when the gateway fails, however fast its failures', async () => {
      const figure = async (gatewayStatus: number) => {
        const service = await server(200)
        const gateway = await server(gatewayStatus)
        try {
          const result = await httpRate.run(context({ quick: true }, { http: async () => ({ serviceUrl: service.url, gatewayUrl: gateway.url }) as any }))
          return result.rows[0]
        } finally {
          await Promise.all([service.close(), gateway.close()])
        }
      }
      const failing = await figure(500)
      expect(failing.met).to.equal(false)
      expect(failing.note).to.match(/gateway: 100 failed \(HTTP 500\)/)
      expect((await figure(200)).met, 'the same server on both sides').to.equal(true)
    })
  })

  describe('discovery ports', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ports-'))
    after(() => fs.rmSync(dir, { recursive: true, force: true }))
    const lock = (base: number) => path.join(dir, `feathers-mesh-bench-ports-${base}.lock`)

    it('takes a block no live run holds, and one whose run died', () => {
      fs.writeFileSync(lock(49100), String(process.ppid)) // alive: the process that started the tests
      fs.writeFileSync(lock(49200), '999999999') // no such process
      expect(helpers.lockPortBlock(dir)).to.equal(49200)
      expect(fs.readFileSync(lock(49200), 'utf8')).to.equal(String(process.pid))
      expect(helpers.lockPortBlock(dir), 'the next run').to.equal(49300)
      expect(fs.readFileSync(lock(49100), 'utf8')).to.equal(String(process.ppid))
    })
  })
})
