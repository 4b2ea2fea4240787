import { expect } from 'chai'
import { ReplicaSet } from '../../src/replica-set'
import { RemoteService } from '../../src/remote-service'
import { Stats } from '../../src/stats'
import { TransportError } from '../../src/requests'

const descriptor = (methods = ['find', 'create']) => ({ path: 'orders', key: 'orders-app', methods, events: [] as string[], remoteOptions: {} })

describe('replica set', () => {
  it('a waiting call wakes for a replica that joins, not for one that announces itself again', async () => {
    const replicas = new ReplicaSet(10)
    replicas.add('one', descriptor())
    let woke: boolean | undefined
    void replicas.waitForReplica(5000).then((value) => (woke = value))
    replicas.add('one', descriptor(['find', 'create', 'patch']))
    await new Promise((resolve) => setImmediate(resolve))
    expect(woke, 'woken by a replica it has tried already').to.equal(undefined)
    replicas.add('two', descriptor())
    await new Promise((resolve) => setImmediate(resolve))
    expect(woke).to.equal(true)
  })
})

describe('remote service: a call that could not be sent', () => {
  it('goes to another replica, whatever the method: nothing reached the first', async () => {
    const replicas = new ReplicaSet(10)
    replicas.add('closing', descriptor())
    replicas.add('up', descriptor())
    const asked: string[] = []
    const transport = {
      request: async (peer: string) => {
        asked.push(peer)
        if (peer === 'closing') throw new TransportError('no open connection to the replica', 'not-sent')
        return { ok: true, value: { served: peer } }
      }
    }
    const context = { transport, uuid: 'me', key: 'gateway', timeout: 1000, forwardHeaders: [], idempotentMethods: ['find'], maxRetries: 1, replicaTimeout: 0, stats: new Stats() }
    const proxy: any = new RemoteService(context as any, descriptor(), replicas)
    // Round robin starts at the first replica: the closing one.
    expect(await proxy.create({ n: 1 })).to.deep.equal({ served: 'up' })
    expect(asked).to.deep.equal(['closing', 'up'])
  })

  it('goes back to a replica it could not send to once that replica joins again (its link back)', async () => {
    const replicas = new ReplicaSet(10)
    replicas.add('only', descriptor())
    let attempts = 0
    const transport = {
      request: async () => {
        if (attempts++ > 0) return { ok: true, value: 'served' }
        // Its connection was closing: dropped, then back moments later, under the same uuid.
        setTimeout(() => {
          replicas.delete('only')
          replicas.add('only', descriptor())
        }, 20)
        throw new TransportError('no open connection to the replica', 'not-sent')
      }
    }
    const context = { transport, uuid: 'me', key: 'gateway', timeout: 5000, forwardHeaders: [], idempotentMethods: ['find'], maxRetries: 1, replicaTimeout: 3000, stats: new Stats() }
    const proxy: any = new RemoteService(context as any, descriptor(), replicas)
    expect(await proxy.create({})).to.equal('served')
    expect(attempts).to.equal(2)
  })

  it('a call that was not sent does not use up maxRetries', async () => {
    const replicas = new ReplicaSet(10)
    for (const uuid of ['closing', 'dying', 'up']) replicas.add(uuid, descriptor())
    const transport = {
      request: async (peer: string) => {
        if (peer === 'closing') throw new TransportError('no open connection to the replica', 'not-sent')
        if (peer === 'dying') throw new TransportError('its connection closed', 'peer-gone')
        return { ok: true, value: peer }
      }
    }
    const stats = new Stats()
    const context = { transport, uuid: 'me', key: 'gateway', timeout: 1000, forwardHeaders: [], idempotentMethods: ['find'], maxRetries: 1, replicaTimeout: 0, stats }
    const proxy: any = new RemoteService(context as any, descriptor(), replicas)
    expect(await proxy.find({})).to.equal('up')
  })

  it("counts the provider service's errors as error and its mesh's refusals as refused", async () => {
    const replicas = new ReplicaSet(10)
    replicas.add('one', descriptor())
    const notFound = { name: 'NotFound', className: 'not-found', code: 404, message: 'Service orders is not exposed by this app' }
    let reply: any
    const transport = { request: async () => reply }
    const stats = new Stats()
    const context = { transport, uuid: 'me', key: 'gateway', timeout: 1000, forwardHeaders: [], idempotentMethods: ['find'], maxRetries: 1, replicaTimeout: 0, stats }
    const proxy: any = new RemoteService(context as any, descriptor(), replicas)
    for (const mesh of [false, true]) {
      reply = { ok: false, error: { ...notFound, ...(mesh ? { mesh: true } : {}) } }
      expect((await proxy.find({}).catch((e: any) => e)).name).to.equal('NotFound')
    }
    expect(stats.method('orders', 'find').outcomes).to.include({ error: 1, refused: 1 })
  })
})
