import { expect } from 'chai'
import net from 'net'
import { Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp } from '../helpers/mesh'
import { load } from '../helpers/load'

const SOAK_MS = Number(process.env.SOAK_MS ?? 40000) // bounded: CI runs it for 40 s
const MAX_CYCLES = 100

function udpSockets() {
  return process.getActiveResourcesInfo().filter((name) => name === 'UDPWrap').length
}

/**
 * The TCP sockets of this test's mesh in this process, as `local→remote (whose port)`: those into
 * the gateway's ports (`ports` names them) or to a replica's, and any connection being opened. Not
 * a socket that another test file left closing in this process.
 */
function meshSockets(ports: Map<number, string>): string[] {
  const handles: unknown[] = (process as any)._getActiveHandles()
  return handles
    .filter((handle): handle is net.Socket => handle instanceof net.Socket)
    .map((socket) => ({ socket, owner: ports.get(socket.localPort ?? 0) ?? ports.get(socket.remotePort ?? 0) ?? (socket.connecting ? 'being opened' : undefined) }))
    .filter(({ owner }) => owner !== undefined)
    .map(({ socket, owner }) => `${socket.localPort}→${socket.remotePort} (${owner})`)
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
    const portsOf = new Map<number, string>() // a replica's responder and publisher ports → its name
    const start = async (name = `replica-${generation++}`) => {
      const child = await mesh.child(name, { key: 'soak', services: ['todos'], replica: name })
      const { responder, publisher } = await child.send({ cmd: 'ports' })
      portsOf.set(responder, `${name} responder`).set(publisher, `${name} publisher`)
      return child
    }
    const replicas: ChildApp[] = await Promise.all([start(), start(), start()])
    const gateway = await mesh.app({ key: 'gateway', heartbeatInterval: 250 })
    const todos = await gateway.distribution.waitForService('todos')
    portsOf.set(gateway.distribution.ports.responder, 'into the gateway\'s responder').set(gateway.distribution.ports.publisher, 'into the gateway\'s publisher')
    await waitFor(() => todos.replicas.size === 3, 5000, 'three replicas')
    const warm = load(() => todos.find({}), { concurrency: 4, maxCalls: 500 })
    await warm.stop().then(() => undefined)
    const baseline = { udp: udpSockets(), tcp: meshSockets(portsOf), heap: heap() }

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
    const back = () => meshSockets(portsOf).length <= baseline.tcp.length && udpSockets() <= baseline.udp
    await waitFor(back, 10000, `the mesh's sockets back to ${baseline.tcp.length} TCP and ${baseline.udp} UDP`).catch((error) => {
      throw new Error(`${error.message}: ${udpSockets()} UDP now; TCP before: ${baseline.tcp.join(', ')}; TCP now: ${meshSockets(portsOf).join(', ')}; replicas now: ${replicas.map((r) => r.name).join(', ')}`)
    })
    const grown = heap() - baseline.heap
    expect(grown, 'heap growth (bytes)').to.be.below(30 * 1024 * 1024)
  })
})
