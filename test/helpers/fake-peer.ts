/**
 * A hand-written mesh peer for protocol tests: cote components that speak feathers-mesh's frames
 * directly (hello, call, heartbeat), with a protocol version and extra fields of the test's choice.
 */
import { randomUUID } from 'crypto'
import cote from 'cote'
import { coteOptions } from './mesh'

export interface FakePeerOptions {
  port: number
  key: string
  v: number
  extra?: Record<string, unknown>
  services: Array<{ path: string; methods: string[] }>
  answer?: (message: any) => unknown
}

export function fakePeer(options: FakePeerOptions) {
  const uuid = randomUUID()
  const discovery = coteOptions(options.port, { logUnknownEvents: false })
  const mesh = { uuid, key: options.key, version: options.v }
  const responder: any = new (cote as any).Responder({ name: 'fake responder', key: 'feathers-mesh', respondsTo: ['mesh'], mesh }, discovery)
  const publisher: any = new (cote as any).Publisher({ name: 'fake publisher', key: 'feathers-mesh', broadcasts: ['mesh'], mesh }, discovery)
  const services = options.services.map((s) => ({ ...s, key: options.key, events: [], remoteOptions: {} }))
  const envelope = (type: string) => ({ v: options.v, ...options.extra, type, from: uuid, key: options.key })
  const calls: any[] = []
  responder.sock.on('message', (text: unknown, reply: Function) => {
    if (typeof text !== 'string' || typeof reply !== 'function') return
    const message = JSON.parse(text)
    calls.push(message)
    if (message.type === 'hello') reply(null, JSON.stringify({ ok: true, value: { ...envelope('hello'), seq: 1, services } }))
    else if (message.type === 'call') reply(null, JSON.stringify({ ok: true, value: options.answer?.(message) ?? 'fake answer', ...options.extra }))
    else reply(null, JSON.stringify({ ok: true, value: { missing: [] } }))
  })
  const timer = setInterval(() => publisher.publish('mesh', JSON.stringify({ ...envelope('heartbeat'), seq: 1 })), 200)
  return {
    uuid,
    calls,
    close() {
      clearInterval(timer)
      responder.close()
      publisher.close()
    }
  }
}
