/**
 * The process sets several figures share: a provider and a consumer over feathers-mesh, the same
 * over raw cote, and a gateway in front of a service for the HTTP figures.
 */
import { PORTS, fastCote, spawnBenchChild, spawnFixture, waitUntil } from './helpers'
import type { Child } from './helpers'

/** The small record every call figure reads: the fixture's todo, as `get` returns it. */
export const SMALL_RECORD = { title: 'Buy milk', done: false }

export interface CallPair {
  provider: Child
  consumer: Child
  /** Id of the small record on the provider. */
  id: number
  close(): Promise<void>
}

/** Node options a figure may add to its children (profiling). */
export interface PairOptions {
  consumerArgv?: string[]
  providerArgv?: string[]
  /** Mesh options for both sides (a secret, metrics off...), for the cost figures. */
  mesh?: Record<string, unknown>
  /** Environment variables of both sides. */
  env?: Record<string, string>
}

/** Both sides must read the same record before anything is measured. */
async function checkRecord(consumer: Child, id: number) {
  const item = await consumer.send({ cmd: 'get', record: id })
  if (item?.id !== id || item?.title !== SMALL_RECORD.title) throw new Error(`${consumer.name} read ${JSON.stringify(item)} instead of the record`)
}

async function closeBoth(pair: { provider: Child; consumer: Child }) {
  await Promise.all([pair.consumer.stop(), pair.provider.stop()])
}

/** Starts the consumer next to a started provider, seeds the small record, and cleans up on failure. */
async function assemble(provider: Child, startConsumer: () => Promise<Child>, wait: Record<string, unknown>): Promise<CallPair> {
  try {
    const consumer = await startConsumer()
    const pair = { provider, consumer, id: 0, close: () => closeBoth(pair) }
    try {
      await consumer.send({ cmd: 'wait', ...wait }, 12_000)
      pair.id = (await consumer.send({ cmd: 'create', data: SMALL_RECORD })).id
      await checkRecord(consumer, pair.id)
      return pair
    } catch (error) {
      await pair.close()
      throw error
    }
  } catch (error) {
    await provider.stop()
    throw error
  }
}

/** test/fixtures/app.js serving `todos`, and a bench consumer calling its proxy. */
export async function meshCallPair(port = PORTS.calls, options: PairOptions = {}): Promise<CallPair> {
  const cote = fastCote(port)
  const provider = await spawnFixture('mesh-provider', { key: 'todos', services: ['todos'], options: { cote, ...options.mesh } }, { execArgv: options.providerArgv })
  const consumerArgv = ['--expose-gc', ...(options.consumerArgv ?? [])]
  return assemble(provider, () => spawnBenchChild('consumer', 'mesh-consumer', { mode: 'mesh', options: { key: 'consumer', cote, ...options.mesh } }, { execArgv: consumerArgv }), { timeout: 10_000 })
}

/**
 * bench/children/provider.js (the fixture's TodoService, emitting `created` on command) and a bench
 * consumer: one pair for calls and events alike (figure 10).
 */
export async function meshServicePair(port: number, options: PairOptions = {}): Promise<CallPair> {
  const cote = fastCote(port)
  const provider = await spawnBenchChild('provider', 'mesh-emitter', { mode: 'mesh', options: { key: 'todos', cote, ...options.mesh } }, { execArgv: options.providerArgv, env: options.env })
  const consumerArgv = ['--expose-gc', ...(options.consumerArgv ?? [])]
  return assemble(provider, () => spawnBenchChild('consumer', 'mesh-listener', { mode: 'mesh', options: { key: 'consumer', cote, ...options.mesh } }, { execArgv: consumerArgv, env: options.env }), { timeout: 10_000 })
}

/** Raw cote: a Responder (and Publisher) process and a Requester (and Subscriber) process. */
export async function rawCallPair(port = PORTS.rawCalls, options: PairOptions = {}): Promise<CallPair> {
  const cote = fastCote(port)
  const provider = await spawnBenchChild('provider', 'raw-provider', { mode: 'cote', cote }, { execArgv: options.providerArgv })
  const consumerArgv = ['--expose-gc', ...(options.consumerArgv ?? [])]
  return assemble(provider, () => spawnBenchChild('consumer', 'raw-consumer', { mode: 'cote', cote }, { execArgv: consumerArgv }), {})
}

export interface HttpPair {
  service: Child
  gateway: Child
  /** GET /todos/:id on the service's own REST. */
  serviceUrl: string
  /** The same request on the gateway, through its feathers-mesh proxy. */
  gatewayUrl: string
  close(): Promise<void>
}

/** A todos service (fixture) and a gateway (fixture, express + proxy), the record created. */
export async function httpPair(port = PORTS.http): Promise<HttpPair> {
  const options = { cote: fastCote(port) }
  const service = await spawnFixture('http-service', { key: 'todos', services: ['todos'], options })
  const close = async () => {
    await Promise.all([service.stop(), gateway?.stop()])
  }
  let gateway: Child | undefined
  try {
    gateway = await spawnFixture('http-gateway', { key: 'gateway', services: [], options })
    const gw = gateway
    await waitUntil(async () => ((await gw.send({ cmd: 'services' }, 2000)) as string[]).includes('todos'), 10_000, 'the gateway proxy of todos')
    const { id } = await service.send({ cmd: 'call', path: 'todos', method: 'create', args: [SMALL_RECORD] })
    const serviceUrl = `http://127.0.0.1:${service.info.httpPort}/todos/${id}`
    const gatewayUrl = `http://127.0.0.1:${gateway.info.httpPort}/todos/${id}`
    for (const url of [serviceUrl, gatewayUrl]) {
      const response = await fetch(url)
      if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`)
      await response.json()
    }
    return { service, gateway, serviceUrl, gatewayUrl, close }
  } catch (error) {
    await close()
    throw error
  }
}
