/**
 * The probes of a todos replica as deploy/kubernetes runs it (discovery on Redis): `/ready` is 200
 * only once the replica has joined the mesh and while Redis is reachable, so a rollout during a
 * Redis outage keeps new replicas out; `/live` stays 200 through the outage, so it restarts none.
 */
import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import path from 'path'
import { expect } from 'chai'
import { LIVE_PATH, READY_PATH } from '../../example/common'
import { poll, portIsFree } from '../helpers/processes'
import { RedisServer } from '../helpers/redis'

const ROOT = path.join(__dirname, '..', '..', '..') // build/test/example → repository root
const GUARD = path.join(ROOT, 'build', 'test', 'helpers', 'guard.js')
const HTTP_PORT = 31540 // below Linux's ephemeral range, apart from start.test.ts's 31530-31532

describe('example: a todos replica on Redis discovery, its readiness and liveness probes', function () {
  this.timeout(40000)
  let redis: RedisServer
  let replica: ChildProcess | undefined
  let output = ''
  const url = (route: string) => `http://127.0.0.1:${HTTP_PORT}${route}`
  const statusOf = async (route: string) => (await fetch(url(route))).status

  before(async () => {
    expect(await portIsFree(HTTP_PORT), `port ${HTTP_PORT}`).to.equal(true)
    redis = await RedisServer.start()
    replica = spawn(process.execPath, ['-r', GUARD, path.join(ROOT, 'build', 'example', 'service', 'index.js')], {
      env: {
        PATH: process.env.PATH,
        PORT: String(HTTP_PORT),
        MESH_KEY: 'todos',
        REPLICA: 'replica-probes',
        COTE_DISCOVERY_REDIS_URL: redis.url,
        DISCOVERY_HOSTNAME: '127.0.0.1',
        FEATHERS_MESH_SECRET: 'replica-probes-test-secret-0123'
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    replica.stdout!.on('data', (chunk) => (output += chunk))
    replica.stderr!.on('data', (chunk) => (output += chunk))
  })

  after(async () => {
    if (replica && replica.exitCode === null && replica.signalCode === null) {
      const exited = new Promise((resolve) => replica!.once('exit', resolve))
      replica.kill('SIGTERM')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))])
      if (replica.exitCode === null && replica.signalCode === null) replica.kill('SIGKILL')
    }
    await redis?.stop()
  })

  it('is ready once it has joined the mesh through Redis', async () => {
    await poll('/ready to answer 200', async () => ((await statusOf(READY_PATH).catch(() => 0)) === 200 ? true : undefined), 20000).catch((error) => {
      throw new Error(`${error.message}\n--- replica output ---\n${output}`)
    })
    expect(await statusOf(LIVE_PATH)).to.equal(200)
  })

  it('is not ready while Redis is down, yet alive; ready again once Redis is back', async () => {
    await redis.stop()
    await poll('/ready to answer 503', async () => ((await statusOf(READY_PATH)) === 503 ? true : undefined), 10000)
    const body = (await (await fetch(url(READY_PATH))).json()) as any
    expect(body.discovery).to.deep.equal({ mode: 'redis', connected: false })
    expect(await statusOf(LIVE_PATH)).to.equal(200)
    await redis.resume()
    await poll('/ready to answer 200 again', async () => ((await statusOf(READY_PATH)) === 200 ? true : undefined), 20000)
  })
})
