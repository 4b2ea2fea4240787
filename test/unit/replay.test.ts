import { expect } from 'chai'
import { REPLAY_WINDOW, ReplayWindow } from '../../src/replay'

describe('replay window', () => {
  it('accepts each counter once, in any order within the window', () => {
    const window = new ReplayWindow()
    for (const n of [1, 2, 5, 4, 3, 100, 50, 99]) expect(window.accept(n), `${n}`).to.equal(true)
    for (const n of [1, 2, 3, 4, 5, 50, 99, 100]) expect(window.accept(n), `${n} again`).to.equal(false)
  })

  it('refuses counters REPLAY_WINDOW or more behind the newest, and forgets slots as it moves', () => {
    const window = new ReplayWindow()
    expect(window.accept(10_000)).to.equal(true)
    expect(window.accept(10_000 - REPLAY_WINDOW)).to.equal(false)
    expect(window.accept(10_000 - REPLAY_WINDOW + 1)).to.equal(true)
    // The slot of 10_001 held 10_001 - REPLAY_WINDOW (just accepted): moving on frees it.
    expect(window.accept(10_001)).to.equal(true)
    expect(window.accept(10_001)).to.equal(false)
    // A jump past the whole window clears it.
    expect(window.accept(10_001 + 3 * REPLAY_WINDOW)).to.equal(true)
    expect(window.accept(10_002 + 2 * REPLAY_WINDOW)).to.equal(true)
  })

  it('refuses counters that are not positive integers', () => {
    const window = new ReplayWindow()
    for (const n of [0, -1, 1.5, NaN, Infinity, 2 ** 60]) expect(window.accept(n), `${n}`).to.equal(false)
  })

  it('works with counters beyond 2^32', () => {
    const window = new ReplayWindow()
    const base = 2 ** 40
    expect(window.accept(base)).to.equal(true)
    expect(window.accept(base + 1)).to.equal(true)
    expect(window.accept(base - 1)).to.equal(true)
    expect(window.accept(base)).to.equal(false)
  })
})
