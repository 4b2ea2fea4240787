/**
 * The one helper every test uses: discovery pinned to the loopback broadcast address on a port of
 * the test file's own, the network guard preloaded everywhere, child apps that report readiness
 * over IPC, and cleanup of every app and child after each test.
 */
import { fork } from 'child_process'
import type { ChildProcess } from 'child_process'
import path from 'path'
import type { AddressInfo } from 'net'
import { feathers } from '@feathersjs/feathers'
import express, { rest, json, urlencoded, errorHandler } from '@feathersjs/express'
import socketio from '@feathersjs/socketio'
import { koa, rest as koaRest, bodyParser, errorHandler as koaErrorHandler } from '@feathersjs/koa'
import { distribution, finalize } from '../../src'
import type { DistributionOptions } from '../../src'
import './guard'

export const LOOPBACK_BROADCAST = '127.255.255.255'

/** The HTTP frameworks the tests that touch HTTP run on. */
export type Transport = 'express' | 'koa'
export const TRANSPORTS: Transport[] = ['express', 'koa']
export const GUARD = path.join(__dirname, 'guard.js')
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'app.js')

/**
 * A discovery port of the file's own, so test files never see each other's apps; shifted by the
 * run's process id, so two test runs on one machine never see each other either.
 */
export function discoveryPort(file: string): number {
  const name = path.basename(file)
  let hash = 0
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  return 42000 + ((hash + process.pid * 7) % 6000)
}

/** Cote discovery settings for tests: loopback broadcast, fast hellos, quiet. */
export function coteOptions(port: number, extra: Record<string, unknown> = {}) {
  return { broadcast: LOOPBACK_BROADCAST, port, helloInterval: 200, checkInterval: 400, nodeTimeout: 1000, masterTimeout: 1200, log: false, ...extra }
}

export function meshOptions(port: number, options: DistributionOptions = {}): DistributionOptions {
  return { heartbeatInterval: 300, ...options, cote: coteOptions(port, (options.cote ?? {}) as Record<string, unknown>) }
}

export interface ChildApp {
  name: string
  process: ChildProcess
  uuid: string
  httpPort: number
  url: string
  send(command: Record<string, unknown>): Promise<any>
  kill(signal?: NodeJS.Signals): Promise<void>
  exited: Promise<number | null>
}

export interface ChildConfig {
  key?: string
  services?: string[]
  options?: DistributionOptions
  replica?: string
  /** Local paths the child keeps private (its `services` predicate). */
  privatePaths?: string[]
  /** Service options the child shares, by path (its `remoteServiceOptions`). */
  sharedOptions?: Record<string, string[]>
  /** Extra environment variables of the child. */
  env?: Record<string, string>
  /** Network namespace the child runs in (test/helpers/netns.ts). */
  netns?: string
  /** Extra Node options of the child (not with `netns`). */
  execArgv?: string[]
  /** The `node` binary the child runs on (another version: test/versions/node-versions.spec.ts); this process's by default. */
  node?: string
  /** `pipe`: the child's stderr is read by the test (`process.stderr`), instead of shown. */
  stderr?: 'pipe'
}

export function waitFor<T>(predicate: () => T | Promise<T>, timeout = 5000, what = 'condition', interval = 20): Promise<T> {
  const deadline = Date.now() + timeout
  return new Promise((resolve, reject) => {
    const check = async () => {
      try {
        const value = await predicate()
        if (value) return resolve(value)
      } catch {
        // not yet
      }
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeout} ms waiting for ${what}`))
      setTimeout(check, interval)
    }
    check()
  })
}

/** Owns the apps and children of one test file. */
export class Mesh {
  readonly port: number
  private readonly apps: any[] = []
  private readonly children: ChildApp[] = []

  constructor(file: string) {
    this.port = discoveryPort(file)
  }

  options(options: DistributionOptions = {}) {
    return meshOptions(this.port, options)
  }

  /** An Express (or Koa) + socket.io app in this process, listening on an ephemeral port. */
  async app(options: DistributionOptions = {}, register?: (app: any) => void, transport: Transport = 'express') {
    let app: any
    if (transport === 'koa') {
      app = koa(feathers())
      app.use(koaErrorHandler())
      app.use(bodyParser())
      app.configure(koaRest())
      app.configure(socketio())
      app.configure(distribution(this.options(options)))
      register?.(app)
    } else {
      app = express(feathers())
      app.use(json())
      app.use(urlencoded({ extended: true }))
      app.configure(rest())
      app.configure(socketio())
      app.configure(distribution(this.options(options)))
      register?.(app)
      app.use(errorHandler({ logger: false as any }))
    }
    const server = await app.listen(0)
    app.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    this.apps.push(app)
    await app.distribution.ready
    return app
  }

  /** An app in its own process (test/fixtures/app.ts), ready once it reports over IPC. */
  async child(name: string, config: ChildConfig = {}, timeout = 10000): Promise<ChildApp> {
    const env = { ...process.env, ...(config.env ?? {}), MESH_FIXTURE: JSON.stringify({ ...config, options: this.options(config.options ?? {}), name }) }
    // In a namespace: `ip netns exec <ns> node -r guard fixture`, the IPC channel passing through.
    const node = config.node ?? process.execPath
    const launcher = config.netns ? { execPath: 'ip', execArgv: ['netns', 'exec', config.netns, node, '-r', GUARD] } : { execPath: node, execArgv: ['-r', GUARD, ...(config.execArgv ?? [])] }
    const child = fork(FIXTURE, [], { env, ...launcher, stdio: ['ignore', 'inherit', config.stderr ?? 'inherit', 'ipc'] })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const pending = new Map<number, (reply: any) => void>()
    let nextId = 0
    const ready = new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child ${name} not ready within ${timeout} ms`)), timeout)
      child.on('message', (message: any) => {
        if (message?.type === 'ready') {
          clearTimeout(timer)
          resolve(message)
        } else if (message?.type === 'reply') pending.get(message.id)?.(message)
      })
      exited.then((code) => {
        clearTimeout(timer)
        reject(new Error(`child ${name} exited with ${code} before it was ready`))
      })
    })
    const app: ChildApp = {
      name,
      process: child,
      uuid: '',
      httpPort: 0,
      url: '',
      exited,
      send(command) {
        if (!child.connected) return Promise.reject(new Error(`child ${name} is not connected`))
        const id = nextId++
        return new Promise((resolve, reject) => {
          pending.set(id, (reply) => {
            pending.delete(id)
            reply.error ? reject(new Error(reply.error)) : resolve(reply.value)
          })
          child.send({ ...command, id }, (error) => error && reject(error))
          exited.then(() => reject(new Error(`child ${name} exited`)))
        })
      },
      async kill(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
        await exited
      }
    }
    this.children.push(app)
    const message = await ready.catch(async (error) => {
      await app.kill('SIGKILL')
      throw error
    })
    app.uuid = message.uuid
    app.httpPort = message.httpPort
    app.url = `http://127.0.0.1:${message.httpPort}`
    return app
  }

  /** Closes every app and ends every child this file started (by PID, through its ChildProcess). */
  async close() {
    const apps = this.apps.splice(0)
    const children = this.children.splice(0)
    await Promise.all(
      children.map(async (child) => {
        child.send({ cmd: 'exit' }).catch(() => undefined)
        const timer = new Promise((resolve) => setTimeout(resolve, 3000).unref())
        await Promise.race([child.exited, timer])
        await child.kill('SIGKILL')
      })
    )
    await Promise.all(
      apps.map(async (app) => {
        await finalize(app)
        await app.teardown().catch(() => undefined)
      })
    )
  }
}
