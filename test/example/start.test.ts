/**
 * `npm start` end to end: scripts/start.js runs the gateway and both replicas (guard preloaded in
 * all of them), a client signs in, sees both replicas answer, gets live events, survives the loss
 * of one replica, and Ctrl-C stops everything. The steps share one running mesh, in order.
 */
import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import { promises as fs } from 'fs'
import path from 'path'
import { expect } from 'chai'
import { io } from 'socket.io-client'
import type { Socket } from 'socket.io-client'
import { feathers } from '@feathersjs/feathers'
import { DEMO_USER, LOOPBACK_BROADCAST } from '../../example/common'
import { distribution, finalize } from '../../src'
import { loadPage } from './fake-page'
import type { FakePage } from './fake-page'
import { poll, portIsFree, isRunning } from '../helpers/processes'

const ROOT = path.join(__dirname, '..', '..', '..') // build/test/example → repository root
const GUARD = path.join(ROOT, 'build', 'test', 'helpers', 'guard.js')
const DISCOVERY_PORT = 48500 // outside the 42000-47999 range test files hash into
const HTTP_PORT = 31530 // gateway; replicas take +1 and +2. Below Linux's ephemeral range, so never a client port.




function emit(socket: Socket, method: string, ...args: unknown[]): Promise<any> {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(method, ...args, (timeout: Error | null, error: any, result: any) => (timeout || error ? reject(timeout ?? error) : resolve(result)))
  })
}

