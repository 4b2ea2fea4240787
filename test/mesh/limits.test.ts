import { expect } from 'chai'
import { FeathersError } from '@feathersjs/errors'
import { finalize } from '../../src'
import { Mesh, waitFor } from '../helpers/mesh'
import { socketsBy } from '../helpers/processes'
import { recorder } from '../helpers/events'


describe('limits', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  const plainMesh = mesh
  const sealedMesh = new Mesh(__filename.replace(/\.js$/, '.sealed.js'))
  after(() => Promise.all([mesh.close(), sealedMesh.close()]))

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
    // Bytes, not characters: 1,000 euro signs are 3,000 bytes of UTF-8.
    const euros = await echo.create({ big: '\u20ac'.repeat(1000) }).then(() => undefined, (error: any) => error)
    expect(euros?.code).to.equal(413)
    expect(euros.message).to.match(/is 3\d{3} bytes, over maxPayload \(2000\)/)
    const roomy = await mesh.app({ key: 'roomy', maxPayload: 0 })
    const echo2 = await roomy.distribution.waitForService('echo')
    const tooBigReply = await echo2.create({ big: 'y'.repeat(5000) }).then(() => undefined, (error: any) => error)
    expect(tooBigReply?.code).to.equal(413)
    expect((await echo2.create({ small: 1 })).data).to.deep.equal({ small: 1 })
    expect(provider.process.exitCode).to.equal(null)
  })

  for (const secret of [undefined, 'limits-test-secret-0123456789']) {
    const sealed = secret ? ' (with a secret)' : ''
    const extra = secret ? { secret } : {}
    // Sealed apps on a discovery port of their own: the others would refuse them, and say so.
    const mesh = secret ? sealedMesh : plainMesh

    it(`maxPayload: a reply more than the consumer's maxPayload lets it take fails with 413, and the calls beside it go on${sealed}`, async () => {
      const provider = await mesh.child(`roomy-provider${sealed}`, { key: `roomy-provider${secret ? '-sealed' : ''}`, services: [`plaintodos:large-notes${secret ? '-sealed' : ''}`, `errors:slow${secret ? '-sealed' : ''}`], options: { ...extra, maxPayload: 0 } })
      // It takes parts of 3 × 1,000 bytes and 64 KB (what older apps and sealing may add): the reply is 100 KB.
      const gateway = await mesh.app({ key: `narrow-gateway${secret ? '-sealed' : ''}`, ...extra, maxPayload: 1000 })
      const notes = await gateway.distribution.waitForService(`large-notes${secret ? '-sealed' : ''}`)
      const slow = await gateway.distribution.waitForService(`slow${secret ? '-sealed' : ''}`)
      // Events are not stored: a small one seen first means the gateway listens when the large one goes.
      const seen: any[] = []
      notes.on('created', (note: any) => seen.push(note))
      await waitFor(async () => {
        await provider.send({ cmd: 'createLocal', path: `large-notes${secret ? '-sealed' : ''}`, data: { title: 'small' } })
        return seen.length > 0
      }, 5000, 'a small created event', 200)
      await provider.send({ cmd: 'createLocal', path: `large-notes${secret ? '-sealed' : ''}`, data: { title: 'z'.repeat(100_000) } })
      const beside = slow.find({ query: { delay: 500 } })
      const refused = await notes.find({}).then(() => undefined, (error: any) => error)
      expect(refused?.code, String(refused)).to.equal(413)
      expect(refused.message).to.match(/the reply is 1\d{5} bytes, more than this app's maxPayload \(1000\) lets it take/)
      // The connection stayed: the call in flight on it, and the next ones, are answered.
      expect(await beside).to.deep.equal({ waited: 500 })
      expect(await slow.find({ query: { delay: 0 } })).to.deep.equal({ waited: 0 })
      // The note's own `created` event was as large: it was skipped unread and dropped, the connection kept.
      await waitFor(() => gateway.distribution.status().counters.dropped['too large'] === 1, 5000, 'the large event to be dropped')
    })

    it(`maxPayload: a call more than the provider's maxPayload lets it take fails with 413 at once, and the calls beside it go on${sealed}`, async () => {
      await mesh.child(`narrow-provider${sealed}`, { key: `narrow-provider${secret ? '-sealed' : ''}`, services: [`echo:narrow-echo${secret ? '-sealed' : ''}`, `errors:narrow-slow${secret ? '-sealed' : ''}`], options: { ...extra, maxPayload: 1000 } })
      const gateway = await mesh.app({ key: `roomy-gateway${secret ? '-sealed' : ''}`, ...extra, maxPayload: 0 })
      const echo = await gateway.distribution.waitForService(`narrow-echo${secret ? '-sealed' : ''}`)
      const slow = await gateway.distribution.waitForService(`narrow-slow${secret ? '-sealed' : ''}`)
      const beside = slow.find({ query: { delay: 500 } })
      const started = Date.now()
      const refused = await echo.create({ big: 'q'.repeat(100_000) }).then(() => undefined, (error: any) => error)
      expect(refused?.code, String(refused)).to.equal(413)
      expect(refused.message).to.match(/the request is 1\d{5} bytes, more than this app's maxPayload \(1000\) lets it take/)
      expect(Date.now() - started, 'refused at once, not at the call timeout').to.be.below(gateway.distribution.options.timeout / 2)
      expect(await beside).to.deep.equal({ waited: 500 })
      expect((await echo.create({ small: 1 })).data).to.deep.equal({ small: 1 })
    })

    it(`maxPayload: a provider that refused a call unread closes at once, not after waiting for it as the caller's last request${sealed}`, async () => {
      const provider = await mesh.app({ key: `narrow-closing${secret ? '-sealed' : ''}`, ...extra, maxPayload: 1000 }, (app) => app.use(`closing-echo${secret ? '-sealed' : ''}`, { async create(data: unknown) { return { data } } }))
      const gateway = await mesh.app({ key: `roomy-closing${secret ? '-sealed' : ''}`, ...extra, maxPayload: 0 })
      const echo = await gateway.distribution.waitForService(`closing-echo${secret ? '-sealed' : ''}`)
      expect((await echo.create({ small: 1 })).data).to.deep.equal({ small: 1 })
      expect((await echo.create({ big: 'q'.repeat(100_000) }).then(() => undefined, (error: any) => error))?.code).to.equal(413)
      // The caller's answer to the goodbye names that call as its last request: it arrived, if unread.
      const started = Date.now()
      await finalize(provider)
      expect(Date.now() - started, 'closed without waiting out the goodbye timeout (1 s)').to.be.below(800)
    })
  }

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
