import { expect } from 'chai'
import { Mesh, waitFor } from '../helpers/mesh'

/** A proxy is mounted only once the provider's publisher holds our subscriber link: its first event is never lost. */
describe('admission: the first event after a proxy appears', function () {
  this.timeout(120000)
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('reaches every gateway that has just mounted the proxy, 15 gateways in a row', async () => {
    const provider = await mesh.child('provider', { key: 'first-events', services: ['plaintodos:first-notes'] })
    const missed: number[] = []
    for (let i = 0; i < 15; i++) {
      const gateway = await mesh.app({ key: `first-events-gateway-${i}` })
      const notes = await gateway.distribution.waitForService('first-notes')
      const seen: any[] = []
      notes.on('created', (note: any) => seen.push(note))
      await provider.send({ cmd: 'createLocal', path: 'first-notes', data: { title: `note ${i}` } })
      await waitFor(() => seen.length > 0, 3000, `the first event on gateway ${i}`).catch(() => missed.push(i))
      await gateway.distribution.close()
    }
    expect(missed, 'gateways that missed the first event').to.deep.equal([])
  })
})
