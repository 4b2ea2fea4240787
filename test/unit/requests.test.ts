import { expect } from 'chai'
import type { Socket } from 'net'
import type { Links } from '../../src/links'
import { createRequests } from '../../src/requests'
import { testWiring } from '../helpers/wiring'

describe('requests', () => {
  const wiring = testWiring()
  const links = { socketOf: () => undefined, endpoint: () => undefined } as unknown as Links

  it('a reply whose id names a property of Object.prototype settles nothing and throws nothing', async () => {
    const requests = createRequests(wiring, { links, ownEndpoint: () => undefined, flushPublished: () => undefined })
    const socket = {} as Socket
    for (const id of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
      expect(() => requests.onReplyFrame(socket, [null, '{"ok":true,"value":1}', id])).not.to.throw()
    }
    await requests.idle(0)
    requests.close()
  })

  it('a request to a peer without a connection fails at once with not-sent', async () => {
    const requests = createRequests(wiring, { links, ownEndpoint: () => undefined, flushPublished: () => undefined })
    try {
      await requests.request('nobody', { v: 1, type: 'ping', from: 'me', key: 'k', paths: [] } as any, 1000)
      expect.fail('the request should have failed')
    } catch (error: any) {
      expect(error.reason).to.equal('not-sent')
    } finally {
      requests.close()
    }
  })

  it("idle waits for the service calls in flight, not for the mesh's own requests", async () => {
    const socket = { writableCorked: 0, cork() {}, uncork() {}, write: () => true } as unknown as Socket
    const linked = { socketOf: () => socket, endpoint: () => undefined } as unknown as Links
    const requests = createRequests(wiring, { links: linked, ownEndpoint: () => undefined, flushPublished: () => undefined })
    // A ping a frozen peer leaves unanswered, then a call.
    const ping = requests.request('peer', { v: 1, type: 'ping', from: 'me', key: 'k', paths: [] } as any, 60_000).catch((error: any) => error.reason)
    const call = requests.request('peer', { v: 1, type: 'call', from: 'me', key: 'k', path: 'todos', method: 'find', args: [], params: {} } as any, 60_000)
    let idle = false
    const waiting = requests.idle(60_000).then(() => (idle = true))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(idle, 'idle with a call in flight').to.equal(false)
    requests.onReplyFrame(socket, [null, JSON.stringify({ ok: true, value: 'found' }), '2'])
    expect(await call).to.deep.equal({ ok: true, value: 'found' })
    await waiting
    requests.close()
    expect(await ping).to.equal('closed')
  })

  it('a goodbye resolves only once the request its answer names has arrived (or at its deadline)', async () => {
    const ledger = testWiring().ledger
    const local = { ...wiring, ledger }
    const socket = { writableCorked: 0, cork() {}, uncork() {}, write: () => true } as unknown as Socket
    const linked = { socketOf: () => socket, endpoint: () => undefined } as unknown as Links
    const requests = createRequests(local, { links: linked, ownEndpoint: () => undefined, flushPublished: () => undefined })
    const goodbye = { v: 1, type: 'goodbye', from: 'me', key: 'k' } as any
    try {
      let done = false
      const answered = requests.request('peer', goodbye, 10_000).then((reply) => ((done = true), reply))
      requests.onReplyFrame(socket, [null, JSON.stringify({ ok: true, value: null, lastRequest: '5' }), '1'])
      await new Promise((resolve) => setImmediate(resolve))
      expect(done).to.equal(false)
      ledger.received('peer', '5')
      expect(await answered).to.deep.equal({ ok: true, value: null, lastRequest: '5' })
      // The request never comes: the goodbye still resolves, at its deadline.
      const started = Date.now()
      const late = requests.request('peer', goodbye, 100)
      requests.onReplyFrame(socket, [null, JSON.stringify({ ok: true, value: null, lastRequest: '9' }), '2'])
      await late
      expect(Date.now() - started).to.be.at.least(80)
    } finally {
      requests.close()
    }
  })
})

