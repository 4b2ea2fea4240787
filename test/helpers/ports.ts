import net from 'net'

export interface HeldPorts {
  /** The first of the consecutive ports held. */
  port: number
  close(): Promise<void>
}

const listen = (port: number) =>
  new Promise<net.Server | undefined>((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(undefined))
    // Every interface, as the mesh binds: no app of this machine can take the port meanwhile.
    server.listen(port, '0.0.0.0', () => resolve(server))
  })
const closeAll = (servers: net.Server[]) => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))).then(() => undefined)

/** `count` consecutive TCP ports this process listens on, from a free port the OS picks. */
export async function holdPorts(count: number): Promise<HeldPorts> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await listen(0)
    if (!first) continue
    const servers = [first]
    const port = (first.address() as net.AddressInfo).port
    while (servers.length < count) {
      const next = port + servers.length <= 65_535 ? await listen(port + servers.length) : undefined
      if (!next) break
      servers.push(next)
    }
    if (servers.length === count) return { port, close: () => closeAll(servers) }
    await closeAll(servers)
  }
  throw new Error(`no ${count} consecutive free ports found`)
}
