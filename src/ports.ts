import net from 'net'
import type { PortRange } from './port-range'

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, () => server.close(() => resolve(true)))
  })
}

/** First free TCP port in [from, to], skipping `taken`; per app, so no module-global range. */
export async function findFreePort(from: number, to: number, taken: number[] = [], names: readonly [string, string] = ['BASE_PORT', 'HIGHEST_PORT']): Promise<number> {
  for (let port = from; port <= to; port++) {
    if (!taken.includes(port) && (await isFree(port))) return port
  }
  const end = names[1] === '' ? `${to}` : `${names[1]} ${to}`
  throw new Error(`feathers-mesh: no free port between ${names[0]} ${from} and ${end}`)
}

/** A free ephemeral port: cote's own port search scans upwards from 8000 and races between components. */
export function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** The responder's and the publisher's ports: the first two free in the range (see port-range.ts), else two the OS picks. */
export async function meshPorts({ basePort, highestPort, portNames }: PortRange): Promise<[number, number]> {
  if (basePort !== undefined && highestPort !== undefined) {
    const first = await findFreePort(basePort, highestPort, [], portNames)
    return [first, await findFreePort(basePort, highestPort, [first], portNames)]
  }
  const first = await ephemeralPort()
  let second: number
  do second = await ephemeralPort()
  while (second === first)
  return [first, second]
}
