import { expect } from 'chai'
import * as errors from '@feathersjs/errors'
import { feathers } from '@feathersjs/feathers'
import { MemoryService } from '@feathersjs/memory'
import { Mesh, TRANSPORTS, waitFor, meshOptions } from '../helpers/mesh'
import { distribution, finalize } from '../../src'

describe('behaviours the README documents: configure, the handle, close, values, proxies', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('the goodbye waits for each peer within 1 s, or gracePeriod if shorter -- gracePeriod 0', async () => {
    const child = await mesh.child('frozen', { key: 'frozen-app', services: ['plaintodos:frozen'] })
    const timings: Record<string, number> = {}
    try {
      for (const gracePeriod of [200, 0]) {
        const app = await mesh.app({ key: `leaver-${gracePeriod}`, gracePeriod })
        await waitFor(() => app.distribution.peers().some((p: any) => p.uuid === child.uuid), 5000, 'the child')
        child.process.kill('SIGSTOP')
        const started = Date.now()
        await finalize(app)
        timings[gracePeriod] = Date.now() - started
        child.process.kill('SIGCONT')
      }
    } finally {
      child.process.kill('SIGCONT')
    }
    expect(timings[200]).to.be.below(700)
    expect(timings[0], 'gracePeriod 0 should not wait longer than gracePeriod 200').to.be.below(700)
  })

  it('healthcheck() works without Express (a bare Feathers app)', async () => {
    await mesh.app({ key: 'bare-provider' }, (p) => p.use('things', { async find() { return [] } }))
    const app: any = feathers()
    app.configure(distribution(mesh.options({ key: 'bare-health' })))
    try {
      await app.distribution.ready
      await app.distribution.waitForService('things')
      const result = await app.distribution.healthcheck('bare-provider')
      expect(result.status).to.equal(200)
    } finally {
      await finalize(app)
    }
  })

  it('a waitForService still pending when the mesh closes rejects with Unavailable (503)', async () => {
    const app = await mesh.app({ key: 'waiting' })
    const pending = app.distribution.waitForService('never-here', { timeout: 10000 }).then(() => undefined, (e: any) => e)
    await finalize(app)
    const error = await pending
    expect([error?.name, error?.code]).to.deep.equal(['Unavailable', 503])
  })

  it('a wrong distributedEvents in the own options of a service registered before configure throws from app.configure', () => {
    const app: any = feathers()
    app.use('early', new MemoryService({ distributedEvents: 'created' } as any))
    expect(() => app.configure(distribution(meshOptions(mesh.port, { key: 'bad-early' })))).to.throw(TypeError, /distributedEvents/)
    expect(app.distribution).to.equal(undefined)
  })

  it('publishers registered on a proxy move to the new mount when it is widened', async () => {
    const provide = (methods: string[]) => (app: any) => app.use('widgets', Object.fromEntries(methods.map((m) => [m, async () => m])), { methods, distributedMethods: methods })
    const v1 = await mesh.app({ key: 'widgets' }, provide(['find']))
    const gateway = await mesh.app({ key: 'gateway-pub' }, (app) => app.publish(() => app.channel('everyone')))
    const widgets: any = await gateway.distribution.waitForService('widgets')
    widgets.publish(() => gateway.channel('only-admins'))
    const admin = { who: 'admin' }
    const anyone = { who: 'anyone' }
    gateway.channel('only-admins').join(admin)
    gateway.channel('everyone').join(admin, anyone)
    const heard: string[][] = []
    gateway.on('publish', (_event: string, channel: any) => heard.push(channel.connections.map((c: any) => c.who)))
    v1.service('widgets').emit('created', { n: 0 })
    await waitFor(() => heard.length >= 1, 5000, 'the event before widening')
    expect(heard).to.deep.equal([['admin']])
    heard.length = 0
    await mesh.app({ key: 'widgets' }, provide(['find', 'spin']))
    await waitFor(() => (gateway.service('widgets') as any).methods.includes('spin'), 5000, 'the widening')
    // Before the widening check too: the publisher works on the first mount.
    v1.service('widgets').emit('created', { n: 1 })
    await waitFor(() => heard.length >= 1, 5000, 'the event to be published')
    expect(heard).to.deep.equal([['admin']])
  })

  it('Map, Set, ArrayBuffer, DataView arrive as {}, -0 as 0, symbol-named and undefined fields dropped; a symbol value fails with BadRequest', async () => {
    await mesh.app({ key: 'echoer' }, (app) => app.use('echo-values', { async create(data: any) { return data } }))
    const gateway = await mesh.app({ key: 'gateway-values' })
    const echo: any = await gateway.distribution.waitForService('echo-values')
    const back = await echo.create({ map: new Map([[1, 2]]), set: new Set([1]), ab: new ArrayBuffer(4), dv: new DataView(new ArrayBuffer(4)), zero: -0, u: undefined, [Symbol('s')]: 1 })
    expect(back).to.deep.equal({ map: {}, set: {}, ab: {}, dv: {}, zero: 0 })
    expect(Object.is(back.zero, 0)).to.equal(true)
    const error = await echo.create({ s: Symbol('x') }).then(() => undefined, (e: any) => e)
    expect(error).to.be.instanceOf(errors.BadRequest)
  })

  it('a plain Error (TypeError) arrives as an Error with the same name and message', async () => {
    await mesh.app({ key: 'thrower' }, (app) => app.use('throws', { async find() { throw new TypeError('bad type') } }))
    const gateway = await mesh.app({ key: 'gateway-throws' })
    const svc: any = await gateway.distribution.waitForService('throws')
    const error = await svc.find({}).then(() => undefined, (e: any) => e)
    expect([error?.constructor, error?.name, error?.message]).to.deep.equal([Error, 'TypeError', 'bad type'])
  })

  it('a configure that threw keeps nothing of the mesh: statusPath taken by a service registered before configure', async () => {
    const express = require('@feathersjs/express').default
    const app: any = express(feathers())
    app.use('distribution/status', { async find() { return 'mine' } })
    app.use('todos', new MemoryService())
    expect(() => app.configure(distribution(meshOptions(mesh.port, { key: 'collide' })))).to.throw(Error, /option statusPath \("\/distribution\/status"\) is the path of a service already registered/)
    expect(app.distribution).to.equal(undefined)
    // None of the failed mesh's event listeners stays on the services registered before configure.
    expect(app.service('todos').listenerCount('created'), 'listeners left by the failed configure').to.equal(0)
  })

  for (const transport of TRANSPORTS) {
    it(`a service registered at statusPath after configure is refused, naming the option, as before configure (${transport})`, async () => {
      for (const statusPath of ['/distribution/status', '/admin/mesh/status']) {
        let error: Error | undefined
        const app = await mesh.app({ key: `late-status-${transport}`, statusPath }, (app) => {
          try {
            app.use(statusPath, { async find() { return ['mine'] } })
          } catch (caught) {
            error = caught as Error
          }
        }, transport)
        expect(error?.message).to.equal(`feathers-mesh: ${statusPath} is the mesh's status path (option statusPath): register the service elsewhere, or set statusPath to another path or false`)
        // The status service is still the mesh's.
        expect((await app.service(statusPath.slice(1)).find()).app.uuid).to.equal(app.distribution.uuid)
      }
    })
  }

  it('a configure that threw keeps nothing of the mesh: a services predicate that throws on the second early service', () => {
    const app: any = feathers()
    app.use('first', new MemoryService())
    app.use('second', new MemoryService())
    const services = (info: any) => {
      if (info.path === 'second') throw new Error('predicate failed')
      return true
    }
    expect(() => app.configure(distribution(meshOptions(mesh.port, { key: 'predicate-second', services })))).to.throw(/predicate failed/)
    expect(app.service('first').listenerCount('created'), 'listeners left on the first service').to.equal(0)
  })

  it('remoteServicePath is called once per replica and path', async () => {
    const calls: string[] = []
    await mesh.app({ key: 'rsp-provider' }, (app) => app.use('rsp', { async find() { return 1 } }))
    const gateway = await mesh.app({ key: 'rsp-gateway', remoteServices: (d: any) => d.key === 'rsp-provider', remoteServicePath: (d: any) => (calls.push(d.path), `mapped/${d.path}`) })
    await gateway.distribution.waitForService('mapped/rsp')
    const second = await mesh.app({ key: 'rsp-provider' }, (app) => app.use('rsp', { async find() { return 2 } }))
    await waitFor(() => (gateway.service('mapped/rsp') as any).replicas.replicas.size === 2, 5000, 'two replicas')
    second.use('other', { async find() { return 3 } })
    await gateway.distribution.waitForService('mapped/other')
    expect(calls.sort()).to.deep.equal(['other', 'rsp', 'rsp'])
  })
})
