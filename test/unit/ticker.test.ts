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
    for (let i = 1; i < boundaries.length; i++) expect(boundaries[i], `fired at ${fired.join(', ')}`).to.be.greaterThan(boundaries[i - 1])
    expect(boundaries[boundaries.length - 1] - boundaries[0], `fired at ${fired.join(', ')}`).to.be.at.most(boundaries.length) // at most one skipped
  })

  it('serves each multiple once when the wall clock steps back or forward', async () => {
    const realNow = Date.now
    let shift = 0
    Date.now = () => realNow() + shift
    const fired: number[] = []
    const ticker = startTicker(100, () => {
      fired.push(Date.now())
      // After the second firing, the wall clock steps back by 40 ms; after the fourth, forward by 30 ms.
      if (fired.length === 2) shift -= 40
      if (fired.length === 4) shift += 30
    })
    try {
      await until(() => fired.length >= 6, 3000)
    } finally {
      ticker.stop()
      Date.now = realNow
    }
    const multiples = fired.map((at) => Math.round(at / 100))
    for (let i = 1; i < multiples.length; i++) expect(multiples[i], `fired at ${fired.join(', ')}`).to.be.greaterThan(multiples[i - 1])
  })

  it('waits in steps for an interval longer than a Node timer takes', async () => {
    let calls = 0
    const ticker = startTicker(2 ** 33, () => calls++)
    await new Promise((resolve) => setTimeout(resolve, 50))
    ticker.stop()
    expect(calls).to.equal(0)
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
