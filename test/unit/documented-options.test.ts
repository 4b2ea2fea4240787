import { expect } from 'chai'
import { resolveOptions } from '../../src/resolve-options'

describe('options as the README documents them', () => {
  it('the defaults of every option in the table', () => {
    const o = resolveOptions({}, {})
    expect(o.maxBacklog, 'maxBacklog 16 MiB').to.equal(16 * 1024 * 1024)
    expect(o.maxPayload, 'maxPayload 64 MiB').to.equal(64 * 1024 * 1024)
    expect(o.maxQueue).to.equal(1000)
    expect(o.replicaTimeout).to.equal(3000)
    expect(o.gracePeriod).to.equal(5000)
    expect(o.healthcheckTimeout).to.equal(2000)
    expect(o.maxRetries).to.equal(2)
    expect(o.idempotentMethods).to.deep.equal(['find', 'get'])
    expect(o.remoteParams).to.deep.equal(['query', 'provider', 'route', 'user', 'authentication'])
    expect(o.statusPath).to.equal('/distribution/status')
    expect(o.statusPage).to.equal(false)
    expect(o.metricsPath).to.equal('/distribution/metrics')
    expect(o.forwardHeaders).to.deep.equal([])
    expect(o.sync).to.equal(false)
    expect(o.cote).to.deep.equal({ log: false })
  })

  it("options are read from the object's own properties (inherited ones ignored)", () => {
    const inherited = Object.create({ timeout: 5, bogus: true })
    expect(resolveOptions(inherited, {}).timeout).to.equal(20000)
  })

  it('a numeric variable must hold a non-negative integer written in digits (hex, exponent, sign and blank forms throw)', () => {
    const read = (value: string) => {
      try {
        return resolveOptions({}, { COTE_DELAY: value }).coteDelay
      } catch (error: any) {
        return error.message
      }
    }
    for (const bad of ['0x10', '1e3', '  ', '+5', '-1', '1.5']) expect(read(bad)).to.equal(`feathers-mesh: environment variable COTE_DELAY must be a non-negative integer, got "${bad}"`)
    expect([read('250'), read(' 250 '), read('')]).to.deep.equal([250, 250, 0]) // empty: the default
  })

  it('an unknown COTE_DISCOVERY_REDIS_* variable is ignored when discovery.redis or cote.redis is set', () => {
    const env = { COTE_DISCOVERY_REDIS_TLS: 'true' }
    expect(() => resolveOptions({ discovery: { redis: 'redis://r:6379' } }, env)).not.to.throw()
    expect(() => resolveOptions({ cote: { redis: { host: 'r' } } }, env)).not.to.throw()
    expect(() => resolveOptions({}, env)).to.throw(TypeError)
  })
})
