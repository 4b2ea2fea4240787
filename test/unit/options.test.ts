import { expect } from 'chai'
import { envBoolean, resolveOptions, DEFAULT_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL } from '../../src/options'

describe('options', () => {
  it('fills every default', () => {
    const options = resolveOptions({}, {})
    expect(options.timeout).to.equal(DEFAULT_TIMEOUT)
    expect(options.key).to.equal('default')
    expect(options.heartbeatInterval).to.equal(DEFAULT_HEARTBEAT_INTERVAL)
    expect(options.heartbeatTimeout).to.equal(3 * DEFAULT_HEARTBEAT_INTERVAL)
    expect(options.coteDelay).to.equal(0)
    expect(options.publicationDelay).to.equal(0)
    expect(options.publishEvents).to.equal(true)
    expect(options.distributedEvents).to.deep.equal(['created', 'updated', 'patched', 'removed'])
    expect(options.distributedMethods).to.deep.equal(['find', 'get', 'create', 'update', 'patch', 'remove'])
    expect(options.healthcheckPath).to.equal('/distribution/healthcheck/')
    expect(options.cote.log).to.equal(false)
  })

  it('keeps timeout: 0', () => {
    expect(resolveOptions({ timeout: 0 }, {}).timeout).to.equal(0)
  })

  it('reads COTE_LOG=false as off and true as on', () => {
    for (const off of ['false', 'FALSE', '0', 'no', 'off']) expect(envBoolean({ COTE_LOG: off }, 'COTE_LOG')).to.equal(false)
    for (const on of ['true', '1', 'yes']) expect(envBoolean({ COTE_LOG: on }, 'COTE_LOG')).to.equal(true)
    expect(resolveOptions({}, { COTE_LOG: 'false' }).cote.log).to.equal(false)
    expect(resolveOptions({}, { COTE_LOG: 'true' }).cote.log).to.equal(true)
    expect(resolveOptions({ cote: { log: false } }, { COTE_LOG: 'true' }).cote.log).to.equal(false)
  })

  it('passes COTE_BROADCAST_ADDRESS to cote as broadcast, an explicit option winning', () => {
    expect(resolveOptions({}, { COTE_BROADCAST_ADDRESS: '127.255.255.255' }).cote.broadcast).to.equal('127.255.255.255')
    expect(resolveOptions({ cote: { broadcast: '10.0.255.255' } }, { COTE_BROADCAST_ADDRESS: '127.255.255.255' }).cote.broadcast).to.equal('10.0.255.255')
  })

  it('reads COTE_DELAY, PUBLICATION_DELAY, HEARTBEAT_INTERVAL, BASE_PORT and HIGHEST_PORT', () => {
    const options = resolveOptions({}, { COTE_DELAY: '100', PUBLICATION_DELAY: '200', HEARTBEAT_INTERVAL: '300', BASE_PORT: '40000', HIGHEST_PORT: '40100' })
    expect(options.coteDelay).to.equal(100)
    expect(options.publicationDelay).to.equal(200)
    expect(options.heartbeatInterval).to.equal(300)
    expect(options.basePort).to.equal(40000)
    expect(options.highestPort).to.equal(40100)
    expect(resolveOptions({ coteDelay: 5 }, { COTE_DELAY: '100' }).coteDelay).to.equal(5)
  })

  it('names the variable or option in validation errors', () => {
    expect(() => resolveOptions({}, { COTE_DELAY: 'soon' })).to.throw(/COTE_DELAY/)
    expect(() => resolveOptions({}, { BASE_PORT: '5000', HIGHEST_PORT: '4000' })).to.throw(/HIGHEST_PORT/)
    expect(() => resolveOptions({ timeout: -1 }, {})).to.throw(/option timeout/)
    expect(() => resolveOptions({ timeout: '10' as any }, {})).to.throw(/option timeout/)
    expect(() => resolveOptions({ heartbeatInterval: 0 }, {})).to.throw(/heartbeatInterval/)
    expect(() => resolveOptions({ heartbeatInterval: 1000, heartbeatTimeout: 500 }, {})).to.throw(/heartbeatTimeout/)
    expect(() => resolveOptions({ services: 'todos' as any }, {})).to.throw(/option services/)
    expect(() => resolveOptions({ remoteServices: [1] as any }, {})).to.throw(/option remoteServices/)
    expect(() => resolveOptions({ remoteServicePath: 'x' as any }, {})).to.throw(/remoteServicePath/)
    expect(() => resolveOptions({ distributedEvents: 'created' as any }, {})).to.throw(/distributedEvents/)
    expect(() => resolveOptions({ key: 'a b' }, {})).to.throw(/option key/)
    expect(() => resolveOptions({ healthcheckPath: 3 as any }, {})).to.throw(/healthcheckPath/)
  })

  it('turns path lists into predicates that ignore slashes', () => {
    const options = resolveOptions({ services: ['/a/', 'b'] }, {})
    expect(options.services({ path: 'a', service: {}, options: {} })).to.equal(true)
    expect(options.services({ path: 'c', service: {}, options: {} })).to.equal(false)
  })
})
