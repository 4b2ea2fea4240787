import { expect } from 'chai'
import { spawn } from 'child_process'
import path from 'path'
import { ephemeralPort } from '../../src/ports'
import { GUARD, Mesh, waitFor } from '../helpers/mesh'
import { RedisServer } from '../helpers/redis'

/** Redis discovery when Redis is reached in an unusual way, refuses the channel, or is gone at close. */
describe('Redis discovery: IPv6, ACLs, malformed text, close', function () {
  this.timeout(60000)
  const mesh = new Mesh(__filename)
  let nextPort = 0
  // Each app has a UDP discovery port of its own: they can only find each other through Redis.
  const alone = () => ({ port: mesh.port + 100 + nextPort++ })
  afterEach(() => mesh.close())

  /** console.warn lines while `body` runs. */
  async function capturingWarnings<T>(body: (lines: string[]) => Promise<T>): Promise<T> {
    const lines: string[] = []
    const warn = console.warn
    console.warn = (...args: unknown[]) => void lines.push(args.join(' '))
    try {
      return await body(lines)
    } finally {
      console.warn = warn
    }
  }

  it('apps that reach Redis over IPv6 (redis://[::1]) link to each other: they advertise the IPv4 address of that interface', async () => {
    const redis = await RedisServer.start({ host: '::1' })
    try {
      const url = `redis://[::1]:${redis.port}`
      await mesh.child('provider', { key: 'todos-app', services: ['todos'], env: { COTE_DISCOVERY_REDIS_URL: url }, options: { cote: alone() } })
      await capturingWarnings(async (lines) => {
        const gateway = await mesh.app({ key: 'gateway', discovery: { redis: url }, cote: alone() })
        const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
        expect(await todos.find({ query: {} })).to.be.an('array')
        expect(gateway.distribution.peers().find((peer: any) => peer.key === 'todos-app')?.host).to.equal('127.0.0.1')
        expect(lines.filter((line) => line.includes('IPv6'))).to.deep.equal([])
      })
    } finally {
      await mesh.close()
      await redis.stop()
    }
  })

  it('counts a message on the discovery channel that is not JSON under malformed', async () => {
    const redis = await RedisServer.start()
    try {
      const app = await mesh.app({ key: 'gateway', discovery: { redis: redis.url }, cote: alone() })
      await waitFor(() => app.distribution.status().app.discovery.connected, 5000, 'Redis')
      await redis.command('PUBLISH', 'feathers-mesh:discovery', 'null')
      await waitFor(() => app.distribution.drops().malformed === 1, 2000, 'null counted')
      await redis.command('PUBLISH', 'feathers-mesh:discovery', 'not json at all')
      await waitFor(() => app.distribution.drops().malformed === 2, 2000, 'the text that is not JSON counted')
    } finally {
      await mesh.close()
      await redis.stop()
    }
  })

  it('a database number the server lacks is said once to be ignored, not taken for an outage', async () => {
    const redis = await RedisServer.start()
    try {
      await capturingWarnings(async (lines) => {
        await mesh.child('provider', { key: 'todos-app', services: ['todos'], env: { COTE_DISCOVERY_REDIS_URL: redis.url }, options: { cote: alone() } })
        const gateway = await mesh.app({ key: 'gateway', discovery: { redis: `${redis.url}/20` }, cote: alone() })
        await gateway.distribution.waitForService('todos', { timeout: 10000 })
        expect(lines.filter((line) => line.includes('Redis'))).to.deep.equal([`feathers-mesh ${gateway.distribution.uuid.slice(0, 8)}: the database number of the Redis URL is ignored (ERR DB index is out of range)`])
      })
    } finally {
      await mesh.close()
      await redis.stop()
    }
  })

  describe('an ACL user that may not use the discovery channel', () => {
    let redis: RedisServer
    before(async () => {
      redis = await RedisServer.start({ password: 'admin-pw-0123' })
    })
    after(() => redis?.stop())
    const url = () => `redis://mesh:mesh-pw@127.0.0.1:${redis.port}`
    // Any command, any key, but only channels named other:*.
    const refuseChannel = () => redis.command('ACL', 'SETUSER', 'mesh', 'on', '>mesh-pw', '~*', 'resetchannels', '&other:*', '+@all')
    const allowChannel = () => redis.command('ACL', 'SETUSER', 'mesh', 'on', '>mesh-pw', '~*', 'resetchannels', '&*', '+@all')

    it('is reported once, naming NOPERM, and the app never counts as connected (no "back" line every few intervals)', async () => {
      await refuseChannel()
      await capturingWarnings(async (lines) => {
        const app = await mesh.app({ key: 'gateway', discovery: { redis: url() }, cote: alone() })
        await waitFor(() => lines.some((line) => /discovery through Redis is down \(SUBSCRIBE refused: NOPERM/.test(line)), 5000, 'the NOPERM warning')
        // 10 hello intervals of 200 ms: a watchdog that flapped would say "back" within 3.
        const samples: boolean[] = []
        const until = Date.now() + 2000
        while (Date.now() < until) {
          samples.push(app.distribution.status().app.discovery.connected)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        expect(samples.filter(Boolean), 'samples where connected was true').to.have.length(0)
        expect(lines.filter((line) => line.includes('Redis is'))).to.have.length(1)
      })
    })

    it('an app whose channel is taken away (Redis closes its subscriber) lives on, is down, and comes back once it is granted again', async () => {
      await allowChannel()
      const provider = await mesh.child('provider', { key: 'todos-app', services: ['todos'], env: { COTE_DISCOVERY_REDIS_URL: url() }, options: { cote: alone() } })
      const connected = async () => (await provider.send({ cmd: 'status' }))?.app?.discovery?.connected === true
      await waitFor(connected, 5000, 'the provider on Redis')
      await refuseChannel()
      // ioredis's own renewal of the SUBSCRIBE, refused, was a rejection nobody caught: the process died.
      await waitFor(async () => !(await connected()), 5000, 'the provider to see Redis refuse it')
      expect(provider.process.exitCode).to.equal(null)
      await allowChannel()
      await waitFor(connected, 10000, 'the provider back on Redis')
      // Discovery works again: a newcomer finds it.
      await capturingWarnings(async () => {
        const gateway = await mesh.app({ key: 'gateway', discovery: { redis: url() }, cote: alone() })
        const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
        expect(await todos.find({ query: {} })).to.be.an('array')
      })
    })

    it('recovers once the permission is granted (the SUBSCRIBE is tried again), saying so once', async () => {
      await refuseChannel()
      await capturingWarnings(async (lines) => {
        await mesh.child('provider', { key: 'todos-app', services: ['todos'], env: { COTE_DISCOVERY_REDIS_URL: url() }, options: { cote: alone() } })
        const gateway = await mesh.app({ key: 'gateway', discovery: { redis: url() }, cote: alone() })
        await waitFor(() => lines.some((line) => line.includes('NOPERM')), 5000, 'the NOPERM warning')
        await redis.command('ACL', 'SETUSER', 'mesh', '&*')
        const todos = await gateway.distribution.waitForService('todos', { timeout: 10000 })
        expect(await todos.find({ query: {} })).to.be.an('array')
        expect(lines.filter((line) => line.includes('discovery through Redis is back'))).to.have.length(1)
      })
    })
  })

  it('a process whose mesh closed while Redis was unreachable exits at once (no ioredis timer left)', async () => {
    const port = await ephemeralPort() // nothing listens there
    const script = `
      const { Mesh } = require(${JSON.stringify(path.join(__dirname, '..', 'helpers', 'mesh.js'))})
      const mesh = new Mesh('redis-faults-exit')
      let down = false
      console.warn = (line) => { if (String(line).includes('Redis is down')) down = true }
      ;(async () => {
        await mesh.app({ discovery: { redis: 'redis://127.0.0.1:${port}' }, cote: { port: mesh.port + 101 } })
        for (let i = 0; i < 100 && !down; i++) await new Promise((r) => setTimeout(r, 50))
        await mesh.close()
        process.send(down ? 'closed' : 'never down')
      })()`
    const child = spawn(process.execPath, ['-r', GUARD, '-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let closedAt = 0
    let said = ''
    child.on('message', (message) => {
      said = String(message)
      closedAt = Date.now()
      child.disconnect()
    })
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect([code, said]).to.deep.equal([0, 'closed'])
    expect(Date.now() - closedAt, 'ms from close to exit').to.be.lessThan(1000)
  })
})