describe('example: npm start (scripts/start.js)', function () {
  this.timeout(60000)
  let start: ChildProcess
  let exited: Promise<number | null>
  let output = ''
  let url = ''
  let accessToken = ''
  const pids: Record<string, number> = {}
  const sockets: Socket[] = []
  let page: FakePage | undefined

  const json = async (response: Response): Promise<any> => response.json()
  const api = (route: string, init: RequestInit = {}, token = accessToken) =>
    fetch(new URL(route, url), { ...init, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) } })

  before(async () => {
    for (const port of [HTTP_PORT, HTTP_PORT + 1, HTTP_PORT + 2]) {
      if (!(await portIsFree(port))) throw new Error(`port ${port} is taken: the example test needs ${HTTP_PORT}-${HTTP_PORT + 2}`)
    }
    start = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
      cwd: ROOT,
      // An address to advertise left in the shell (from a Kubernetes set-up) must not reach the apps: peers would connect off the machine.
      env: { ...process.env, PORT: String(HTTP_PORT), COTE_PORT: String(DISCOVERY_PORT), NODE_OPTIONS: `-r ${JSON.stringify(GUARD)}`, DISCOVERY_HOSTNAME: '10.255.255.1' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    exited = new Promise((resolve) => start.once('exit', (code) => resolve(code)))
    const collect = (chunk: Buffer) => {
      output += chunk
      for (const match of output.matchAll(/\[start\] (\S+) started \(pid (\d+)/g)) pids[match[1]] = Number(match[2])
    }
    start.stdout!.on('data', collect)
    start.stderr!.on('data', collect)
    const ready = poll('the ready line of scripts/start.js', async () => /\[start\] ready: open (http:\/\/\S+)/.exec(output)?.[1], 40000)
    const early = exited.then((code) => Promise.reject(new Error(`start.js exited with ${code} before it was ready`)))
    url = await Promise.race([ready, early]).catch((error) => {
      throw new Error(`${error.message}\n--- output ---\n${output}`)
    })
  })

  after(async () => {
    for (const socket of sockets) socket.close()
    page?.close()
    // Only if a step failed early: end what this file started, by PID.
    if (start && start.exitCode === null && start.signalCode === null) {
      start.kill('SIGINT')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 8000))])
      if (start.exitCode === null && start.signalCode === null) start.kill('SIGKILL')
    }
    for (const pid of Object.values(pids)) if (isRunning(pid)) process.kill(pid, 'SIGKILL')
  })

  it('prints the URL, the seeded credentials and the PID of each app', () => {
    expect(url).to.equal(`http://localhost:${HTTP_PORT}/`)
    expect(output).to.include(`${DEMO_USER.email} / ${DEMO_USER.password}`)
    expect(Object.keys(pids)).to.have.members(['gateway', 'replica-1', 'replica-2'])
  })

  it('serves the page with its stable ids, a script that parses, and the socket.io client', async () => {
    const page = await (await api('/')).text()
    for (const id of ['email', 'password', 'login', 'todos', 'title', 'create', 'status', 'replica']) expect(page, `#${id}`).to.include(`id="${id}"`)
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1]
    expect(() => new Function(script)).to.not.throw()
    expect((await api('/socket.io/socket.io.js')).status).to.equal(200)
  })

  it('refuses /todos without a JWT (401)', async () => {
    const response = await api('/todos', {}, '')
    expect(response.status).to.equal(401)
    expect((await json(response)).name).to.equal('NotAuthenticated')
  })

  it('signs in over REST and gets answers from both replicas', async () => {
    const response = await api('/authentication', { method: 'POST', body: JSON.stringify({ strategy: 'local', ...DEMO_USER }) })
    expect(response.status).to.equal(201)
    accessToken = (await json(response)).accessToken
    const seen = new Set<string>()
    for (let call = 0; call < 10 && seen.size < 2; call++) {
      const todos = await json(await api('/todos'))
      for (const todo of todos) {
        // Each replica answers from its own store: a seeded TODO names the replica that served it.
        if (todo.title.startsWith('Seeded by')) expect(todo.title).to.equal(`Seeded by ${todo.servedBy}`)
        seen.add(todo.servedBy)
      }
    }
    expect([...seen]).to.have.members(['replica-1', 'replica-2'])
  })

  it('keeps only the fields a TODO has on update and patch too (400 for anything else)', async () => {
    const write = (method: string, body: unknown) => api('/todos/0', { method, body: JSON.stringify(body) })
    for (const [method, body] of [['PATCH', { anything: 1 }], ['PATCH', { title: '' }], ['PATCH', { done: 'yes' }], ['PUT', { anything: 1 }], ['PUT', { title: 'x'.repeat(201) }]] as const) {
      const response = await write(method, body)
      expect(response.status, `${method} ${JSON.stringify(body)}`).to.equal(400)
      expect((await json(response)).name).to.equal('BadRequest')
    }
    const done = await write('PATCH', { done: true })
    expect(done.status).to.equal(200)
    const todo = await json(done)
    expect(todo).to.include({ done: true, title: `Seeded by ${todo.servedBy}`, createdOn: todo.servedBy })
    const replaced = await json(await write('PUT', { title: ' Renamed ', done: false, createdOn: 'someone else' }))
    expect(replaced).to.include({ title: 'Renamed', done: false, createdOn: replaced.servedBy })
  })

  it('seals the mesh: an app without the run\'s secret, on the same discovery port, is refused and serves no call', async () => {
    expect(output).to.include('[start] the mesh is sealed')
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (line: string) => warnings.push(String(line))
    const intruder: any = feathers()
    try {
      intruder.configure(distribution({ key: 'intruder', heartbeatInterval: 300, cote: { broadcast: LOOPBACK_BROADCAST, port: DISCOVERY_PORT, helloInterval: 200, log: false } }))
      intruder.use('todos', { async find() { return [{ title: 'forged', servedBy: 'intruder' }] } })
      // The gateway lists it as refused (its frames are not sealed), and it never becomes a peer.
      const health = await poll('the gateway to refuse the intruder', async () => {
        const body = await json(await api(`/distribution/healthcheck/intruder`, {}, ''))
        return body.refused?.some((peer: any) => peer.uuid === intruder.distribution.uuid) ? body : undefined
      })
      expect(health.message).to.match(/No app of key intruder/)
      // The intruder, for its part, cannot open the sealed apps' frames.
      await poll('the intruder to refuse the sealed apps', async () => (intruder.distribution.refused().length > 0 ? true : undefined))
      expect(intruder.distribution.peers()).to.deep.equal([])
      expect(intruder.services.todos.remote, 'no proxy replaced its own todos').to.equal(undefined)
      for (let call = 0; call < 6; call++) {
        for (const todo of await json(await api('/todos'))) expect(todo.servedBy).to.match(/^replica-[12]$/)
      }
      const todos = await json(await api('/distribution/healthcheck/todos', {}, ''))
      expect(Object.values(todos.services).flat()).to.have.length(2)
    } finally {
      console.warn = warn
      await finalize(intruder)
    }
    // The run's secret reached the apps (Linux shows a child's environment to its user) and was never printed.
    const environ = await fs.readFile(`/proc/${pids.gateway}/environ`, 'utf8').catch(() => undefined)
    if (environ !== undefined) {
      const secret = environ.split('\0').find((entry) => entry.startsWith('FEATHERS_MESH_SECRET='))?.slice('FEATHERS_MESH_SECRET='.length)
      expect(secret, 'a 32-byte random secret').to.have.length(44)
      expect(output).to.not.include(secret)
      expect(warnings.join('\n')).to.not.include(secret)
    }
  })

  it('relays TODOs created by others to signed-in socket clients, as the page does', async () => {
    const socket = io(url, { transports: ['websocket'] })
    sockets.push(socket)
    await emit(socket, 'create', 'authentication', { strategy: 'local', ...DEMO_USER }, {})
    const found = await emit(socket, 'find', 'todos', {})
    expect(found[0].servedBy).to.match(/^replica-[12]$/)
    const title = `from another client ${Date.now()}`
    const event = new Promise<any>((resolve) => socket.on('todos created', (todo: any) => todo.title === title && resolve(todo)))
    const created = await json(await api('/todos', { method: 'POST', body: JSON.stringify({ title }) }))
    const received = await Promise.race([event, new Promise((_, reject) => setTimeout(() => reject(new Error('no todos created event within 5 s')), 5000))])
    expect(received).to.deep.equal(created)

    const anonymous = io(url, { transports: ['websocket'] })
    sockets.push(anonymous)
    const refused = await emit(anonymous, 'find', 'todos', {}).catch((error) => error)
    expect(refused.code).to.equal(401)
  })

  it("runs the page's script: 401 before signing in, then sign-in, list, create and live TODOs with their replica", async () => {
    page = loadPage(await (await api('/')).text(), url)
    const { el } = page
    expect([el('email').value, el('password').value], 'prefilled with the seeded user').to.deep.equal([DEMO_USER.email, DEMO_USER.password])
    await poll('the page to connect', async () => (el('status').textContent.includes('Connected') ? true : undefined))

    await el('refresh').fire('click')
    expect(el('status').className).to.equal('error')
    expect(el('status').textContent).to.match(/^Not signed in \(401\)/)

    await el('login-form').fire('submit')
    expect(el('status').textContent).to.match(/TODOs from replica-[12]\./)
    expect(el('replica').textContent).to.match(/^replica-[12]$/)
    expect(el('todos').children.length).to.be.greaterThan(0)

    el('title').value = 'typed on the page'
    await el('create-form').fire('submit')
    expect(el('status').textContent).to.match(/^Created on replica-[12]\.$/)
    expect(el('todos').text).to.include('typed on the page')

    el('title').value = '   '
    await el('create-form').fire('submit')
    expect(el('status').textContent).to.match(/^Refused: /)

    const title = `created elsewhere ${Date.now()}`
    await api('/todos', { method: 'POST', body: JSON.stringify({ title }) })
    await poll('the live TODO on the page', async () => (el('todos').text.includes(title) ? true : undefined), 5000)
  })

  it('reports a replica that stops and one that dies; the gateway serves with what is left, then says none is', async () => {
    process.kill(pids['replica-2'], 'SIGTERM')
    await poll('the report of replica-2', async () => (output.includes(`replica-2 (pid ${pids['replica-2']}) exited (exit code 0)`) ? true : undefined))
    // The replica said goodbye: the next calls all land on replica-1.
    await poll('answers from replica-1 only', async () => {
      const answers = await Promise.all([1, 2, 3].map(async () => (await json(await api('/todos')))[0]?.servedBy))
      return answers.every((name) => name === 'replica-1') ? true : undefined
    })
    // A crash this time: no goodbye, the gateway notices the closed connection (or, at worst, missing heartbeats).
    process.kill(pids['replica-1'], 'SIGKILL')
    await poll('the report of replica-1', async () => (output.includes(`replica-1 (pid ${pids['replica-1']}) died (killed by SIGKILL)`) ? true : undefined))
    const status = await poll('the gateway to report no replica', async () => {
      const response = await api('/todos')
      return [404, 503].includes(response.status) ? response.status : undefined
    }, 20000)
    expect(status).to.be.oneOf([404, 503])
    // The page says it in words: 404 (the gateway dropped the proxy) or 503 (a call caught a replica leaving).
    await page!.el('refresh').fire('click')
    expect(page!.el('status').textContent).to.match(/^(No todos replica is up \(404\)|No replica could answer \(503)/)
  })

  it('stops every app on SIGINT and exits once they are gone', async () => {
    start.kill('SIGINT')
    expect(await exited).to.equal(0)
    expect(output).to.include('[start] all apps stopped')
    expect(output, 'the gateway shut down cleanly, open websocket included').to.include(`gateway (pid ${pids.gateway}) stopped (exit code 0)`)
    for (const [name, pid] of Object.entries(pids)) expect(isRunning(pid), `${name} (pid ${pid})`).to.equal(false)
  })
})

