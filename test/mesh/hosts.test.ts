import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp } from '../helpers/mesh'
import { Hosts } from '../helpers/netns'
import { RedisServer } from '../helpers/redis'

/**
 * Three hosts built from network namespaces (test/helpers/netns.ts): a gateway on the first, a
 * todos replica on each of the others, with broadcast discovery on their subnet and then with Redis.
 */
describe('several hosts (network namespaces)', function () {
  this.timeout(90000)
  const mesh = new Mesh(__filename)
  let hosts: Hosts

  before(() => {
    hosts = Hosts.create(3)
  })
  after(() => hosts?.destroy())
  afterEach(() => mesh.close())

  // The guard in each child lets it reach the test subnet, and nothing else beyond loopback.
  const timing = { heartbeatInterval: 200, heartbeatTimeout: 1000 }

  async function threeHosts(discovery: (host: number) => { options: Record<string, unknown>; env?: Record<string, string> }) {
    const on = (host: number) => ({ netns: hosts.names[host], env: { FEATHERS_MESH_GUARD_ALLOW: `${hosts.subnet}.`, ...discovery(host).env }, options: { ...timing, ...discovery(host).options } })
    const [gateway, one, two] = await Promise.all([
      mesh.child('gateway', { key: 'gateway', ...on(0) }),
      mesh.child('one', { key: 'todos-app', services: ['todos'], replica: 'one', ...on(1) }),
      mesh.child('two', { key: 'todos-app', services: ['todos'], replica: 'two', ...on(2) })
    ])
    await waitFor(async () => (await replicasOf(gateway)).length === 2, 15000, 'both replicas on the gateway')
    return { gateway, one, two }
  }

  async function replicasOf(gateway: ChildApp): Promise<string[]> {
    const status = await gateway.send({ cmd: 'status' })
    return status.proxies.find((proxy: any) => proxy.path === 'todos')?.replicas.map((replica: any) => replica.uuid) ?? []
  }

  /** Replicas that answered `count` reads (each replica's records carry its name; both hold some). */
  async function answeredBy(gateway: ChildApp, count: number) {
    const names = new Set<string>()
    for (let i = 0; i < count; i++) for (const todo of await gateway.send({ cmd: 'call', path: 'todos', method: 'find', args: [{}] })) names.add(todo.replica)
    return [...names].sort()
  }

  async function acrossHosts({ gateway, one, two }: { gateway: ChildApp; one: ChildApp; two: ChildApp }) {
    // Each replica is reached on its own host's address.
    const peers = await gateway.send({ cmd: 'peerList' })
    expect(peers.find((peer: any) => peer.uuid === one.uuid)?.host).to.equal(hosts.address(1))
    expect(peers.find((peer: any) => peer.uuid === two.uuid)?.host).to.equal(hosts.address(2))

    // Calls reach both hosts (replicas are used in turn), and events come back across them.
    await gateway.send({ cmd: 'recordEvents', path: 'todos' })
    for (let i = 0; i < 6; i++) await gateway.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: `t${i}` }] })
    expect(await answeredBy(gateway, 4)).to.deep.equal(['one', 'two'])
    await waitFor(async () => (await gateway.send({ cmd: 'recordedEvents' })).length === 6, 5000, 'six created events')

    // A pulled cable: the replica behind it is dropped within the heartbeat timeout and reads fail over.
    hosts.cut(2)
    const cutAt = Date.now()
    try {
      await waitFor(async () => (await replicasOf(gateway)).join() === one.uuid, 1000 + 3000, 'the cut replica to be dropped')
      expect(Date.now() - cutAt).to.be.below(timing.heartbeatTimeout + 3000)
      for (let i = 0; i < 4; i++) {
        const found = await gateway.send({ cmd: 'call', path: 'todos', method: 'find', args: [{}] })
        expect(found.every((todo: any) => todo.replica === 'one')).to.equal(true)
      }
    } finally {
      hosts.restore(2)
    }
    await waitFor(async () => (await replicasOf(gateway)).length === 2, 15000, 'the replica to come back with its link')
    expect(await answeredBy(gateway, 4)).to.deep.equal(['one', 'two'])
  }

  it('broadcast discovery on the hosts subnet: calls and events across hosts, a cut host fails over and comes back', async () => {
    const port = mesh.port
    await acrossHosts(await threeHosts(() => ({ options: { cote: { broadcast: hosts.broadcast, port } } })))
  })

  it('Redis discovery (Redis on the gateway host): the same, each app advertising the address it reaches Redis from', async () => {
    // Off loopback Redis wants a password (protected mode): the URL carries it.
    const redis = await RedisServer.start({ netns: hosts.names[0], host: hosts.address(0), password: `p${process.pid}` })
    try {
      // A UDP port of its own per app: nothing can be found by broadcast.
      await acrossHosts(await threeHosts((host) => ({ options: { cote: { port: mesh.port + 1 + host } }, env: { COTE_DISCOVERY_REDIS_URL: redis.url } })))
    } finally {
      await mesh.close()
      await redis.stop()
    }
  })
})
