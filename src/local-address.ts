import os from 'os'

type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>

const isV4 = (info: os.NetworkInterfaceInfo) => info.family === 'IPv4' || (info.family as unknown) === 4
const isV6 = (info: os.NetworkInterfaceInfo) => info.family === 'IPv6' || (info.family as unknown) === 6

/**
 * The address to advertise, from the local address of this app's connection to Redis. The mesh's
 * servers listen on IPv4 only, so an IPv6 one stands for an IPv4 address of the same interface
 * (`::1` for 127.0.0.1); undefined when that interface has none.
 */
export function advertisable(address: string, interfaces: Interfaces = os.networkInterfaces()): string | undefined {
  const plain = address.replace(/^::ffff:/, '')
  if (!plain.includes(':')) return plain
  if (plain === '::1') return '127.0.0.1'
  const bare = plain.replace(/%.*$/, '') // a zone index (fe80::1%eth0)
  for (const infos of Object.values(interfaces)) {
    if (!infos?.some((info) => isV6(info) && info.address === bare)) continue
    const v4 = infos.find(isV4)
    if (v4) return v4.address
  }
  return undefined
}
