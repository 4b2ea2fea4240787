import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp } from '../helpers/mesh'
import { load } from '../helpers/load'

const SOAK_MS = Number(process.env.SOAK_MS ?? 40000) // bounded: CI runs it for 40 s
const MAX_CYCLES = 100

function sockets() {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap' || name === 'UDPWrap').length
}

function heap() {
  ;(global as any).gc?.()
  return process.memoryUsage().heapUsed
}

describe('soak', function () {
  this.timeout(SOAK_MS + 60000)
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('kills and restarts replicas in a loop under load: no read fails, no call hangs, handles and memory come back', async () => {
    let generation = 0
    const start = (name = `replica-${generation++}`) => mesh.child(name, { key: 'soak', services: ['todos'], replica: name })
    const replicas: ChildApp[] = await Promise.all([start(), start(), start()])
    const gateway = await mesh.app({ key: 'gateway', heartbeatInterval: 250 })
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(() => todos.replicas.size === 3, 5000, 'three replicas')
    const warm = load(() => todos.find({}), { concurrency: 4, maxCalls: 500 })
    await warm.stop().then(() => undefined)
    const baseline = { sockets: sockets(), heap: heap() }

    const reads = load(() => todos.find({ query: { $delay: 2 } }), { concurrency: 4, maxMs: SOAK_MS + 20000, maxCalls: 1_000_000 })
    const deadline = Date.now() + SOAK_MS
    let cycles = 0
    while (Date.now() < deadline && cycles < MAX_CYCLES) {
      const victim = replicas.shift()!
      await victim.kill(cycles % 2 === 0 ? 'SIGKILL' : 'SIGTERM')
      const fresh = await start()
      replicas.push(fresh)
      await waitFor(() => todos.replicas.has(fresh.uuid), 10000, `replica ${fresh.name} to join`)
      await waitFor(() => todos.replicas.size === 3, 10000, 'the victim to be dropped')
      cycles++
    }
    const records = await reads.stop()
    expect(cycles).to.be.at.least(3)
    expect(records.length).to.be.above(100)
    expect(reads.failures().map((r) => r.error?.message).slice(0, 5)).to.deep.equal([])
    const slowest = Math.max(...records.map((r) => r.ended - r.started))
    expect(slowest, 'slowest call (ms)').to.be.below(2000)
    await waitFor(() => sockets() <= baseline.sockets, 10000, `sockets back to ${baseline.sockets} (now ${sockets()})`)
    const grown = heap() - baseline.heap
    expect(grown, 'heap growth (bytes)').to.be.below(30 * 1024 * 1024)
  })
})