describe('example: npm start ends every app on SIGHUP (its terminal or supervisor went away)', function () {
  this.timeout(60000)
  let start: ChildProcess
  let exited: Promise<number | null>
  let output = ''
  const pids: number[] = []

  after(async () => {
    if (start && start.exitCode === null && start.signalCode === null) start.kill('SIGKILL')
    for (const pid of pids) if (isRunning(pid)) process.kill(pid, 'SIGKILL')
  })

  it('stops the apps, then exits', async () => {
    for (const port of [HTTP_PORT, HTTP_PORT + 1, HTTP_PORT + 2]) expect(await portIsFree(port), `port ${port}`).to.equal(true)
    start = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(HTTP_PORT), COTE_PORT: String(DISCOVERY_PORT), NODE_OPTIONS: `-r ${JSON.stringify(GUARD)}` },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    exited = new Promise((resolve) => start.once('exit', (code) => resolve(code)))
    const collect = (chunk: Buffer) => (output += chunk)
    start.stdout!.on('data', collect)
    start.stderr!.on('data', collect)
    await poll('the ready line of scripts/start.js', async () => (/\[start\] ready: open/.test(output) ? true : undefined), 40000)
    for (const match of output.matchAll(/\[start\] \S+ started \(pid (\d+)/g)) pids.push(Number(match[1]))
    expect(pids).to.have.length(3)
    start.kill('SIGHUP')
    expect(await exited, output).to.equal(0)
    // start.js exits only once its apps are gone.
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).to.equal(false)
  })
})
