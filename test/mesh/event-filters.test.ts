import { expect } from 'chai'
import { feathers } from '@feathersjs/feathers'
import { distribution, finalize } from '../../src'
import { Mesh, waitFor } from '../helpers/mesh'
import { quiet, recorder } from '../helpers/events'

describe('dynamic event filters', function () {
  const mesh = new Mesh(__filename)
  const providers: any[] = []
  after(async () => {
    await Promise.all(providers.map((app) => finalize(app)))
    await mesh.close()
  })

  async function provider(options: Record<string, unknown>, register: (app: any) => void) {
    const app: any = feathers()
    app.configure(distribution(mesh.options({ key: `provider-${providers.length}`, ...options })))
    register(app)
    providers.push(app)
    await app.distribution.ready
    return app
  }

  it('an app-level predicate runs on the provider: filtered events never cross the wire', async () => {
    const app = await provider({ distributedEvents: (event: string, data: any) => event === 'created' && data.public === true }, (app) =>
      app.use('notes', { async create(data: any) { return data } })
    )
    const gateway = await mesh.app({ key: 'gateway' })
    const notes = await gateway.distribution.waitForService('notes')
    const events = recorder(notes, ['created'])
    await app.service('notes').create({ public: true, n: 1 })
    await app.service('notes').create({ public: false, n: 2 })
    await app.service('notes').create({ public: true, n: 3 })
    await events.until(() => events.seen.length === 2, 'two public events')
    await quiet()
    expect(events.seen.map((e) => e.data.n)).to.deep.equal([1, 3])
    expect(app.distribution.status().counters.eventsOut).to.equal(2) // what was sent, not only what arrived
  })

  it('a per-service predicate overrides the app-level filter, and a throwing one sends nothing and fails nothing', async () => {
    const app = await provider({ distributedEvents: ['created'] }, (app) => {
      app.use('open', { async create(data: any) { return data } }, { distributedEvents: () => true })
      app.use('broken', { async create(data: any) { return data } }, { distributedEvents: () => { throw new Error('filter bug') } })
    })
    const gateway = await mesh.app({ key: 'gateway-2' })
    const open = await gateway.distribution.waitForService('open')
    const broken = await gateway.distribution.waitForService('broken')
    const seen = recorder(open, ['created'])
    const lost = recorder(broken, ['created'])
    expect(await app.service('broken').create({ ok: 1 })).to.deep.equal({ ok: 1 })
    await app.service('open').create({ ok: 2 })
    await seen.until(() => seen.seen.length === 1, 'the open event')
    await quiet()
    expect(lost.seen).to.have.length(0)
    expect(app.distribution.status().counters.eventsOut).to.equal(1)
  })

  it('remoteEvents as a predicate filters on the consumer', async () => {
    const app = await provider({}, (app) => app.use('tasks', { async create(data: any) { return data } }))
    const gateway = await mesh.app({ key: 'gateway-3', remoteEvents: (_event: string, data: any) => data.urgent === true })
    const tasks = await gateway.distribution.waitForService('tasks')
    const events = recorder(tasks, ['created'])
    await app.service('tasks').create({ urgent: false })
    await app.service('tasks').create({ urgent: true })
    await events.until(() => events.seen.length === 1, 'the urgent event')
    await quiet()
    expect(events.seen.map((e) => e.data)).to.deep.equal([{ urgent: true }])
    await waitFor(() => app.distribution.status().counters.eventsOut === 2, 2000, 'both sent')
  })
})
