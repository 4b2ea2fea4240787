/**
 * A redis-server of the test's own (the Debian package, installed by .ci/run): on loopback, on a
 * free port, without persistence; stopped and restarted by PID on the same port.
 */
import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import Redis from 'ioredis'
import { ephemeralPort } from '../../src/ports'
import { waitFor } from './mesh'

export class RedisServer {
  private process?: ChildProcess
  private exited?: Promise<void>

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await ephemeralPort())
    await server.resume()
    return server
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts (again) on the same port and resolves once it answers PING. */
  async resume() {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) return
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] })
    this.process = child
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    child.once('error', (error) => console.error(`redis-server could not start (is the redis-server package installed?): ${error.message}`))
    await waitFor(async () => (await this.command('PING')) === 'PONG', 10000, `redis-server on port ${this.port}`, 50)
  }

  /** Stops it by PID and resolves once it exited. */
  async stop() {
    const child = this.process
    if (!child || child.exitCode !== null) return
    child.kill('SIGTERM')
    await this.exited
  }

  /** Names of the clients connected now (CLIENT LIST). */
  async clientNames(): Promise<string[]> {
    const list = String(await this.command('CLIENT', 'LIST'))
    return list
      .split('\n')
      .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
      .filter((name) => name !== '')
  }

  async command(...args: string[]): Promise<unknown> {
    const client = new Redis(this.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false })
    client.on('error', () => {})
    try {
      await client.connect()
      return await client.call(args[0], ...args.slice(1))
    } finally {
      client.disconnect()
    }
  }
}
