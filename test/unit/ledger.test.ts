import { expect } from 'chai'
import { RequestLedger } from '../../src/ledger'

/** Whether a promise has settled by the end of the current turn of the event loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(() => (done = true))
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe('request ledger', () => {
  it('remembers the last request sent to each peer', () => {
    const ledger = new RequestLedger()
    expect(ledger.lastSentTo('a')).to.equal(undefined)
    ledger.sent('a', '3')
    ledger.sent('b', '4')
    ledger.sent('a', '5')
    expect(ledger.lastSentTo('a')).to.equal('5')
    expect(ledger.lastSentTo('b')).to.equal('4')
  })

  it('a wait for a request ends when that request, or a later one, arrives from that peer', async () => {
    const ledger = new RequestLedger()
    const waiting = ledger.whenReceived('a', '7', 10_000)
    ledger.received('b', '9') // another peer
    ledger.received('a', '6')
    expect(await settled(waiting)).to.equal(false)
    ledger.received('a', '8')
    expect(await settled(waiting)).to.equal(true)
    // Already arrived: no wait at all.
    expect(await settled(ledger.whenReceived('a', '8', 10_000))).to.equal(true)
  })

  it('a wait ends at its deadline and never rejects; closing our own connection to the peer does not end it', async () => {
    const ledger = new RequestLedger()
    const started = Date.now()
    await ledger.whenReceived('a', '3', 50)
    expect(Date.now() - started).to.be.at.least(40)
    // The peer's requests come on its own connection, which may still carry the one awaited.
    ledger.sent('b', '12')
    const waiting = ledger.whenReceived('b', '3', 10_000)
    ledger.forgetSent('b')
    expect(ledger.lastSentTo('b')).to.equal(undefined)
    expect(await settled(waiting)).to.equal(false)
    ledger.received('b', '3')
    expect(await settled(waiting)).to.equal(true)
    // Nothing to wait for: an id that is no number, or no time left.
    expect(await settled(ledger.whenReceived('c', 'x', 10_000))).to.equal(true)
    expect(await settled(ledger.whenReceived('c', '3', 0))).to.equal(true)
  })

  it('stays bounded: a flood of senders keeps at most 10,000 of them', () => {
    const ledger = new RequestLedger()
    for (let i = 0; i < 10_050; i++) ledger.sent(`peer-${i}`, String(i))
    expect(ledger.lastSentTo('peer-0')).to.equal(undefined)
    expect(ledger.lastSentTo('peer-10049')).to.equal('10049')
  })
})
