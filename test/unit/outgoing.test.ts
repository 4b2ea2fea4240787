import { expect } from 'chai'
import net from 'net'
import type { AddressInfo, Server, Socket } from 'net'
import { release, write } from '../../src/outgoing'
import { createAnswers } from '../../src/answers'
import type { Links } from '../../src/links'
import { testWiring } from '../helpers/wiring'

/** A client socket connected to a loopback server that records what it receives. */
async function connectedPair(): Promise<{ client: Socket; received: () => string; close: () => Promise<void> }> {
  let data = ''
  const accepted: Socket[] = []
  const server: Server = net.createServer((socket) => {
    accepted.push(socket)
    socket.on('data', (chunk) => (data += chunk.toString()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1')
  await new Promise((resolve) => client.once('connect', resolve))
  return {
    client,
    received: () => data,
    close: async () => {
      client.destroy()
      for (const socket of accepted) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

const until = async (predicate: () => boolean, ms = 2000) => {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('outgoing writes', () => {
  it('a gathered write is held until the end of the turn of the event loop', async () => {
    const pair = await connectedPair()
    try {
      write(pair.client, Buffer.from('a'), undefined, true)
      write(pair.client, Buffer.from('b'), undefined, true)
      expect(pair.client.writableCorked).to.equal(1)
      await new Promise((resolve) => setImmediate(resolve))
      expect(pair.client.writableCorked).to.equal(0)
      await until(() => pair.received() === 'ab')
    } finally {
      await pair.close()
    }
  })

  it('release writes what is held at once, and the held uncork then finds nothing to do', async () => {
    const pair = await connectedPair()
    try {
      write(pair.client, Buffer.from('x'), undefined, true)
      expect(pair.client.writableLength).to.equal(1) // held in the stream
      release(pair.client)
      expect(pair.client.writableCorked).to.equal(0)
      // Handed to the system now, not at the end of the turn (a loopback socket takes it at once).
      expect(pair.client.writableLength).to.equal(0)
      await until(() => pair.received() === 'x')
      // The uncork scheduled by write runs later on an uncorked socket: nothing is lost or sent twice.
      await new Promise((resolve) => setImmediate(resolve))
      write(pair.client, Buffer.from('y'))
      await until(() => pair.received() === 'xy')
      expect(pair.client.writableCorked).to.equal(0)
    } finally {
      await pair.close()
    }
  })

  it('release does nothing to a socket that holds nothing, or to no socket', async () => {
    const pair = await connectedPair()
    try {
      release(pair.client)
      release(undefined)
      expect(pair.client.writableCorked).to.equal(0)
      write(pair.client, Buffer.from('z'))
      await until(() => pair.received() === 'z')
    } finally {
      await pair.close()
    }
  })

  it('answering a goodbye first writes the calls held for the leaving peer', async () => {
    // One connection carries our calls to the peer (held: other calls were in flight), the other
    // the peer's goodbye to us; the answer says no call will follow, so the held calls go first.
    const calls = await connectedPair()
    const answers = await connectedPair()
    try {
      const wiring = testWiring()
      const links = { socketOf: (peer: string) => (peer === 'leaving' ? calls.client : undefined), endpoint: () => undefined } as unknown as Links
      let heldWhenAnswered: number | undefined
      const reply = answers.client.write.bind(answers.client)
      answers.client.write = ((...args: Parameters<Socket['write']>) => {
        heldWhenAnswered = calls.client.writableLength
        return reply(...args)
      }) as Socket['write']
      const onRequestFrame = createAnswers(wiring, { links, source: {}, flushPublished: () => undefined, onRequest: async () => ({ ok: true, value: null }) })
      write(calls.client, Buffer.from('call'), undefined, true)
      onRequestFrame(answers.client, [JSON.stringify({ v: 1, type: 'goodbye', from: 'leaving', key: 'k' }), '7'])
      await until(() => heldWhenAnswered !== undefined)
      expect(heldWhenAnswered).to.equal(0)
      await until(() => calls.received() === 'call' && answers.received().includes('"ok":true'))
    } finally {
      await calls.close()
      await answers.close()
    }
  })

  it('the answer to a goodbye names the last request sent to the leaving peer', async () => {
    const answers = await connectedPair()
    try {
      const wiring = testWiring()
      wiring.ledger.sent('leaving', '41')
      wiring.ledger.sent('staying', '42')
      const links = { socketOf: () => undefined, endpoint: () => undefined } as unknown as Links
      const onRequestFrame = createAnswers(wiring, { links, source: {}, flushPublished: () => undefined, onRequest: async () => ({ ok: true, value: null }) })
      onRequestFrame(answers.client, [JSON.stringify({ v: 1, type: 'goodbye', from: 'leaving', key: 'k' }), '7'])
      await until(() => answers.received().includes('"lastRequest":"41"'))
      // Other requests are answered as they are; the ledger notes that they arrived.
      onRequestFrame(answers.client, [JSON.stringify({ v: 1, type: 'ping', from: 'staying', key: 'k', paths: [] }), '8'])
      await until(() => answers.received().split('"ok":true').length === 3)
      expect(answers.received().match(/lastRequest/g)).to.have.length(1)
      let arrived = false
      void wiring.ledger.whenReceived('staying', '8', 10_000).then(() => (arrived = true))
      await new Promise((resolve) => setImmediate(resolve))
      expect(arrived).to.equal(true)
    } finally {
      await answers.close()
    }
  })
})

