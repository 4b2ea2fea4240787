import { expect } from 'chai'
import { execFileSync } from 'child_process'
import { Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp } from '../helpers/mesh'
import { recorder } from '../helpers/events'
import { EchoService } from '../fixtures/services'

/**
 * One mesh whose apps run on different Node versions, as in the middle of an upgrade. The other
 * versions' `node` binaries come in FEATHERS_MESH_TEST_NODES (comma-separated): `npm run test:nodes`
 * fetches Node 22 and 24, sets it and runs this file (`npm test` does not: it is no `*.test.ts`).
 */
const NODES = (process.env.FEATHERS_MESH_TEST_NODES ?? '').split(',').filter(Boolean)
if (NODES.length === 0) throw new Error('FEATHERS_MESH_TEST_NODES names no node binary: run `npm run test:nodes`')

for (const secret of [undefined, 'node-versions-secret-0123456789']) {
  describe(`a mesh across Node versions, ${secret ? 'with' : 'without'} a secret`, function () {
    const mesh = new Mesh(__filename)
    const sealing = secret ? { secret } : {}
    let gateway: any
    const apps: Array<{ child: ChildApp; node: string; index: number }> = []

    before(async () => {
      // The gateway, on this process's Node, also serves a service the other versions call.
      gateway = await mesh.app({ key: 'gateway', ...sealing }, (app) => app.use('echo-gateway', new EchoService()))
      for (const [index, node] of NODES.entries()) {
        const child = await mesh.child(`node-${index}`, { key: `app-${index}`, services: [`todos:todos-${index}`, `chat:chat-${index}`], node, options: sealing })
        apps.push({ child, node, index })
      }
      await Promise.all(apps.flatMap(({ index }) => [`todos-${index}`, `chat-${index}`].map((path) => gateway.distribution.waitForService(path))))
      // Each app sees the gateway's service and every other app's.
      for (const { child } of apps) {
        const expected = ['echo-gateway', ...apps.map(({ index }) => `todos-${index}`)]
        await waitFor(async () => {
          const seen: string[] = await child.send({ cmd: 'services' })
          return expected.every((path) => seen.includes(path))
        }, 10_000, `${child.name} to see every service`)
      }
    })
    after(async () => {
      apps.splice(0)
      await mesh.close()
    })

    it('runs each app on the Node version it was given', async () => {
      for (const { child, node } of apps) expect(await child.send({ cmd: 'nodeVersion' })).to.equal(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim())
    })

    it('serves the gateway every method of every version, Dates and Buffers intact', async () => {
      for (const { index } of apps) {
        const todos = gateway.service(`todos-${index}`)
        const created = await todos.create({ title: `on ${index}` })
        expect(await todos.get(created.id)).to.include({ title: `on ${index}`, replica: `node-${index}` })
        expect(await todos.patch(created.id, { done: true })).to.include({ done: true })
        expect(await todos.find({ query: { title: `on ${index}` } })).to.have.length(1)
        expect(await todos.remove(created.id)).to.include({ id: created.id })
        const message = await gateway.service(`chat-${index}`).create({ text: 'é✓ across versions' })
        expect(message.text).to.equal('é✓ across versions')
        expect(message.at).to.be.an.instanceOf(Date)
        expect(Buffer.isBuffer(message.raw) && message.raw.toString()).to.equal('hi')
      }
    })

    it("brings every version's events to the gateway", async () => {
      for (const { child, index } of apps) {
        const events = recorder(gateway.service(`chat-${index}`), ['created'])
        try {
          await child.send({ cmd: 'call', path: `chat-${index}`, method: 'create', args: [{ text: `event of ${index}` }] })
          await events.until(() => events.seen.length > 0, `the created event of node-${index}`)
          expect(events.seen[0].data).to.include({ text: `event of ${index}` })
          expect(events.seen[0].data.at).to.be.an.instanceOf(Date)
        } finally {
          events.stop()
        }
      }
    })

    it("lets every version call this one's services and each other's", async () => {
      for (const { child, index } of apps) {
        const echoed = await child.send({ cmd: 'call', path: 'echo-gateway', method: 'create', args: [{ from: index }] })
        expect(echoed).to.include({ fromRemote: true })
        expect(echoed.data).to.deep.equal({ from: index })
        for (const other of apps) {
          const created = await child.send({ cmd: 'call', path: `todos-${other.index}`, method: 'create', args: [{ title: `from ${index}` }] })
          expect(created).to.include({ title: `from ${index}` })
          const read = await child.send({ cmd: 'call', path: `todos-${other.index}`, method: 'get', args: [created.id] })
          expect(read).to.include({ title: `from ${index}`, replica: `node-${other.index}` })
        }
      }
    })

    it('opened and decoded every frame that crossed versions', async () => {
      const counts = [gateway.distribution.drops(), ...(await Promise.all(apps.map(({ child }) => child.send({ cmd: 'drops' }))))]
      // A frame of another version that did not open (or decode) would be a drop, counted by its reason.
      for (const dropped of counts) expect(dropped).to.deep.equal({})
    })
  })
}
