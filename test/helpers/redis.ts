/**
 * A redis-server of the test's own (the Debian package, installed by .ci/run): on loopback (or on an
 * address inside a test network namespace), on a free port, without persistence; stopped and
 * restarted by PID on the same port. Commands go through redis-cli, in the same namespace.
 * The benchmark (`npm run bench -- --scale`) uses it too, so it imports nothing from the mocha helpers.
 */
import { execFile, spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import net from 'net'
import { promisify } from 'util'
import { ephemeralPort } from '../../src/ports'
import { inNamespace } from './netns'
import { poll } from './processes'

const run = promisify(execFile)

export interface RedisPlace {
  /** Address it binds to and clients use. @default 127.0.0.1 */
  host?: string
  /** Network namespace it runs in. @default none (this machine's loopback) */
  netns?: string
  /** Password of the default user (Redis only accepts clients off loopback with one). */
  password?: string
}

export class RedisServer {
  private process?: ChildProcess
  private exited?: Promise<void>

  private constructor(
    readonly port: number,
    private readonly place: RedisPlace
  ) {}

  static async start(place: RedisPlace = {}): Promise<RedisServer> {
    const server = new RedisServer(await ephemeralPort(), place)
    await server.resume()
    return server
  }

  /** Process id of the running server (undefined once stopped). */
  get pid(): number | undefined {
    const child = this.process
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined
  }

  get host() {
    return this.place.host ?? '127.0.0.1'
  }

  get url() {
    const auth = this.place.password ? `:${encodeURIComponent(this.place.password)}@` : ''
    return `redis://${auth}${this.host}:${this.port}`
  }

  /** Starts (again) on the same port and resolves once it answers PING. */
  async resume() {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) return
    const [command, args] = inNamespace(this.place.netns, 'redis-server', ['--port', String(this.port), '--bind', this.host, '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...this.auth('--requirepass')])
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] })
    this.process = child
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    child.once('error', (error) => console.error(`redis-server could not start (is the redis-server package installed?): ${error.message}`))
    await poll(`redis-server on ${this.host}:${this.port}`, async () => ((await this.command('PING')) === 'PONG' ? true : undefined), 10000, 50)
  }

  /** Stops it by PID and resolves once it exited. */
  async stop() {
    const child = this.process
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await this.exited
  }

  private auth(flag: string) {
    return this.place.password ? [flag, this.place.password] : []
  }

  /** Names of the clients connected now (CLIENT LIST). */
  async clientNames(): Promise<string[]> {
    return (await this.command('CLIENT', 'LIST'))
      .split('\n')
      .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
      .filter((name) => name !== '')
  }

  async command(...words: string[]): Promise<string> {
    const [command, args] = inNamespace(this.place.netns, 'redis-cli', ['-h', this.host, '-p', String(this.port), ...this.auth('-a'), '--no-auth-warning', ...words])
    const { stdout } = await run(command, args, { timeout: 5000 })
    return stdout.trim()
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of a local port, that can cut the network between its two sides
 * as a partition or a vanished host does: no FIN, no RST, nothing forwarded. Connections opened
 * during the cut are accepted and held likewise. The bytes wait (as unacknowledged segments do) and
 * flow once it heals.
 */
export class CutProxy {
  private cut = false
  /** Connections accepted since start. */
  connections = 0
  private readonly sockets = new Set<net.Socket>()

  private constructor(private readonly server: net.Server) {}

  static async start(targetPort: number): Promise<CutProxy> {
    // Half-open allowed: a FIN from one side is passed on, not answered by the proxy itself.
    const server = net.createServer({ allowHalfOpen: true })
    const proxy = new CutProxy(server)
    server.on('connection', (client) => {
      proxy.connections++
      const upstream = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true })
      for (const [from, to] of [[client, upstream], [upstream, client]]) {
        proxy.sockets.add(from)
        if (proxy.cut) from.pause()
        from.on('data', (chunk) => to.write(chunk))
        from.on('end', () => to.end())
        from.on('close', () => (proxy.sockets.delete(from), to.destroy()))
        from.on('error', () => undefined)
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get url() {
    return `redis://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`
  }

  /** Stops forwarding, both ways, on every connection: a paused socket reads nothing, not even a FIN. */
  partition() {
    this.cut = true
    for (const socket of this.sockets) socket.pause()
  }

  heal() {
    this.cut = false
    for (const socket of this.sockets) socket.resume()
  }

  async close() {
    for (const socket of this.sockets) socket.destroy()
    await new Promise((resolve) => this.server.close(resolve))
  }
}
