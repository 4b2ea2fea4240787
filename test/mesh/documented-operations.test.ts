import { expect } from 'chai'
import { spawn } from 'child_process'
import path from 'path'
import { MemoryService } from '@feathersjs/memory'
import { feathers } from '@feathersjs/feathers'
import { distribution, finalize } from '../../src'
import { coteSettings, parseArgs } from '../../src/cli-args'
import { GUARD, LOOPBACK_BROADCAST, Mesh, discoveryPort, waitFor } from '../helpers/mesh'
import { quiet, recorder } from '../helpers/events'

const S1 = 'first-mesh-secret-0123456789'
const S2 = 'second-mesh-secret-9876543210'
const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js')

function axonRequest(port: number, text: string): Promise<any> {
  const axon = require('@dashersw/axon')
  const sock = axon.socket('req')
  sock.connect(port, '127.0.0.1')
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sock.close(); reject(new Error('no reply')) }, 3000)
    sock.send(text, (...args: any[]) => {
      clearTimeout(timer)
      sock.close()
      resolve(args)
    })
  })
}

describe('behaviours the README documents: protocol versions, healthcheck, security, sync, status, CLI', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename.replace(/\.js$/, '.docs.js'))
  afterEach(() => mesh.close())

  it('answers a request of another major version with a BadRequest naming both versions', async () => {
    const app = await mesh.app({ key: 'v-app' })
    const warn = console.warn
    const warnings: string[] = []
    console.warn = (line: string) => warnings.push(line)
    try {
      const reply = await axonRequest(app.distribution.ports.responder, JSON.stringify({ v: 2, type: 'hello', from: 'future-uuid', key: 'future', seq: 1, services: [] }))
      const answer = JSON.parse(reply[1])
      expect(answer.ok).to.equal(false)
      expect(answer.error.name).to.equal('BadRequest')
      expect(answer.error.message).to.equal('feathers-mesh protocol version 2 is not supported (this app speaks 1)')
      await axonRequest(app.distribution.ports.responder, JSON.stringify({ v: 2, type: 'ping', from: 'future-uuid', key: 'future', paths: [] }))
    } finally {
      console.warn = warn
    }
    expect(app.distribution.refused()).to.deep.include({ uuid: 'future-uuid', key: 'future', reason: 'speaks protocol version 2, this app 1' })
    expect(warnings.filter((w) => w.includes('future-uuid'))).to.deep.equal(['feathers-mesh: peer future-uuid (key future) refused: it speaks protocol version 2, this app 1'])
  })

  it('the healthcheck answer holds refused: [{ uuid, key, reason }] for refused peers of that key', async () => {
    const good = await mesh.app({ key: 'hc-app', secret: S1 }, (app) => app.use('things', new MemoryService()))
    const wrong = await mesh.app({ key: 'hc-app', secret: S2 }, (app) => app.use('things', new MemoryService()))
    const gateway = await mesh.app({ key: 'hc-gw', secret: S1, healthcheckTimeout: 300 })
    await gateway.distribution.waitForService('things')
    await waitFor(() => gateway.distribution.refused().some((r: any) => r.key === 'hc-app'), 10000, 'the wrong-secret app refused')
    const ok: any = await (await fetch(`${gateway.url}/distribution/healthcheck/hc-app`)).json()
    expect(ok.refused).to.be.an('array').with.length(1)
    expect(ok.refused[0]).to.have.keys(['uuid', 'key', 'reason'])
    expect(ok.refused[0].uuid).to.equal('sealed:hc-app')
    void wrong
    void good
  })

  it('in the healthcheck, an app is not its own peer: the only app of its key gets 404 for it', async () => {
    const lone = await mesh.app({ key: 'lone-app' }, (app) => app.use('things', new MemoryService()))
    const response = await fetch(`${lone.url}/distribution/healthcheck/lone-app`)
    expect(response.status).to.equal(404)
  })

  it('apps with a secret and apps without one each see the other as refused', async () => {
    const sealed = await mesh.app({ key: 'mix-sealed', secret: S1 }, (app) => app.use('a', new MemoryService()))
    const open = await mesh.app({ key: 'mix-open' }, (app) => app.use('b', new MemoryService()))
    await waitFor(() => sealed.distribution.refused().some((r: any) => r.key === 'mix-open'), 8000, 'sealed refuses open')
    await waitFor(() => open.distribution.refused().some((r: any) => r.key === 'mix-sealed'), 8000, 'open refuses sealed')
  })

  it('a service kept private with the services filter is not synced (nor re-emitted)', async () => {
    const register = (app: any) => {
      app.use('secret-msgs', new MemoryService({ id: 'id' }))
      app.use('public-msgs', new MemoryService({ id: 'id' }))
    }
    const opts = { key: 'priv-sync', sync: true, remoteServices: () => false, services: (s: any) => s.path !== 'secret-msgs' }
    const a = await mesh.app(opts, register)
    const b = await mesh.app(opts, register)
    await waitFor(() => b.distribution.peers().some((p: any) => p.uuid === a.distribution.uuid), 5000, 'peers')
    const onB = recorder(b.service('secret-msgs'), ['created'])
    const onBpub = recorder(b.service('public-msgs'), ['created'])
    await a.service('secret-msgs').create({ text: 'private' })
    await a.service('public-msgs').create({ text: 'public' })
    await onBpub.until(() => onBpub.seen.length === 1, 'the public event on b')
    await quiet()
    expect(onB.seen).to.have.length(0)
  })

  it('app.state is starting before ready and closed after close', async () => {
    const app = feathers()
    app.configure(distribution(mesh.options({ key: 'states' })))
    const first = app.distribution.status().app.state
    await app.distribution.ready
    const running = app.distribution.status().app.state
    await finalize(app)
    expect([first, running, app.distribution.status().app.state]).to.deep.equal(['starting', 'running', 'closed'])
  })

  it('--wait defaults to 2000, or 2.5 x --hello / COTE_HELLO_INTERVAL when longer; --hello sets checkInterval 2x', async () => {
    const port = discoveryPort(__filename.replace(/\.js$/, '.empty.js'))
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<any>((resolve) => {
        const clean: NodeJS.ProcessEnv = {}
        for (const [k, v] of Object.entries(process.env)) if (!/^(COTE_|FEATHERS_MESH_)/.test(k)) clean[k] = v
        const child = spawn(process.execPath, ['-r', GUARD, CLI, 'status', '--port', String(port), '--broadcast', LOOPBACK_BROADCAST, '--json', ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
        let out = ''
        child.stdout.on('data', (c) => (out += c))
        child.on('close', (code) => resolve({ code, report: JSON.parse(out) }))
      })
    const [plain, hello, envHello, fast] = await Promise.all([run([]), run(['--hello', '1000']), run([], { COTE_HELLO_INTERVAL: '1200' }), run(['--hello', '200'])])
    expect([plain.report.waited, hello.report.waited, envHello.report.waited, fast.report.waited]).to.deep.equal([2000, 2500, 3000, 2000])
    expect(plain.code).to.equal(0)
    expect(coteSettings(parseArgs(['status', '--hello', '700']), {})).to.include({ helloInterval: 700, checkInterval: 1400 })
  })
})

