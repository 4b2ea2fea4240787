import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'

describe('partition keys', function () {
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('a gateway consuming two keys keeps the other when every app of one dies', async () => {
    const a = await mesh.child('a', { key: 'key-a', services: ['todos:a-todos'] })
    await mesh.child('b', { key: 'key-b', services: ['todos:b-todos'] })
    const gateway = await mesh.app({ key: 'gateway', heartbeatInterval: 200 })
    await gateway.distribution.waitForService('a-todos')
    await gateway.distribution.waitForService('b-todos')
    expect(gateway.service('a-todos').key).to.equal('key-a')
    expect(gateway.service('b-todos').key).to.equal('key-b')
    await a.kill('SIGKILL')
    await waitFor(() => !gateway.services['a-todos'], 5000, 'key-a proxies to go')
    expect(gateway.services['b-todos']).to.exist
    expect(await gateway.service('b-todos').find({})).to.be.an('array')
  })

  it('a silent key expires after the heartbeat timeout, and only that key', async () => {
    const frozen = await mesh.child('frozen', { key: 'key-frozen', services: ['todos:frozen-todos'] })
    const gateway = await mesh.app({ key: 'gateway-2', heartbeatInterval: 200, heartbeatTimeout: 600 })
    await gateway.distribution.waitForService('frozen-todos')
    await gateway.distribution.waitForService('b-todos')
    frozen.process.kill('SIGSTOP')
    try {
      await waitFor(() => !gateway.services['frozen-todos'], 5000, 'the frozen key to expire')
      expect(gateway.services['b-todos']).to.exist
    } finally {
      frozen.process.kill('SIGCONT')
    }
    await gateway.distribution.waitForService('frozen-todos', { timeout: 5000 }) // back after SIGCONT
  })

  it('warns and keeps the first key when two keys claim one path, and gives it to the second once the first is gone', async () => {
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (message: string) => warnings.push(message)
    try {
      const c1 = await mesh.child('c1', { key: 'key-c1', services: ['todos:shared'] })
      const gateway = await mesh.app({ key: 'gateway-3' })
      await gateway.distribution.waitForService('shared')
      await mesh.child('c2', { key: 'key-c2', services: ['todos:shared'] })
      await waitFor(() => warnings.some((w) => w.includes('shared')), 5000, 'the conflict warning')
      // It names the path and both keys, and what to do.
      expect(warnings.find((w) => w.includes('shared'))).to.match(/path shared is already served by shared of key "key-c1"; shared of key "key-c2" is ignored \(use remoteServicePath/)
      expect(gateway.service('shared').key).to.equal('key-c1')
      // Once every app of the first key is gone (and its proxy with it), the second key gets the path.
      const mounted: string[] = []
      gateway.on('service', (event: any) => event.localPath === 'shared' && mounted.push(event.key))
      await c1.send({ cmd: 'exit' }).catch(() => undefined)
      await waitFor(() => gateway.services.shared && (gateway.service('shared') as any).key === 'key-c2', 10000, 'key-c2 to take the path')
      expect(mounted).to.deep.equal(['key-c2'])
      expect(await gateway.service('shared').find({})).to.be.an('array')
    } finally {
      console.warn = warn
    }
  })

  it('rejects an invalid key at configure time, naming it', async () => {
    const { distribution } = require('../../src')
    expect(() => distribution({ key: '' })).to.throw(/option key/)
    expect(() => distribution({ key: 'has space' })).to.throw(/option key/)
  })

  it('several remote paths of one key mapped to one local path: the first keeps it, and each other is named in a warning', async () => {
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (message: string) => warnings.push(message)
    try {
      await mesh.app({ key: 'key-many' }, (app) => ['alpha', 'beta', 'gamma'].forEach((path) => app.use(path, { async find() { return path } })))
      const gateway = await mesh.app({ key: 'gateway-many', remoteServicePath: (descriptor: any) => (descriptor.key === 'key-many' ? 'merged' : descriptor.path) })
      await gateway.distribution.waitForService('merged')
      await waitFor(() => warnings.filter((w) => w.includes('path merged')).length === 2, 5000, 'a warning for each path left out')
      const kept = (gateway.service('merged') as any).path
      const others = ['alpha', 'beta', 'gamma'].filter((path) => path !== kept)
      for (const path of others) expect(warnings.some((w) => w.includes(`path merged is already served by ${kept} of key "key-many"; ${path} of key "key-many" is ignored`)), path).to.equal(true)
    } finally {
      console.warn = warn
    }
  })

  it('a path a local service took back from a proxy goes back to the key that held it, not to the one in conflict', async () => {
    const warn = console.warn
    console.warn = () => undefined
    try {
      const first = await mesh.child('held-1', { key: 'key-held', services: ['todos:held'] })
      const gateway = await mesh.app({ key: 'gateway-held', replicaTimeout: 10_000 })
      const held: any = await gateway.distribution.waitForService('held')
      await mesh.child('other', { key: 'key-other', services: ['todos:held'] })
      await waitFor(() => gateway.distribution.peers().some((peer: any) => peer.key === 'key-other'), 5000, 'the other key')
      // The holder restarts under a new uuid, within replicaTimeout: it keeps the path, now the latest app known.
      await first.kill('SIGTERM')
      const second = await mesh.child('held-2', { key: 'key-held', services: ['todos:held'] })
      await waitFor(() => held.replicas.has(second.uuid), 5000, 'the restarted holder')
      gateway.use('held', { async find() { return 'local' } })
      await gateway.unuse('held')
      const back: any = await gateway.distribution.waitForService('held')
      expect(back.key).to.equal('key-held')
    } finally {
      console.warn = warn
    }
  })
})
