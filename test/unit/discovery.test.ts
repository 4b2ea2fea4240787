import { expect } from 'chai'
import { advertisement, DEFAULT_HELLO_INTERVAL, discoveryTimings, endpointOf } from '../../src/discovery'
import { backoff } from '../../src/backoff'

describe('discovery settings', () => {
  it('announces every 5 s by default, checking at that period and forgetting after three of them', () => {
    expect(DEFAULT_HELLO_INTERVAL).to.equal(5000)
    expect(discoveryTimings({})).to.deep.equal({ helloInterval: 5000, checkInterval: 5000, nodeTimeout: 15000, masterTimeout: 15000 })
  })

  it('derives the other timings from a hello interval, and keeps them consistent for node-discover', () => {
    expect(discoveryTimings({ helloInterval: 200 })).to.deep.equal({ helloInterval: 200, checkInterval: 200, nodeTimeout: 600, masterTimeout: 600 })
    // A node timeout shorter than the check interval is raised to it (node-discover would throw).
    expect(discoveryTimings({ checkInterval: 20000, nodeTimeout: 1000 })).to.include({ checkInterval: 20000, nodeTimeout: 20000, masterTimeout: 20000 })
  })

  it('reads a peer only from a complete advertisement, preferring the host it names', () => {
    const ad = { key: '$$feathers-mesh', mesh: { uuid: 'u', key: 'k', version: 1, calls: 4000, events: 4001 } }
    expect(endpointOf({ address: '10.0.0.2', advertisement: ad }, '$$feathers-mesh')).to.deep.equal({ uuid: 'u', key: 'k', version: 1, host: '10.0.0.2', calls: 4000, events: 4001, hellos: false, streams: false, streamTag: undefined })
    // Since 1.2 an app may take hellos for heartbeats; anything but `true` means it does not.
    expect(endpointOf({ address: '10.0.0.2', advertisement: { ...ad, mesh: { ...ad.mesh, hellos: true } } }, '$$feathers-mesh')?.hellos).to.equal(true)
    expect(endpointOf({ address: '10.0.0.2', advertisement: { ...ad, mesh: { ...ad.mesh, hellos: 'yes' } } }, '$$feathers-mesh')?.hellos).to.equal(false)
    expect(endpointOf({ address: '0.0.0.0', advertisement: { ...ad, mesh: { ...ad.mesh, host: 'todos-1' } } }, '$$feathers-mesh')?.host).to.equal('todos-1')
    expect(endpointOf({ address: '0.0.0.0', advertisement: ad }, '$$feathers-mesh')).to.equal(undefined) // Redis: no source address
    expect(endpointOf({ address: '10.0.0.2', advertisement: { ...ad, mesh: { ...ad.mesh, calls: 0 } } }, '$$feathers-mesh')).to.equal(undefined)
    expect(endpointOf({ address: '10.0.0.2', advertisement: ad }, 'other$$feathers-mesh')).to.equal(undefined)
    expect(endpointOf({}, '$$feathers-mesh')).to.equal(undefined)
  })

  it('advertises hellos for heartbeats with the current list number, read at each hello', () => {
    let seq = 1
    const settings = { uuid: 'u', key: 'k', version: 1, calls: 4000, events: 4001 }
    const ad = advertisement({ ...settings, hellos: { seq: () => seq } })
    expect(JSON.parse(JSON.stringify(ad)).mesh).to.include({ hellos: true, seq: 1 })
    seq = 7
    expect(JSON.parse(JSON.stringify(ad)).mesh.seq).to.equal(7)
    expect(advertisement(settings).mesh).not.to.have.property('hellos')
  })

  it('advertises that the app opens stream-sealed frames (1.3), and reads it from peers', () => {
    const settings = { uuid: 'u', key: 'k', version: 1, calls: 4000, events: 4001 }
    expect(advertisement({ ...settings, streams: true }).mesh).to.include({ streams: true })
    expect(advertisement(settings).mesh).not.to.have.property('streams')
    const node = (mesh: object) => ({ address: '10.0.0.2', advertisement: { key: '$$feathers-mesh', mesh: { ...settings, ...mesh } } })
    expect(endpointOf(node({ streams: true }), '$$feathers-mesh')?.streams).to.equal(true)
    expect(endpointOf(node({ streams: 1 }), '$$feathers-mesh')?.streams).to.equal(false)
    expect(endpointOf(node({}), '$$feathers-mesh')?.streams).to.equal(false)
  })

  it('advertises SHA-256 stream tags (1.4) beside streams, and reads them only with streams', () => {
    const settings = { uuid: 'u', key: 'k', version: 1, calls: 4000, events: 4001 }
    expect(advertisement({ ...settings, streams: true, streamTag: 'sha256' }).mesh).to.include({ streams: true, streamTag: 'sha256' })
    expect(advertisement({ ...settings, streams: true, streamTag: 'sha3-256' }).mesh).not.to.have.property('streamTag')
    // 1.5 keeps `streamTag: 'sha256'`, which apps of 1.4 read, and adds a flag they do not.
    expect(advertisement({ ...settings, streams: true, streamTag: 'poly1305' }).mesh).to.include({ streams: true, streamTag: 'sha256', poly1305: true })
    expect(advertisement({ ...settings, streams: true, streamTag: 'sha256' }).mesh).not.to.have.property('poly1305')
    expect(advertisement({ ...settings, streamTag: 'sha256' }).mesh).not.to.have.property('streamTag')
    const node = (mesh: object) => ({ address: '10.0.0.2', advertisement: { key: '$$feathers-mesh', mesh: { ...settings, ...mesh } } })
    expect(endpointOf(node({ streams: true, streamTag: 'sha256', poly1305: true }), '$$feathers-mesh')?.streamTag).to.equal('poly1305')
    expect(endpointOf(node({ streams: true, streamTag: 'sha256' }), '$$feathers-mesh')?.streamTag).to.equal('sha256')
    // 1.3 named no tag; a value this app does not know, or the flag without SHA-256, counts as that.
    expect(endpointOf(node({ streams: true }), '$$feathers-mesh')?.streamTag).to.equal('sha3-256')
    expect(endpointOf(node({ streams: true, streamTag: 'poly1305' }), '$$feathers-mesh')?.streamTag).to.equal('sha3-256')
    expect(endpointOf(node({ streams: true, poly1305: true }), '$$feathers-mesh')?.streamTag).to.equal('sha3-256')
    expect(endpointOf(node({ streamTag: 'sha256' }), '$$feathers-mesh')?.streamTag).to.equal(undefined)
  })
})

describe('Redis reconnection back-off', () => {
  it('doubles from 100 ms up to 5 s, each delay drawn in the upper half of its ceiling (jitter)', () => {
    const ceilings = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]
    ceilings.forEach((ceiling, attempt) => {
      const delays = Array.from({ length: 200 }, () => backoff(attempt))
      for (const delay of delays) expect(delay, `attempt ${attempt}`).to.be.within(ceiling / 2, ceiling)
      // Apps that lost Redis together do not come back in step.
      expect(new Set(delays).size, `attempt ${attempt}: distinct delays`).to.be.greaterThan(10)
    })
    for (const delay of Array.from({ length: 200 }, () => backoff(1000))) expect(delay).to.be.within(2500, 5000)
  })
})
