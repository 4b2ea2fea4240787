import { expect } from 'chai'
import { MAX_MS } from '../../src/checks'
import { defaultWait } from '../../src/cli-args'

describe('the CLI discovery wait', () => {
  it('is 2 s, or 2.5 hello intervals when longer, and never past the longest Node timer', () => {
    expect(defaultWait(undefined)).to.equal(2000)
    expect(defaultWait(200)).to.equal(2000)
    expect(defaultWait(1200)).to.equal(3000)
    // COTE_HELLO_INTERVAL is read unbounded: 2.5 times it would overflow a timer, which then fires after 1 ms.
    expect(defaultWait(900_000_000)).to.equal(MAX_MS)
  })
})
