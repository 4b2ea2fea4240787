import { expect } from 'chai'
import type os from 'os'
import { advertisable } from '../../src/local-address'

const info = (family: 'IPv4' | 'IPv6', address: string) => ({ family, address, netmask: '', mac: '', internal: false, cidr: null }) as os.NetworkInterfaceInfo

describe('the address advertised from the connection to Redis', () => {
  const interfaces = {
    lo: [info('IPv4', '127.0.0.1'), info('IPv6', '::1')],
    eth0: [info('IPv6', 'fd00::5'), info('IPv4', '10.0.0.5'), info('IPv6', 'fe80::5')],
    v6only: [info('IPv6', 'fd00::9')]
  }

  it('takes an IPv4 address (mapped or not) as it is', () => {
    expect(advertisable('10.0.0.7', interfaces)).to.equal('10.0.0.7')
    expect(advertisable('::ffff:10.0.0.7', interfaces)).to.equal('10.0.0.7')
  })

  it('stands an IPv6 address for an IPv4 address of its interface, since the servers listen on IPv4', () => {
    expect(advertisable('::1', interfaces)).to.equal('127.0.0.1')
    expect(advertisable('fd00::5', interfaces)).to.equal('10.0.0.5')
    expect(advertisable('fe80::5%eth0', interfaces)).to.equal('10.0.0.5')
  })

  it('gives nothing for an IPv6 address on an interface without IPv4, or on none known', () => {
    expect(advertisable('fd00::9', interfaces)).to.equal(undefined)
    expect(advertisable('2001:db8::1', interfaces)).to.equal(undefined)
  })
})
