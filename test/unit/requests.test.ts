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

  it('a request to a peer without a connection fails at once with peer-gone', async () => {
    const requests = createRequests(wiring, { links, ownEndpoint: () => undefined, flushPublished: () => undefined })
    try {
      await requests.request('nobody', { v: 1, type: 'ping', from: 'me', key: 'k', paths: [] } as any, 1000)
      expect.fail('the request should have failed')
    } catch (error: any) {
      expect(error.reason).to.equal('peer-gone')
    } finally {
      requests.close()
    }
  })
})
