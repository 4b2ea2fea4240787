import { expect } from 'chai'
import net from 'net'
import { Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp } from '../helpers/mesh'
import { load } from '../helpers/load'
import { socketsBy } from '../helpers/processes'

/** How a call ended, for the calls in flight when a replica dies. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: any }

describe('failures', function () {
  this.timeout(60000)
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())

  async function twoReplicas(options: Record<string, unknown> = {}) {
    const one = await mesh.child('one', { key: 'todos-app', services: ['todos'], replica: 'one' })
    const two = await mesh.child('two', { key: 'todos-app', services: ['todos'], replica: 'two' })
    const gateway = await mesh.app({ key: 'gateway', heartbeatInterval: 200, ...options })
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(() => todos.replicas.size === 2, 5000, 'both replicas')
    return { one, two, gateway, todos }
  }

  it('SIGKILL under load: reads fail over at once, writes fail fast with Unavailable, the restarted replica takes traffic', async () => {
    const { one, todos } = await twoReplicas()
    const reads = load(() => todos.find({ query: { $delay: 50 } }), { concurrency: 6 })
    const writes = load(() => todos.create({ title: 'w' }), { concurrency: 2 })
    await waitFor(() => reads.records.length > 30, 5000, 'some traffic')
    const killedAt = Date.now()
    await one.kill('SIGKILL')
    await waitFor(() => reads.records.filter((r) => r.started > killedAt + 200).length > 30, 5000, 'traffic after the kill')
    await reads.stop()
    await writes.stop()
    expect(reads.failures().map((r) => r.error?.message)).to.deep.equal([])
    const slow = [...reads.records, ...writes.records].filter((r) => r.started <= killedAt && r.ended > killedAt + 1000)
    expect(slow).to.have.length(0)
    for (const failure of writes.failures()) expect(failure.error.name).to.equal('Unavailable')
    const restarted = await mesh.child('one-again', { key: 'todos-app', services: ['todos'], replica: 'one-again' })
    await waitFor(() => todos.replicas.has(restarted.uuid), 5000, 'the restarted replica to join')
    // Only the new replica has an empty store: an empty answer is its answer.
    await waitFor(async () => (await todos.find({})).length === 0, 5000, 'the restarted replica to answer')
  })

  it('SIGSTOP: the frozen replica is dropped within the heartbeat timeout, its calls fail over, SIGCONT brings it back', async () => {
    const { two, todos, gateway } = await twoReplicas({ heartbeatTimeout: 800 })
    await todos.create({ title: 'seen' })
    const reads = load(() => todos.find({ query: { $delay: 20 } }), { concurrency: 4 })
    await waitFor(() => reads.records.length > 20, 5000, 'some traffic')
    const frozenAt = Date.now()
    two.process.kill('SIGSTOP')
    try {
      await waitFor(() => todos.replicas.size === 1, 3000, 'the frozen replica to be dropped')
      const droppedAfter = Date.now() - frozenAt
      expect(droppedAfter).to.be.below(800 + 2 * 200 + 2000) // heartbeat timeout, a sweep, and room for a loaded CI machine
      await waitFor(() => reads.records.filter((r) => r.started > Date.now() - 300 && r.ok).length > 10, 5000, 'traffic on the survivor')
    } finally {
      two.process.kill('SIGCONT')
    }
    await waitFor(() => todos.replicas.size === 2, 5000, 'the thawed replica to come back')
    await reads.stop()
    expect(reads.failures().map((r) => r.error?.message)).to.deep.equal([])
    const late = reads.records.filter((r) => r.ended - r.started > 800 + 2 * 200 + 2500)
    expect(late).to.have.length(0)
    expect(gateway.distribution.peers().some((peer: any) => peer.uuid === two.uuid)).to.equal(true)
  })

  it('a dropped connection to a live replica is re-opened and used again', async () => {
    const { two, todos } = await twoReplicas()
    const ports = await two.send({ cmd: 'ports' })
    const sockets = socketsBy('remote', ports.responder)
    expect(sockets.length).to.be.greaterThan(0)
    sockets.forEach((socket) => socket.destroy())
    await waitFor(() => socketsBy('remote', ports.responder).length > 0 && todos.replicas.size === 2, 5000, 'the connection to be re-opened')
    await two.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'on two' }] })
    await waitFor(async () => (await todos.find({ query: { title: 'on two' } })).length === 1, 5000, 'the replica to answer again')
  })

  it('graceful shutdown: calls in flight finish, new calls go elsewhere, rolling restart under load fails nothing', async () => {
    const { one, two, todos } = await twoReplicas()
    const slow = todos.find({ query: { $delay: 600 } })
    const slow2 = todos.find({ query: { $delay: 600 } })
    const stream = load(() => todos.find({ query: { $delay: 5 } }), { concurrency: 4 })
    const writes = load((i) => todos.create({ title: `w${i}` }), { concurrency: 1 })
    await waitFor(() => stream.records.length > 20, 5000, 'some traffic')
    // Replace the replicas one by one: start the new one, wait until it serves, stop the old one (SIGTERM).
    const three = await mesh.child('three', { key: 'todos-app', services: ['todos'], replica: 'three' })
    await waitFor(() => todos.replicas.size === 3, 5000, 'three to join')
    await one.kill('SIGTERM')
    // Both answered despite the stop (a rejection would throw here).
    expect(await slow).to.be.an('array')
    expect(await slow2).to.be.an('array')
    const four = await mesh.child('four', { key: 'todos-app', services: ['todos'], replica: 'four' })
    await waitFor(() => todos.replicas.has(four.uuid), 5000, 'four to join')
    await two.kill('SIGTERM')
    await waitFor(() => todos.replicas.size === 2, 5000, 'two old replicas gone')
    await waitFor(() => stream.records.filter((r) => r.ok).length > stream.records.length - 1 && stream.records.length > 100, 5000, 'more traffic')
    await stream.stop()
    await writes.stop()
    expect(stream.failures().map((r) => r.error?.message)).to.deep.equal([])
    expect(writes.failures().map((r) => r.error?.message)).to.deep.equal([])
    expect(three.uuid).to.be.a('string')
  })

  it('a call written just before the answer to a goodbye, and held up on its way, is still served', async () => {
    const leaving = await mesh.child('leaving', { key: 'late', services: ['todos:late'], replica: 'leaving' })
    const gateway = await mesh.app({ key: 'gateway-late' })
    const late = await gateway.distribution.waitForService('late')
    const { responder } = await leaving.send({ cmd: 'ports' })
    // The network holds what the gateway writes to the leaving app's responder for 300 ms; its
    // answer to the app's goodbye leaves on another connection (the app's to the gateway) at once.
    const write = net.Socket.prototype.write
    const own = Object.hasOwn(net.Socket.prototype, 'write')
    let held = 0
    net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
      if (this.remotePort !== responder) return (write as (...a: unknown[]) => boolean).apply(this, args)
      held++
      setTimeout(() => (write as (...a: unknown[]) => boolean).apply(this, args), 300)
      return true
    }
    try {
      // Not idempotent: lost on the way, it would fail with Unavailable instead of moving on.
      const created = late.create({ title: 'sent before the goodbye' })
      await waitFor(() => held > 0, 2000, 'the call to be written')
      const exited = leaving.send({ cmd: 'exit' })
      const item = await created
      expect(item).to.include({ title: 'sent before the goodbye' })
      expect(item.id).to.be.a('number')
      await exited
    } finally {
      if (own) net.Socket.prototype.write = write
      else delete (net.Socket.prototype as { write?: unknown }).write
    }
  })

  it('a single replica restarted gracefully: calls wait for its successor instead of failing', async () => {
    const only = await mesh.child('only', { key: 'solo', services: ['todos:solo'], replica: 'only' })
    const gateway = await mesh.app({ key: 'gateway-solo', replicaTimeout: 5000 })
    const solo = await gateway.distribution.waitForService('solo')
    const stream = load(() => solo.find({}), { concurrency: 2 })
    await waitFor(() => stream.records.length > 10, 5000, 'some traffic')
    await only.kill('SIGTERM')
    await mesh.child('successor', { key: 'solo', services: ['todos:solo'], replica: 'successor' })
    await waitFor(() => stream.records.filter((r) => r.ok && r.value.length === 0).length > 0 && solo.replicas.size === 1, 5000, 'the successor to answer')
    await stream.stop()
    expect(stream.failures().map((r) => r.error?.message)).to.deep.equal([])
    expect(gateway.services.solo).to.equal(solo)
  })

  it('calls waiting for a replica are bounded in number and time, then fail with Unavailable', async () => {
    const lone = await mesh.child('lone', { key: 'lone', services: ['todos:lone'] })
    const gateway = await mesh.app({ key: 'gateway-lone', replicaTimeout: 400, maxQueue: 2 })
    const service = await gateway.distribution.waitForService('lone')
    await lone.kill('SIGKILL')
    await waitFor(() => service.replicas.size === 0, 5000, 'the replica to go')
    const started = Date.now()
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => service.find({})))
    const times = Date.now() - started
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected', 'rejected', 'rejected'])
    for (const result of results) expect((result as PromiseRejectedResult).reason.name).to.equal('Unavailable')
    expect(times).to.be.within(350, 2000)
    await waitFor(() => !gateway.services.lone, 3000, 'the proxy to be removed after replicaTimeout')
  })

  /**
   * Makes `count` slow calls at once (each marked, so a replica shows it started one), waits until
   * both replicas are running some, then kills `victim`: its calls are in flight when it dies.
   */
  async function killMidCall(call: (query: Record<string, unknown>) => Promise<unknown>, victim: ChildApp, survivor: ChildApp, count = 8): Promise<Outcome[]> {
    const mark = `m${Date.now()}`
    const outcomes = Array.from({ length: count }, () =>
      call({ $delay: 600, $mark: mark }).then(
        (value): Outcome => ({ ok: true, value }),
        (error): Outcome => ({ ok: false, error })
      )
    )
    const started = async (child: ChildApp) => (await child.send({ cmd: 'lastParams', path: 'todos' }))?.query?.$mark === mark
    await waitFor(async () => (await started(victim)) && (await started(survivor)), 5000, 'calls running on both replicas')
    await victim.kill('SIGKILL')
    return Promise.all(outcomes)
  }

  it('idempotentMethods (default find, get): a find in flight on a replica that dies is retried on another, and counted', async () => {
    const { one, two, gateway, todos } = await twoReplicas()
    const outcomes = await killMidCall((query) => todos.find({ query }), one, two)
    expect(outcomes.filter((outcome) => !outcome.ok).map((outcome: any) => outcome.error.message)).to.deep.equal([])
    expect(gateway.distribution.status().counters.retries).to.be.at.least(1)
  })

  it('idempotentMethods: a method left out is not retried (Unavailable), one added is', async () => {
    const { one, two, gateway, todos } = await twoReplicas({ idempotentMethods: ['get', 'create'] })
    const finds = await killMidCall((query) => todos.find({ query }), one, two)
    const failed = finds.filter((outcome) => !outcome.ok) as Array<{ ok: false; error: any }>
    expect(failed.length, 'the finds that were on the dead replica').to.be.at.least(1)
    for (const { error } of failed) expect([error.name, error.code]).to.deep.equal(['Unavailable', 503])
    expect(finds.some((outcome) => outcome.ok), 'the finds on the survivor').to.equal(true)
    expect(gateway.distribution.status().counters.retries).to.equal(0)

    const three = await mesh.child('three', { key: 'todos-app', services: ['todos'], replica: 'three' })
    await waitFor(() => todos.replicas.size === 2 && todos.replicas.has(three.uuid), 5000, 'a new second replica')
    const creates = await killMidCall((query) => todos.create({ title: 'retried' }, { query }), two, three)
    expect(creates.filter((outcome) => !outcome.ok).map((outcome: any) => outcome.error.message)).to.deep.equal([])
    expect(creates.every((outcome: any) => outcome.value.title === 'retried')).to.equal(true)
    expect(gateway.distribution.status().counters.retries).to.be.at.least(1)
  })

  it('maxRetries: 0 lets no call move on, idempotent or not', async () => {
    const { one, two, gateway, todos } = await twoReplicas({ maxRetries: 0 })
    const outcomes = await killMidCall((query) => todos.find({ query }), two, one)
    const failed = outcomes.filter((outcome) => !outcome.ok) as Array<{ ok: false; error: any }>
    expect(failed.length, 'the finds that were on the dead replica').to.be.at.least(1)
    for (const { error } of failed) expect(error.name).to.equal('Unavailable')
    expect(gateway.distribution.status().counters.retries).to.equal(0)
  })

  /**
   * One slow find, on three replicas: each replica that starts it is killed while it runs, until the
   * call settles or `deaths` replicas died. Returns how it ended and the replicas left.
   */
  async function chaseOneCall(options: Record<string, unknown>, deaths: number) {
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map((name) => mesh.child(name, { key: 'todos-app', services: ['todos'], replica: name })))
    const gateway = await mesh.app({ key: 'gateway', heartbeatInterval: 200, timeout: 30_000, ...options })
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(() => todos.replicas.size === 3, 5000, 'three replicas')
    const mark = `c${Date.now()}`
    // Long enough for the test to find the replica running it and kill it, on a slow machine too.
    let settled = false
    const outcome = todos.find({ query: { $delay: 4000, $mark: mark } }).then(
      (value: unknown): Outcome => ({ ok: true, value }),
      (error: any): Outcome => ({ ok: false, error })
    )
    void outcome.then(() => (settled = true))
    const alive = [...replicas]
    for (let death = 0; death < deaths && !settled; death++) {
      const running: ChildApp = await waitFor(async () => {
        for (const replica of alive) if ((await replica.send({ cmd: 'lastParams', path: 'todos' }))?.query?.$mark === mark) return replica
        return undefined
      }, 5000, `a replica running the call (death ${death + 1})`).then((replica) => replica!)
      alive.splice(alive.indexOf(running), 1)
      await running.kill('SIGKILL')
    }
    return { outcome: await outcome, alive, gateway, todos }
  }

  it('maxRetries caps the replicas a call moves on to: with 1, a find whose second replica dies too fails, though a third is up', async () => {
    const { outcome, alive, gateway, todos } = await chaseOneCall({ maxRetries: 1 }, 2)
    expect(outcome.ok, 'the find').to.equal(false)
    expect((outcome as any).error.name).to.equal('Unavailable')
    expect(gateway.distribution.status().counters.retries).to.equal(1)
    // The third replica was there all along, and serves the next call.
    expect(alive).to.have.length(1)
    await waitFor(() => todos.replicas.size === 1, 5000, 'the dead replicas to go')
    expect(todos.replicas.has(alive[0].uuid)).to.equal(true)
    expect(await todos.find({ query: {} })).to.be.an('array')
  })

  it('maxRetries (default 2): a find whose first two replicas die one after the other is served by the third', async () => {
    const { outcome, alive, gateway } = await chaseOneCall({}, 2)
    expect(outcome.ok, `the find: ${(outcome as any).error?.message}`).to.equal(true)
    expect(gateway.distribution.status().counters.retries).to.equal(2)
    expect(alive).to.have.length(1)
    expect(await alive[0].send({ cmd: 'lastParams', path: 'todos' })).to.have.nested.property('query.$delay')
  })
})
