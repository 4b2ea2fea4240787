/**
 * The calling side of the bench, in its own process. BENCH_CHILD JSON:
 *   { mode: 'mesh', options, path?, startup? }  a Feathers app with feathers-mesh, calling a proxy
 *   { mode: 'cote', cote }                       raw cote: a Requester and a Subscriber
 * Commands: wait, create, seq, flight, memory, payload, listen, collect.
 * With `startup: { path, timeout }` it also reports `{ type: 'first-call', ok, atNs }` as soon as
 * its first remote `find` succeeds.
 */
import { EventLog, config, countingGcs, inFlight, nowUs, payloadValue, requireGuard, sequential, serve, sleep } from './common'
import type { Commands } from './common'

requireGuard()

interface Caller {
  /** `get(id)` on the remote todos. */
  get(id: number): Promise<any>
  create(data: unknown): Promise<any>
  /** Calls `listener` with each `created` event of the remote service. */
  onCreated(listener: (data: any) => void): void
  wait(timeout: number): Promise<unknown>
  close(): Promise<void>
}

function meshCaller(): Caller {
  const { feathers } = require('@feathersjs/feathers')
  const { distribution, finalize } = require('../../src')
  const app: any = feathers()
  app.configure(distribution(config.options ?? {}))
  const path = config.path ?? 'todos'
  return {
    get: (id) => app.service(path).get(id),
    create: (data) => app.service(path).create(data),
    onCreated: (listener) => app.service(path).on('created', listener),
    wait: (timeout) => app.distribution.waitForService(path, { timeout }),
    async close() {
      await finalize(app)
      await app.teardown().catch(() => undefined)
    },
    ...{ app }
  }
}

function coteCaller(): Caller {
  const cote = require('cote')
  const discovery = config.cote
  const requester = new cote.Requester({ name: 'bench raw requester', key: 'bench-raw', requests: ['get', 'create'] }, discovery)
  const subscriber = new cote.Subscriber({ name: 'bench raw subscriber', key: 'bench-raw', subscribesTo: ['created'] }, discovery)
  return {
    get: (id) => requester.send({ type: 'get', id }),
    create: (data) => requester.send({ type: 'create', data }),
    onCreated: (listener) => subscriber.on('created', listener),
    // A request waits in cote's queue until a responder is connected: the first answer means connected.
    wait: async () => requester.send({ type: 'get', id: 0 }),
    async close() {
      requester.close()
      subscriber.close()
    }
  }
}

const caller = config.mode === 'cote' ? coteCaller() : meshCaller()
const events = new EventLog()
let listening = false

function gc() {
  const collect = (globalThis as any).gc as (() => void) | undefined
  if (!collect) throw new Error('the consumer needs --expose-gc')
  collect()
  collect()
}

function memory() {
  const usage = process.memoryUsage()
  return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers }
}

const commands: Commands = {
  wait: (m) => caller.wait(m.timeout ?? 10_000).then(() => true),
  create: (m) => caller.create(m.data),
  get: (m) => caller.get(m.record),
  seq: (m) => sequential(() => caller.get(m.record), m),
  flight: async (m) => {
    const warm = m.warmupMs ? await inFlight(() => caller.get(m.record), { concurrency: m.concurrency, maxMs: m.warmupMs }) : undefined
    const { result: run, gc } = await countingGcs(() => inFlight(() => caller.get(m.record), m))
    return { ...run, warmupCalls: warm?.calls ?? 0, gc }
  },

  /** RSS and heap after a warm-up, then after `calls` more calls (both after a full GC). */
  memory: async (m) => {
    const call = () => caller.get(m.record)
    await inFlight(call, { concurrency: m.concurrency, maxCalls: m.warmupCalls, maxMs: m.maxMs })
    gc()
    await sleep(100)
    gc()
    const before = memory()
    const run = await inFlight(call, { concurrency: m.concurrency, maxCalls: m.calls, maxMs: m.maxMs })
    gc()
    await sleep(100)
    gc()
    return { before, after: memory(), run }
  },

  /** For each size: store a value on the provider, then time `get` of it against JSON.stringify+parse of the result. */
  payload: async (m) => {
    const out = []
    for (const size of m.sizes as number[]) {
      const value = payloadValue(size)
      const jsonBytes = JSON.stringify(value).length
      const { id } = await caller.create(value)
      const count = m.counts[String(size)] ?? 5
      const maxMs = m.maxMsEach ?? 4000
      let result: any
      let ok = 0
      let errors = 0
      let firstError: string | undefined
      // One warm-up call each, then `count` calls (bounded in time).
      try {
        result = await caller.get(id)
      } catch (error: any) {
        firstError = error.message
      }
      // Each call is paired with a JSON round trip of the same value, timed right after it, so drift
      // hits both. (No gc() in between: its sweeper threads would take the provider's core.)
      const times: number[] = []
      const json: number[] = []
      const same = () => result ?? value
      JSON.parse(JSON.stringify(same())) // warm-up, as the call had one
      const deadline = performance.now() + maxMs
      for (let i = 0; i < count && performance.now() < deadline; i++) {
        let t = performance.now()
        try {
          result = await caller.get(id)
          if (result?.items?.length === value.items.length) ok++
          else errors++
        } catch (error: any) {
          errors++
          firstError ??= error.message
        }
        times.push(performance.now() - t)
        t = performance.now()
        JSON.parse(JSON.stringify(same()))
        json.push(performance.now() - t)
      }
      const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
      out.push({ size, jsonBytes, calls: times.length, ok, errors, firstError, msPerCall: median(times), jsonMs: median(json), jsonRuns: json.length })
      result = undefined
    }
    return out
  },

  listen: (m) => {
    if (!listening) {
      caller.onCreated((data) => events.record(data))
      listening = true
    }
    events.reset(m.phase)
    return true
  },
  collect: (m) => events.collect(m.expected, m.quietMs, m.maxMs),
  memoryUsage: () => memory(),
  now: () => nowUs()
}

serve(commands, () => caller.close())

async function firstCall(path: string, timeout: number) {
  const deadline = Date.now() + timeout
  const app = (caller as any).app
  while (Date.now() < deadline) {
    try {
      const service = await app.distribution.waitForService(path, { timeout: Math.max(1, deadline - Date.now()) })
      await service.find()
      process.send?.({ type: 'first-call', ok: true, atNs: String(process.hrtime.bigint()) })
      return
    } catch {
      await sleep(5)
    }
  }
  process.send?.({ type: 'first-call', ok: false, atNs: String(process.hrtime.bigint()) })
}

if (config.startup) {
  process.send?.({ type: 'ready', pid: process.pid })
  void firstCall(config.startup.path, config.startup.timeout)
} else if (config.mode === 'cote') {
  process.send?.({ type: 'ready', pid: process.pid })
} else {
  ;(caller as any).app.distribution.ready.then(() => process.send?.({ type: 'ready', pid: process.pid, uuid: (caller as any).app.distribution.uuid }))
}
