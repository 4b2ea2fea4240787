import { expect } from 'chai'
import { resolveOptions } from '../../src/resolve-options'

const redisOf = (options: Record<string, unknown>, env: Record<string, string> = {}) => resolveOptions(options, env).discovery.redis

describe("Redis discovery in cote's forms", () => {
  it('takes cote.redis as cote does: { host, port }, a URL, username, password and db on top', () => {
    expect(redisOf({ cote: { redis: { host: 'redis', port: 6380 } } })).to.equal('redis://redis:6380')
    expect(redisOf({ cote: { redis: { host: 'redis' } } })).to.equal('redis://redis:6379')
    expect(redisOf({ cote: { redis: {} } })).to.equal('redis://localhost:6379')
    expect(redisOf({ cote: { redis: { host: '::1', port: '6390' } } })).to.equal('redis://[::1]:6390')
    expect(redisOf({ cote: { redis: { host: 'redis', password: 'p@ss:%41', db: 2 } } })).to.equal('redis://:p%40ss%3A%2541@redis:6379/2')
    expect(redisOf({ cote: { redis: { url: 'rediss://redis:6390', host: 'ignored', username: 'mesh' } } })).to.equal('rediss://mesh@redis:6390')
    expect(redisOf({ cote: { redis: 'redis://redis:6391' } })).to.equal('redis://redis:6391')
    // cote passes a falsy `redis` on as "none".
    expect(redisOf({ cote: { redis: false } })).to.equal(undefined)
  })

  it("keeps cote's Redis settings out of the cote options, which reach cote's UDP discovery", () => {
    expect(resolveOptions({ cote: { redis: { host: 'redis' }, port: 40000 } }, {}).cote).to.not.have.property('redis')
  })

  it('reads COTE_DISCOVERY_REDIS_HOST, _PORT, _USERNAME, _PASSWORD, _DB, and COTE_DISCOVERY_REDIS=true for localhost:6379', () => {
    expect(redisOf({}, { COTE_DISCOVERY_REDIS_HOST: 'redis' })).to.equal('redis://redis:6379')
    expect(redisOf({}, { COTE_DISCOVERY_REDIS_HOST: 'redis', COTE_DISCOVERY_REDIS_PORT: '6380' })).to.equal('redis://redis:6380')
    expect(redisOf({}, { COTE_DISCOVERY_REDIS_PORT: '6380' })).to.equal('redis://localhost:6380')
    expect(redisOf({}, { COTE_DISCOVERY_REDIS_HOST: 'redis', COTE_DISCOVERY_REDIS_PASSWORD: 'pw', COTE_DISCOVERY_REDIS_DB: '3' })).to.equal('redis://:pw@redis:6379/3')
    expect(redisOf({}, { COTE_DISCOVERY_REDIS_URL: 'redis://redis:6379', COTE_DISCOVERY_REDIS_USERNAME: 'u', COTE_DISCOVERY_REDIS_PASSWORD: 'pw' })).to.equal('redis://u:pw@redis:6379')
    for (const on of ['true', 'TRUE', '1', 'yes']) expect(redisOf({}, { COTE_DISCOVERY_REDIS: on }), on).to.equal('redis://localhost:6379')
    for (const off of ['false', '0', 'no', 'off', '']) expect(redisOf({}, { COTE_DISCOVERY_REDIS: off }), off).to.equal(undefined)
    expect(redisOf({}, { COTE_DISCOVERY_REDIS: 'true', COTE_DISCOVERY_REDIS_HOST: 'redis' })).to.equal('redis://redis:6379')
  })

  it('takes discovery.redis first, then cote.redis, then COTE_DISCOVERY_REDIS_URL, then the host and port variables', () => {
    const env = { COTE_DISCOVERY_REDIS_URL: 'redis://from-url:6379', COTE_DISCOVERY_REDIS_HOST: 'from-host', COTE_DISCOVERY_REDIS: 'true' }
    expect(redisOf({ discovery: { redis: 'redis://explicit:6379' }, cote: { redis: { host: 'from-cote' } } }, env)).to.equal('redis://explicit:6379')
    expect(redisOf({ cote: { redis: { host: 'from-cote' } } }, env)).to.equal('redis://from-cote:6379')
    expect(redisOf({}, env)).to.equal('redis://from-url:6379')
    expect(redisOf({}, { COTE_DISCOVERY_REDIS_HOST: 'from-host', COTE_DISCOVERY_REDIS: 'true' })).to.equal('redis://from-host:6379')
  })

  it('refuses what one Redis URL cannot carry, and bad values, naming the option or the variable', () => {
    expect(() => redisOf({ cote: { redis: { host: 'redis', tls: {} } } })).to.throw(TypeError, /option cote\.redis\.tls is not supported: the mesh takes url, host, port, username, password, db/)
    expect(() => redisOf({ cote: { redis: { sentinels: [] } } })).to.throw(TypeError, /option cote\.redis\.sentinels is not supported/)
    expect(() => redisOf({ cote: { redis: 42 } })).to.throw(TypeError, /option cote\.redis must be an object such as \{ host, port \}, got 42/)
    expect(() => redisOf({ cote: { redis: 'http://redis' } })).to.throw(TypeError, /option cote\.redis must be a URL/)
    expect(() => redisOf({ cote: { redis: { host: 'a b' } } })).to.throw(TypeError, /option cote\.redis\.host must be a host name or an IP address, got "a b"/)
    expect(() => redisOf({ cote: { redis: { port: 70000 } } })).to.throw(TypeError, /option cote\.redis\.port must be a TCP port \(1-65535\), got 70000/)
    expect(() => redisOf({ cote: { redis: { url: 'redis:6379' } } })).to.throw(TypeError, /option cote\.redis\.url must be a URL/)
    expect(() => redisOf({ cote: { redis: { db: -1 } } })).to.throw(TypeError, /option cote\.redis\.db must be a database number/)
    expect(() => redisOf({}, { COTE_DISCOVERY_REDIS_PORT: 'six' })).to.throw(TypeError, /COTE_DISCOVERY_REDIS_PORT must be a TCP port/)
    expect(() => redisOf({}, { COTE_DISCOVERY_REDIS_TLS: 'true' })).to.throw(TypeError, /environment variable COTE_DISCOVERY_REDIS_TLS is not supported/)
    // A mistake in cote.redis shows even when discovery.redis wins.
    expect(() => redisOf({ discovery: { redis: 'redis://x:6379' }, cote: { redis: { tls: true } } })).to.throw(TypeError, /cote\.redis\.tls/)
  })
})
