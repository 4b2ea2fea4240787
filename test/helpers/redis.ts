/**
 * A redis-server of the test's own (the Debian package, installed by .ci/run): on loopback (or on an
 * address inside a test network namespace), on a free port, without persistence; stopped and
 * restarted by PID on the same port. Commands go through redis-cli, in the same namespace.
 * The benchmark (`npm run bench -- --scale`) uses it too, so it imports nothing from the mocha helpers.
 */
import { execFile, spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
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
