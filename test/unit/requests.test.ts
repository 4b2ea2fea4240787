import { expect } from 'chai'
import type { Socket } from 'net'
import { Drops } from '../../src/drops'
import { createGate } from '../../src/gate'
import type { Links } from '../../src/links'
import { createRequests } from '../../src/requests'
import type { Wiring } from '../../src/wiring'

describe('requests', () => {
  const drops = new Drops('test')
  const wiring: Wiring = {
    uuid: 'me',
    short: 'me',
    options: { maxPayload: 0, maxBacklog: 1024 * 1024 },
    drops,
    gate: createGate(undefined, 'me', drops, {}, () => undefined),
    streams: true,
    sha256: true,
    tagFor: () => 'sha256'
  }
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
