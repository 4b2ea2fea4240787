import { expect } from 'chai'
import { LATENCY_BUCKETS, percentiles } from '../../src/stats'

describe('latency percentiles of the status API', () => {
  const buckets = () => new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)

  it('gives nothing without calls', () => {
    expect(percentiles(buckets())).to.deep.equal({})
  })

  it('gives bucket bounds in ms', () => {
    const latency = buckets()
    latency[0] = 60 // ≤ 0.5 ms
    latency[4] = 40 // ≤ 10 ms
    expect(percentiles(latency)).to.deep.equal({ p50: 0.5, p99: 10 })
  })

  it('leaves out a percentile past the last bound and says so with `above`, so JSON never carries null', () => {
    const latency = buckets()
    latency[0] = 98
    latency[LATENCY_BUCKETS.length] = 2 // calls over 10 s
    const some = percentiles(latency)
    expect(some).to.deep.equal({ p50: 0.5, above: 10000 })
    const all = buckets()
    all[LATENCY_BUCKETS.length] = 5
    expect(JSON.parse(JSON.stringify(percentiles(all)))).to.deep.equal({ above: 10000 })
  })
})
