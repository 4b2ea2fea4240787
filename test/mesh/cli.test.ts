/**
 * `feathers-mesh status`, the compiled CLI (lib/cli.js) run as a process against a mesh of child
 * apps: what it reports, its exit codes, and that the apps never count it as a replica.
 */
import { expect } from 'chai'
import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import fs from 'fs'
import os from 'os'
import path from 'path'
import { discoveryPort, GUARD, LOOPBACK_BROADCAST, Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp } from '../helpers/mesh'
import { holdPorts } from '../helpers/ports'

const CLI = path.join(__dirname, '..', '..', '..', 'lib', 'cli.js')
const OBSERVER_KEY = 'feathers-mesh-cli'
// One heartbeat setting for the whole mesh, the CLI included (HEARTBEAT_INTERVAL, as for an app).
const HEARTBEAT = 1000
const SECRET = 'cli-test-mesh-secret-0123456789'
const OTHER_SECRET = 'another-mesh-secret-9876543210'

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

describe('feathers-mesh status (CLI)', function () {
  const mesh = new Mesh(__filename)
  // Two more discovery ports of this file's own: a sealed mesh, and one where no app runs.
  const sealed = new Mesh(__filename.replace(/\.js$/, '.sealed.js'))
  const emptyPort = discoveryPort(__filename.replace(/\.js$/, '.empty.js'))
  const running = new Set<ChildProcess>()
  const cliUuids = new Set<string>()
  const observerSightings: Array<{ uuid: string; key: string; services: string[] }> = []
  const replicaUuids = new Set<string>()
  const mountedKeys: string[] = []
  let poll: NodeJS.Timeout
  let one: ChildApp
  let two: ChildApp
  let other: ChildApp
  let gateway: any
  let servicesBefore: string[][]

  /** The discovery settings every run shares; `--wait` is the CLI's own, documented discovery wait. */
  const discovery = (port = mesh.port) => ['--port', String(port), '--broadcast', LOOPBACK_BROADCAST, '--hello', '200', '--wait', '1500']

  function cli(args: string[], onLine?: (line: string) => void, extraEnv: Record<string, string> = {}): Promise<Run> {
    const env: NodeJS.ProcessEnv = {}
    for (const [name, value] of Object.entries(process.env)) if (!/^(COTE_|FEATHERS_MESH_|HEARTBEAT_INTERVAL)/.test(name)) env[name] = value
    env.HEARTBEAT_INTERVAL = String(HEARTBEAT)
    Object.assign(env, extraEnv)
    const child = spawn(process.execPath, ['-r', GUARD, CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    const run: Run = { code: null, signal: null, stdout: '', stderr: '' }
    let pending = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      run.stdout += chunk
      pending += chunk
      let end: number
      while ((end = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, end)
        pending = pending.slice(end + 1)
        onLine?.(line)
      }
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk))
    return new Promise<Run>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, signal) => {
        running.delete(child)
        resolve(Object.assign(run, { code, signal }))
      })
    }).then((result) => {
      // The CLI closes its mesh and ends on its own: it never needs its exit fallback.
      expect(result.signal).to.equal(null)
      expect(result.stderr).not.to.include('still open')
      return result
    })
  }

  function json(run: Run) {
    const report = JSON.parse(run.stdout)
    cliUuids.add(report.observer.uuid)
    return report
  }

  const keyOf = (report: any, key: string) => report.keys.find((k: any) => k.key === key)
  const replicasOf = (report: any, key: string, path: string) =>
    Object.fromEntries(keyOf(report, key).services.find((s: any) => s.path === path).replicas.map((r: any) => [r.uuid, r]))

  before(async () => {
    const options = { heartbeatInterval: HEARTBEAT }
    ;[one, two, other] = await Promise.all([
      mesh.child('one', { key: 'todos', services: ['todos'], replica: 'one', options }),
      mesh.child('two', { key: 'todos', services: ['todos'], replica: 'two', options }),
      mesh.child('other', { key: 'echo-app', services: ['echo'], options })
    ])
    gateway = await mesh.app({ key: 'gateway', heartbeatInterval: HEARTBEAT })
    gateway.on('service', (event: any) => mountedKeys.push(event.key))
    const todos = await gateway.distribution.waitForService('todos')
    await gateway.distribution.waitForService('echo')
    await waitFor(() => todos.replicas.size === 2, 5000, 'both todos replicas')
    // The children see each other's services too before theirs are taken as "before any run".
    const complete = (services: string[]) => ['todos', 'echo'].every((path) => services.includes(path))
    servicesBefore = await waitFor(async (): Promise<string[][] | false> => {
      const lists: string[][] = await Promise.all([one, two, other].map((child) => child.send({ cmd: 'services' })))
      return lists.every(complete) && lists
    }, 5000, "the children to see each other's services") as string[][]
    // What the gateway makes of every CLI run: observers seen as peers, and the replicas of its proxies.
    poll = setInterval(() => {
      for (const peer of gateway.distribution.peers()) if (peer.key === OBSERVER_KEY) observerSightings.push(peer)
      for (const proxy of gateway.distribution.status().proxies) for (const replica of proxy.replicas) replicaUuids.add(replica.uuid)
    }, 20)
  })

  after(async () => {
    clearInterval(poll)
    for (const child of running) child.kill('SIGKILL') // only CLIs this file started, if a test failed
    for (const child of [one, two, other]) if (child?.process.exitCode === null) child.process.kill('SIGCONT')
    await Promise.all([mesh.close(), sealed.close()])
  })

  it('prints usage errors with exit code 1, and the help with exit code 0', async () => {
    const [unknownOption, badPort, unknownCommand, missingValue, help] = await Promise.all([
      cli(['status', '--bogus']),
      cli(['status', '--port', 'abc']),
      cli(['frobnicate']),
      cli(['status', '--key']),
      cli(['--help'])
    ])
    expect(unknownOption.code).to.equal(1)
    expect(unknownOption.stderr).to.include('unknown option "--bogus"')
    expect(badPort.code).to.equal(1)
    expect(badPort.stderr).to.include('--port must be a whole number from 1 to 65535, got "abc"')
    expect(unknownCommand.code).to.equal(1)
    expect(unknownCommand.stderr).to.include('unknown command "frobnicate"')
    expect(missingValue.code).to.equal(1)
    expect(missingValue.stderr).to.include('--key needs a value')
    for (const run of [unknownOption, badPort, unknownCommand, missingValue]) expect(run.stdout).to.equal('')
    expect(help.code).to.equal(0)
    expect(help.stdout).to.include('Usage: feathers-mesh status')
  })

  it('refuses --timeout 0 (no deadline) and milliseconds a Node timer cannot wait, naming the flag', async () => {
    // With this file's discovery settings: a run that got past its flags would join this mesh only.
    const runs = await Promise.all(
      [['--timeout', '0'], ['--timeout', '3000000000'], ['--wait', '3000000000'], ['--interval=2147483648', '--watch-count', '2'], ['--hello', '900000000']].map((flags) =>
        cli(['status', ...discovery(), ...flags])
      )
    )
    expect(runs.map((run) => run.code)).to.deep.equal([1, 1, 1, 1, 1])
    expect(runs.map((run) => run.stderr.split('\n')[0])).to.deep.equal([
      'feathers-mesh: --timeout must be a whole number from 1 to 2147483647, got "0"',
      'feathers-mesh: --timeout must be a whole number from 1 to 2147483647, got "3000000000"',
      'feathers-mesh: --wait must be a whole number from 0 to 2147483647, got "3000000000"',
      'feathers-mesh: --interval must be a whole number from 0 to 2147483647, got "2147483648"',
      'feathers-mesh: --hello must be a whole number from 1 to 858993458, got "900000000"'
    ])
    for (const run of runs) expect(run.stdout).to.equal('')
  })

  it('--json lists every app, the replicas of each service and their health; exit code 0', async () => {
    const run = await cli(['status', ...discovery(), '--json'])
    expect(run.code, run.stderr).to.equal(0)
    const report = json(run)
    expect(report.ok).to.equal(true)
    expect(report.problems).to.deep.equal([])
    expect(report.observer).to.include({ key: OBSERVER_KEY, port: mesh.port, broadcast: LOOPBACK_BROADCAST, protocol: 1 })
    const apps = Object.fromEntries(report.apps.map((app: any) => [app.uuid, app]))
    expect(apps[one.uuid]).to.include({ key: 'todos', state: 'admitted' })
    expect(apps[one.uuid].services).to.deep.equal(['todos'])
    expect(apps[two.uuid]).to.include({ key: 'todos', state: 'admitted' })
    expect(apps[other.uuid]).to.include({ key: 'echo-app', state: 'admitted' })
    expect(apps[other.uuid].services).to.deep.equal(['echo'])
    expect(apps[gateway.distribution.uuid]).to.include({ key: 'gateway', state: 'admitted' })
    expect(apps[gateway.distribution.uuid].services).to.deep.equal([])
    expect(report.apps.some((app: any) => app.key === OBSERVER_KEY)).to.equal(false)

    expect(keyOf(report, 'todos').status).to.equal(200)
    const todos = replicasOf(report, 'todos', 'todos')
    expect(Object.keys(todos).sort()).to.deep.equal([one.uuid, two.uuid].sort())
    for (const replica of Object.values(todos)) expect(replica).to.include({ health: 'answering' })
    expect(replicasOf(report, 'echo-app', 'echo')[other.uuid]).to.include({ health: 'answering' })
    expect(keyOf(report, 'gateway')).to.include({ status: 200 })
  })

  it('prints a table of apps and of replicas with their health', async () => {
    const run = await cli(['status', ...discovery()])
    expect(run.code, run.stderr).to.equal(0)
    for (const text of ['APP', 'KEY', 'STATE', 'SERVICES', 'SERVICE', 'REPLICA', 'HEALTH', 'echo-app', 'admitted', 'answering', 'OK: 4 app(s), 3 replica(s), all answering']) {
      expect(run.stdout).to.include(text)
    }
    for (const child of [one, two, other]) expect(run.stdout).to.include(child.uuid.slice(0, 8))
    expect(run.stdout).to.match(new RegExp(`todos\\s+todos\\s+${one.uuid.slice(0, 8)}\\s+answering`))
    expect(run.stdout).not.to.include('not answering')
  })

  it('--key narrows the report to one key, and a key no app has fails (two CLIs at once ignore each other)', async () => {
    const [todos, nothing] = await Promise.all([cli(['status', ...discovery(), '--json', '--key', 'todos']), cli(['status', ...discovery(), '--json', '--key', 'nothing'])])
    expect(todos.code, todos.stderr).to.equal(0)
    const report = json(todos)
    expect(report.keys.map((k: any) => k.key)).to.deep.equal(['todos'])
    expect(report.apps.map((app: any) => app.uuid).sort()).to.deep.equal([one.uuid, two.uuid].sort())
    expect(nothing.code).to.equal(1)
    const missing = json(nothing)
    expect(missing.ok).to.equal(false)
    expect(missing.keys).to.deep.equal([{ key: 'nothing', status: 404, message: 'no app of key nothing is known', services: [], unavailable: [], refused: [] }])
    expect(missing.problems).to.deep.equal(['key nothing: no app of this key is known'])
  })

  /** Two rounds of `--watch --json` (and `flags`), replica `two` frozen (SIGSTOP) right after the first. */
  async function freezeAfterFirstRound(flags: string[], env: Record<string, string> = {}) {
    const reports: any[] = []
    let frozen = false
    const run = cli(['status', ...discovery(), '--json', '--watch-count', '2', ...flags], (line) => {
      const report = JSON.parse(line)
      cliUuids.add(report.observer.uuid)
      reports.push(report)
      // Right after the first round, during the CLI's interval: freeze one replica (its sockets stay open).
      if (reports.length === 1 && report.ok) {
        two.process.kill('SIGSTOP')
        frozen = true
      }
    }, env)
    let result: Run
    try {
      result = await run
    } finally {
      if (frozen) two.process.kill('SIGCONT')
    }
    expect(reports).to.have.length(2)
    const [before, after] = reports
    expect(before.ok, JSON.stringify(before.problems)).to.equal(true)
    expect(Object.values(replicasOf(before, 'todos', 'todos')).map((r: any) => r.health)).to.deep.equal(['answering', 'answering'])
    return { result, before, after }
  }

  it('--watch reports a replica that freezes as not answering, with exit code 1', async () => {
    const { result, after } = await freezeAfterFirstRound(['--interval', '1000', '--timeout', '500'])
    expect(result.code).to.equal(1)
    expect(after.ok).to.equal(false)
    expect(keyOf(after, 'todos').status).to.equal(503)
    const replicas = replicasOf(after, 'todos', 'todos')
    expect(replicas[one.uuid]).to.include({ health: 'answering' })
    expect(replicas[two.uuid]).to.include({ health: 'not answering', reason: 'no answer within 500 ms' })
    expect(after.problems).to.deep.equal([`key todos: 1 app(s) not answering: ${two.uuid.slice(0, 8)} (no answer within 500 ms)`])
    expect(replicasOf(after, 'echo-app', 'echo')[other.uuid]).to.include({ health: 'answering' })
  })

  it('--interval and --timeout default to 2000 ms each', async () => {
    // The observer expects heartbeats far apart: the frozen replica's silence must not end the ping first.
    const { result, before, after } = await freezeAfterFirstRound(['--key', 'todos'], { HEARTBEAT_INTERVAL: '5000' })
    expect(result.code).to.equal(1)
    expect(replicasOf(after, 'todos', 'todos')[two.uuid]).to.include({ health: 'not answering', reason: 'no answer within 2000 ms' })
    // Each report is stamped once its round's checks are done: the interval, then the frozen replica's 2 s.
    const apart = Date.parse(after.at) - Date.parse(before.at)
    expect(apart, 'ms between the two reports').to.be.within(3950, 9000)
  })

  it('a mesh that cannot start (no free port in BASE_PORT-HIGHEST_PORT) exits 1 and says why once, on stderr', async () => {
    const held = await holdPorts(2)
    const [first, last] = [String(held.port), String(held.port + 1)]
    try {
      const run = await cli(['status', ...discovery(emptyPort)], undefined, { BASE_PORT: first, HIGHEST_PORT: last })
      expect(run.code).to.equal(1)
      expect(run.stdout).to.equal('')
      expect(run.stderr.trim()).to.equal(`feathers-mesh: the mesh did not start: no free port between BASE_PORT ${first} and HIGHEST_PORT ${last}`)
    } finally {
      await held.close()
    }
  })

  it('--watch redraws until Ctrl-C (SIGINT), then closes its mesh and exits with the code of its last round', async () => {
    const reports: any[] = []
    const run = cli(['status', ...discovery(), '--json', '--watch', '--interval', '300', '--key', 'todos'], (line) => {
      const report = JSON.parse(line)
      cliUuids.add(report.observer.uuid)
      reports.push(report)
    })
    const child = [...running].pop()!
    await waitFor(() => reports.length >= 2, 15000, 'two rounds')
    child.kill('SIGINT')
    const result = await run
    // It ended on its own, by its handler, not by the signal's default action.
    expect(result.signal).to.equal(null)
    expect(result.code, result.stderr).to.equal(reports[reports.length - 1].ok ? 0 : 1)
    expect(result.stderr).not.to.match(/still open/)
  })

  it('--help into a pipe whose reader has gone exits 0, without an EPIPE trace', async () => {
    const child = spawn(process.execPath, ['-r', GUARD, CLI, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    child.stdout!.destroy() // gone before the CLI (still starting) writes
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const code = await new Promise((resolve) => child.once('close', (exit) => resolve(exit)))
    running.delete(child)
    expect(stderr).not.to.match(/EPIPE|Error/)
    expect(code, stderr).to.equal(0)
  })

  it('--watch whose reader goes away (`| head`) stops writing, closes its mesh and exits on its own, without an EPIPE trace', async () => {
    const reports: any[] = []
    let child: ChildProcess | undefined
    // Many rounds, far apart: only the closed pipe can end this run within the test's timeout.
    const run = cli(['status', ...discovery(), '--json', '--watch', '--interval', '300', '--watch-count', '1000', '--key', 'todos'], (line) => {
      reports.push(JSON.parse(line))
      if (reports.length === 1) child!.stdout!.destroy()
    })
    child = [...running].pop()!
    const result = await run
    expect(reports).to.have.length(1)
    expect(result.stderr).not.to.match(/EPIPE|Error|at /)
    expect(result.code, result.stderr).to.equal(reports[0].ok ? 0 : 1)
  })

  it('on a sealed mesh, checks the apps with FEATHERS_MESH_SECRET or FEATHERS_MESH_SECRET_FILE; without it or with another, lists them as refused and exits 1', async () => {
    expect(new Set([mesh.port, sealed.port, emptyPort]).size).to.equal(3)
    const options = { heartbeatInterval: HEARTBEAT, secret: SECRET }
    const vault = await Promise.all(['a', 'b'].map((name) => sealed.child(`vault-${name}`, { key: 'vault', services: ['todos'], replica: name, options })))
    const uuids = vault.map((child) => child.uuid).sort()
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-cli-secret-'))
    try {
      const file = path.join(dir, 'mesh_secret')
      fs.writeFileSync(file, `${SECRET}\n`)
      const args = ['status', ...discovery(sealed.port), '--json']
      const [fromVariable, fromFile, without, other] = await Promise.all([
        cli(args, undefined, { FEATHERS_MESH_SECRET: SECRET }),
        cli(args, undefined, { FEATHERS_MESH_SECRET_FILE: file }),
        cli(args),
        cli(args.slice(0, -1), undefined, { FEATHERS_MESH_SECRET: OTHER_SECRET })
      ])
      for (const run of [fromVariable, fromFile]) {
        expect(run.code, run.stderr).to.equal(0)
        const report = JSON.parse(run.stdout)
        expect(report.ok, JSON.stringify(report.problems)).to.equal(true)
        expect(report.apps.map((app: any) => `${app.uuid} ${app.state}`).sort()).to.deep.equal(uuids.map((uuid) => `${uuid} admitted`))
        expect(keyOf(report, 'vault').status).to.equal(200)
        expect(Object.keys(replicasOf(report, 'vault', 'todos')).sort()).to.deep.equal(uuids)
      }
      // Without the secret the sealed apps cannot be opened: listed as refused (never as admitted), and
      // since every app seen was refused, the run fails. (The other CLIs of this test are left out.)
      expect(without.code).to.equal(1)
      const refused = JSON.parse(without.stdout)
      expect(refused.ok).to.equal(false)
      expect(refused.apps).not.to.be.empty
      for (const app of refused.apps) expect(app).to.include({ key: 'vault', state: 'refused' })
      expect(keyOf(refused, 'vault')).to.include({ status: null })
      expect(keyOf(refused, 'vault').refused).not.to.be.empty
      expect(refused.problems).to.deep.equal(['every app seen was refused: check FEATHERS_MESH_SECRET (or FEATHERS_MESH_SECRET_FILE) and the versions'])
      // Another secret: the same, in the tables.
      expect(other.code).to.equal(1)
      expect(other.stdout).to.match(/^vault\s+-\s+\S+\s+refused: seals its messages with another mesh secret$/m)
      expect(other.stdout).not.to.match(/answering/)
      expect(other.stdout).to.include('FAIL: every app seen was refused')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reads COTE_PORT, --port wins over it, and a run that sees no app exits 0', async () => {
    // --broadcast stays a flag: were the variable not read, cote would fall back to its global broadcast address (the guard refuses it).
    const flags = ['--broadcast', LOOPBACK_BROADCAST, '--hello', '200', '--wait', '1500', '--json']
    const [fromVariable, flagWins, nothing] = await Promise.all([
      cli(['status', ...flags], undefined, { COTE_PORT: String(mesh.port) }),
      cli(['status', '--port', String(mesh.port), ...flags], undefined, { COTE_PORT: String(emptyPort) }),
      cli(['status', '--port', String(emptyPort), ...flags], undefined, { COTE_PORT: String(mesh.port) })
    ])
    for (const run of [fromVariable, flagWins]) {
      expect(run.code, run.stderr).to.equal(0)
      const report = json(run)
      expect(report.observer).to.include({ port: mesh.port, broadcast: LOOPBACK_BROADCAST })
      expect(report.apps.map((app: any) => app.uuid)).to.include.members([one.uuid, two.uuid, other.uuid])
    }
    // --port names a port where no app runs: the variable's mesh is not seen, and nothing to check is a pass.
    expect(nothing.code, nothing.stderr).to.equal(0)
    const empty = json(nothing)
    expect(empty.observer.port).to.equal(emptyPort)
    expect(empty).to.deep.include({ ok: true, problems: [], apps: [], keys: [] })
  })

  it('was a peer without services to the apps, never a replica, and changed no app', async () => {
    // The gateway saw the observers join (the goodbye of each removed it again)...
    expect(observerSightings.length).to.be.greaterThan(0)
    expect(observerSightings.some((peer) => cliUuids.has(peer.uuid))).to.equal(true)
    for (const peer of observerSightings) expect(peer.services).to.deep.equal([])
    // ...mounted nothing of theirs, and never counted one as a replica.
    expect(mountedKeys).not.to.include(OBSERVER_KEY)
    for (const uuid of replicaUuids) expect([one.uuid, two.uuid, other.uuid]).to.include(uuid)
    for (const uuid of cliUuids) expect(replicaUuids.has(uuid)).to.equal(false)
    expect(gateway.distribution.peers().filter((peer: any) => peer.key === OBSERVER_KEY)).to.deep.equal([])
    // The children's services are what they were before any run: no proxy of an observer appeared.
    const servicesAfter = await Promise.all([one, two, other].map((child) => child.send({ cmd: 'services' })))
    expect(servicesAfter).to.deep.equal(servicesBefore)
  })
})