describe('behaviours the README documents: a healthcheck key with a slash', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename.replace(/\.js$/, '.slash.js'))
  after(() => mesh.close())
  for (const transport of ['express', 'koa'] as const) {
    it(`a key holding / is asked for as %2F (${transport})`, async () => {
      await mesh.app({ key: `team/todos-${transport}` }, (app) => app.use('things', new MemoryService()))
      const gateway = await mesh.app({ key: `gw-${transport}` }, undefined, transport)
      await gateway.distribution.waitForService('things')
      const response = await fetch(`${gateway.url}/distribution/healthcheck/team%2Ftodos-${transport}`)
      const body: any = await response.json()
      expect(response.status).to.equal(200)
      expect(body.key).to.equal(`team/todos-${transport}`)
      const head = await fetch(`${gateway.url}/distribution/healthcheck/nobody`, { method: 'HEAD' })
      expect(head.status).to.equal(404)
      const status = await fetch(`${gateway.url}/distribution/healthcheck/team%2Fnobody`, { method: 'HEAD' })
      expect(status.status).to.equal(404)
    })
  }
})

describe('behaviours the README documents: the CLI broadcast from the environment', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename.replace(/\.js$/, '.bcast.js'))
  after(() => mesh.close())
  it('--broadcast defaults to COTE_BROADCAST_ADDRESS', async () => {
    const app = await mesh.child('one', { key: 'bcast', services: ['todos'], replica: 'one' })
    const clean: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!/^(COTE_|FEATHERS_MESH_|HEARTBEAT_INTERVAL)/.test(k)) clean[k] = v
    Object.assign(clean, { HEARTBEAT_INTERVAL: '300', COTE_BROADCAST_ADDRESS: LOOPBACK_BROADCAST })
    const child = spawn(process.execPath, ['-r', GUARD, CLI, 'status', '--port', String(mesh.port), '--hello', '200', '--wait', '1500', '--json'], { env: clean, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (err += c))
    const code = await new Promise((resolve) => child.on('close', resolve))
    const report = JSON.parse(out)
    expect(err).to.equal('')
    expect(report.observer.broadcast).to.equal(LOOPBACK_BROADCAST)
    expect(report.apps.map((a: any) => a.uuid)).to.include(app.uuid)
    expect(code).to.equal(0)
  })
})

