/**
 * A hand-written mesh peer for protocol tests: cote components that speak feathers-mesh's frames
 * directly (hello, call, heartbeat), with a protocol version and extra fields of the test's choice.
 */
import { randomUUID } from 'crypto'
import cote from 'cote'
import { startDiscovery } from '../../src/discovery'
import { coteOptions } from './mesh'

export interface FakePeerOptions {
  port: number
  key: string
  v: number
  extra?: Record<string, unknown>
  services: Array<{ path: string; methods: string[] }>
  answer?: (message: any) => unknown
  /** Whether it publishes heartbeats (default true; an app of 1.0–1.1 always does). */
  heartbeats?: boolean
  /** Whether it advertises that it takes hellos for heartbeats, and carries its list number in them (1.2). */
  hellos?: boolean
}

export function fakePeer(options: FakePeerOptions) {
  const uuid = randomUUID()
  const coteDiscovery = coteOptions(options.port, { logUnknownEvents: false })
  const mesh = { uuid, key: options.key, version: options.v }
  const responder: any = new (cote as any).Responder({ name: 'fake responder', key: 'feathers-mesh', respondsTo: ['mesh'], mesh }, coteDiscovery)
  const publisher: any = new (cote as any).Publisher({ name: 'fake publisher', key: 'feathers-mesh', broadcasts: ['mesh'], mesh }, coteDiscovery)
  let services = options.services.map((s) => ({ ...s, key: options.key, events: [], remoteOptions: {} }))
  let seq = 1
  const envelope = (type: string) => ({ v: options.v, ...options.extra, type, from: uuid, key: options.key })
  const calls: any[] = []
  let answersHellos = true
  let hellosToIgnore = 0
  const helloTimes: number[] = []
  responder.sock.on('message', (text: unknown, reply: Function) => {
    if (typeof text !== 'string' || typeof reply !== 'function') return
    const message = JSON.parse(text)
    calls.push(message)
    if (message.type === 'hello') helloTimes.push(performance.now())
    if (message.type === 'hello' && hellosToIgnore > 0) return void hellosToIgnore--
    if (message.type === 'hello' && !answersHellos) return
    if (message.type === 'hello') reply(null, JSON.stringify({ ok: true, value: { ...envelope('hello'), seq, services } }))
    else if (message.type === 'call') reply(null, JSON.stringify({ ok: true, value: options.answer?.(message) ?? 'fake answer', ...options.extra }))
    else reply(null, JSON.stringify({ ok: true, value: { missing: [] } }))
  })
  // Announced the way apps announce themselves: one discovery naming both servers' ports.
  const bound = (sock: any) => new Promise<number>((resolve) => (sock.server?.listening ? resolve(sock.server.address().port) : sock.once('bind', () => resolve(sock.server.address().port))))
  let discovery: { close(): void } | undefined
  let closed = false
  void Promise.all([bound(responder.sock), bound(publisher.sock.sock)]).then(([calls, events]) => {
    if (closed) return
    const hellos = options.hellos ? { seq: () => seq } : undefined
    discovery = startDiscovery({ uuid, key: options.key, version: options.v, calls, events, cote: coteDiscovery, hellos }, { found() {}, lost() {} })
  })
  const timer = setInterval(() => options.heartbeats !== false && publisher.publish('mesh', JSON.stringify({ ...envelope('heartbeat'), seq })), 200)
  return {
    uuid,
    calls,
    /** Changes its list without announcing it (as if the announcement were lost): only its next hello or heartbeat says so. */
    silentlyServe(paths: string[]) {
      services = paths.map((path) => ({ path, methods: ['find'], key: options.key, events: [], remoteOptions: {} }))
      seq++
    },
    /** Stops its discovery hellos (its servers stay up). */
    stopHellos() {
      closed = true
      discovery?.close()
      discovery = undefined
    },
    /** Leaves hellos sent to it unanswered from now on (a hung app). */
    ignoreHellos() {
      answersHellos = false
    },
    /** Leaves the next `count` hellos unanswered, then answers again (a slow start). */
    ignoreNextHellos(count: number) {
      hellosToIgnore = count
    },
    /** When each hello arrived (performance.now()). */
    helloTimes,
    /** Publishes a message of its own making, on the envelope of its announced key unless `fields` say otherwise. */
    publish(fields: Record<string, unknown>) {
      publisher.publish('mesh', JSON.stringify({ ...envelope('event'), ...fields }))
    },
    /** Answers hellos again (a hung app that recovered). */
    answerHellos() {
      answersHellos = true
    },
    close() {
      clearInterval(timer)
      closed = true
      discovery?.close()
      responder.close()
      publisher.close()
    }
  }
}
