import { expect } from 'chai'
import { FeathersError } from '@feathersjs/errors'
import { Mesh, waitFor } from '../helpers/mesh'
import { socketsBy } from '../helpers/processes'
import { recorder } from '../helpers/events'


describe('limits', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('maxPayload: a call over the limit is refused with 413 before it is sent, a reply over it too', async () => {
    const provider = await mesh.child('provider', { key: 'limits-app', services: ['echo'], options: { maxPayload: 4000 } })
    const gateway = await mesh.app({ key: 'gateway', maxPayload: 2000 })
    const echo = await gateway.distribution.waitForService('echo')
    const big = 'x'.repeat(3000)
    const refused = await echo.create({ big }).then(() => undefined, (error: any) => error)
    expect(refused?.code).to.equal(413)
    expect(refused.name).to.equal('PayloadTooLarge')
    expect(refused).to.be.instanceOf(FeathersError)
    expect(refused.message).to.match(/maxPayload/)
    const roomy = await mesh.app({ key: 'roomy', maxPayload: 0 })
    const echo2 = await roomy.distribution.waitForService('echo')
    const tooBigReply = await echo2.create({ big: 'y'.repeat(5000) }).then(() => undefined, (error: any) => error)
    expect(tooBigReply?.code).to.equal(413)
    expect((await echo2.create({ small: 1 })).data).to.deep.equal({ small: 1 })
    expect(provider.process.exitCode).to.equal(null)
  })

  it('maxPayload: an event over the limit is not forwarded; the events around it are, in order', async () => {
    const provider = await mesh.child('event-limits', { key: 'event-limits-app', services: ['plaintodos:notes'], options: { maxPayload: 2000 } })
    const gateway = await mesh.app({ key: 'event-gateway' })
    const notes = await gateway.distribution.waitForService('notes')
    const events = recorder(notes, ['created'])
    for (const title of ['before', 'x'.repeat(3000), 'after']) await provider.send({ cmd: 'createLocal', path: 'notes', data: { title } })
    await events.until(() => events.seen.some((entry) => entry.data.title === 'after'), 'the event after the large one')
    events.stop()
    expect(events.seen.map((entry) => entry.data.title)).to.deep.equal(['before', 'after'])
    // The large record exists on the provider (a find of it would be over the limit too): only its event stayed home.
    const stored = await provider.send({ cmd: 'call', path: 'notes', method: 'find', args: [{}] })
    expect(stored.map((note: any) => note.title.length)).to.deep.equal([6, 3000, 5])
  })

  it('maxBacklog: a subscriber that stops reading does not grow the publisher, and recovers', async () => {
    const provider = await mesh.app({ key: 'publisher', maxBacklog: 64 * 1024 }, (app) => {
      app.use('chatter', { async create(data: any) { return data } })
    })
    const stalled = await mesh.child('stalled', { key: 'stalled', services: [] })
    await waitFor(async () => (await stalled.send({ cmd: 'services' })).includes('chatter'), 5000, 'the consumer to mount chatter')
    stalled.process.kill('SIGSTOP')
    try {
      const payload = { text: 'z'.repeat(4096) }
      let peak = 0
      for (let i = 0; i < 2000; i++) {
        await provider.service('chatter').create(payload)
        for (const socket of socketsBy('local', provider.distribution.ports.publisher)) peak = Math.max(peak, socket.writableLength)
      }
      expect(peak).to.be.above(0)
      expect(peak).to.be.at.most(64 * 1024 + 8 * 1024) // the backlog limit plus one frame
    } finally {
      stalled.process.kill('SIGCONT')
    }
    expect(await stalled.send({ cmd: 'services' })).to.include('chatter')
  })
})
