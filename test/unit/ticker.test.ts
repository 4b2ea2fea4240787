import { expect } from 'chai'
import { startTicker } from '../../src/ticker'

/** Resolves once `predicate` holds, polling every few ms (bounded). */
async function until(predicate: () => boolean, timeout: number) {
  const end = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`not within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('ticker', () => {
  it('fires on the multiples of its interval on the wall clock, once per period', async () => {
    const fired: number[] = []
    const ticker = startTicker(200, () => fired.push(Date.now()))
    try {
      await until(() => fired.length >= 4, 4000)
    } finally {
      ticker.stop()
    }
    // Every app's timer of one period fires at the same instant, whenever it started: each firing
    // belongs to the next multiple of 200 ms (a busy machine may run it late, never early by more
    // than the slack), and no multiple is skipped or served twice.
    const boundaries = fired.map((at) => Math.floor((at + 5) / 200))
    for (let i = 1; i < boundaries.length; i++) expect(boundaries[i] - boundaries[i - 1], `fired at ${fired.join(', ')}`).to.equal(1)
  })

  it('keeps firing when its action throws, and stops when told', async () => {
    let calls = 0
    const ticker = startTicker(20, () => {
      calls++
      throw new Error('boom')
    })
    await until(() => calls >= 2, 1000)
    ticker.stop()
    const seen = calls
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(calls).to.equal(seen)
  })
})
