/**
 * The serving side of the bench where test/fixtures/app.js does not fit. BENCH_CHILD JSON:
 *   { mode: 'mesh', options }  a Feathers app with feathers-mesh exposing `todos` (the fixture's
 *                              TodoService) and emitting its `created` events on command
 *   { mode: 'cote', cote }     raw cote: a Responder answering `get`/`create` from the same kind of
 *                              store, and a Publisher
 * Commands: emitPaced, emitBurst, probe.
 */
import { config, nowUs, requireGuard, serve, sleep } from './common'

requireGuard()

interface Emitter {
  emit(data: unknown): void
  close(): Promise<void>
}

function meshEmitter(): Emitter {
  const { feathers } = require('@feathersjs/feathers')
  const { distribution, finalize } = require('../../src')
  const { TodoService } = require('../../test/fixtures/services')
  const app: any = feathers()
  app.configure(distribution(config.options ?? {}))
  app.use('todos', new TodoService(config.name))
  const service = app.service('todos')
  return {
    emit: (data) => service.emit('created', data),
    async close() {
      await finalize(app)
      await app.teardown().catch(() => undefined)
    },
    ...{ app }
  }
}

function coteEmitter(): Emitter {
  const cote = require('cote')
  const discovery = config.cote
  const responder = new cote.Responder({ name: 'bench raw responder', key: 'bench-raw', respondsTo: ['get', 'create'] }, discovery)
  const publisher = new cote.Publisher({ name: 'bench raw publisher', key: 'bench-raw', broadcasts: ['created'] }, discovery)
  // The same work as the fixture's TodoService: a Map lookup and a copy with the replica's name.
  const store = new Map<number, any>()
  let nextId = 1
  responder.on('get', async (request: any) => {
    const item = store.get(Number(request.id))
    return item ? { ...item, replica: config.name } : { id: request.id, missing: true }
  })
  responder.on('create', async (request: any) => {
    const item = { ...request.data, id: nextId++ }
    store.set(item.id, item)
    return item
  })
  return {
    emit: (data) => publisher.publish('created', data),
    async close() {
      responder.close()
      publisher.close()
    }
  }
}

const emitter = config.mode === 'cote' ? coteEmitter() : meshEmitter()

/** A small record, as a service event would carry. */
const record = (phase: string, seq: number) => ({ id: seq, title: 'Buy milk', done: false, phase, seq, t: nowUs() })

serve(
  {
    /** `n` events, one every `intervalMs` (latency under light load). */
    emitPaced: async (m) => {
      const deadline = Date.now() + (m.maxMs ?? 5000)
      let seq = 0
      for (; seq < m.n && Date.now() < deadline; seq++) {
        emitter.emit(record(m.phase, seq))
        await sleep(m.intervalMs ?? 1)
      }
      return { emitted: seq }
    },
    /** `n` events as fast as possible, `batch` per turn of the event loop. */
    emitBurst: async (m) => {
      const startUs = nowUs()
      const deadline = Date.now() + (m.maxMs ?? 10_000)
      let seq = 0
      while (seq < m.n && Date.now() < deadline) {
        const end = Math.min(m.n, seq + (m.batch ?? 1000))
        for (; seq < end; seq++) emitter.emit(record(m.phase, seq))
        await new Promise((resolve) => setImmediate(resolve))
      }
      return { emitted: seq, startUs, endUs: nowUs() }
    },
    probe: (m) => {
      emitter.emit(record(m.phase, m.seq ?? 0))
      return true
    }
  },
  () => emitter.close()
)

if (config.mode === 'cote') process.send?.({ type: 'ready', pid: process.pid })
else (emitter as any).app.distribution.ready.then(() => process.send?.({ type: 'ready', pid: process.pid, uuid: (emitter as any).app.distribution.uuid }))
