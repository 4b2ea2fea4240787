import { expect } from 'chai'
import { spawnSync } from 'child_process'
import { feathers } from '@feathersjs/feathers'
import { distribution, finalize } from '../../src'
import { GUARD, TRANSPORTS, Mesh, waitFor } from '../helpers/mesh'
import { http } from '../helpers/clients'

/**
 * Waits for `predicate` without ever yielding: this process's event loop (and so the mesh of every
 * app in it) reads nothing meanwhile. Each check may only look outside the process, synchronously.
 */
function holdLoopUntil(predicate: () => boolean, timeout: number, what: string) {
  const deadline = Date.now() + timeout
  while (!predicate()) if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
}

/** The HTTP status of GET `url`, fetched by another process (the network guard preloaded). */
function statusSync(url: string): number {
  const script = `fetch(${JSON.stringify(url)}).then((r) => console.log(r.status), () => console.log(0))`
  return Number(spawnSync(process.execPath, ['-r', GUARD, '-e', script], { encoding: 'utf8' }).stdout.trim())
}

for (const transport of TRANSPORTS) describe(`healthcheck (${transport})`, function () {
  const mesh = new Mesh(__filename)
  let gateway: any
  let one: Awaited<ReturnType<Mesh['child']>>
  let two: Awaited<ReturnType<Mesh['child']>>

  before(async () => {
    one = await mesh.child('one', { key: 'todos-app', services: ['todos', 'echo'] })
    two = await mesh.child('two', { key: 'todos-app', services: ['todos'] })
    await mesh.child('default-key', { services: ['todos:default-todos'] })
    gateway = await mesh.app({ key: 'gateway', healthcheckTimeout: 500, timeout: 20000 }, undefined, transport)
    await gateway.distribution.waitForService('echo')
    await gateway.distribution.waitForService('default-todos')
    await waitFor(() => gateway.distribution.peers().filter((p: any) => p.key === 'todos-app').length === 2, 5000, 'both replicas')
  })
  after(() => mesh.close())

  it('answers 200 with the services of the key and the replicas serving each', async () => {
    const response = await http(`${gateway.url}/distribution/healthcheck/todos-app`)
    expect(response.status).to.equal(200)
    expect(response.body.key).to.equal('todos-app')
    expect(response.body.services.todos.sort()).to.deep.equal([one.uuid, two.uuid].sort())
    expect(response.body.services.echo).to.deep.equal([one.uuid])
  })

  it("uses the 'default' key when the key is left out", async () => {
    const response = await http(`${gateway.url}/distribution/healthcheck/`)
    expect(response.status).to.equal(200)
    expect(response.body.key).to.equal('default')
    expect(Object.keys(response.body.services)).to.deep.equal(['default-todos'])
  })

  it('answers 404 for an unknown key', async () => {
    const response = await http(`${gateway.url}/distribution/healthcheck/nobody`)
    expect(response.status).to.equal(404)
  })

  it('answers 404 with a body of the key and a message only', async () => {
    const response = await http(`${gateway.url}/distribution/healthcheck/nobody`)
    expect(response.status).to.equal(404)
    expect(response.body).to.have.all.keys('key', 'message')
    expect(response.body.key).to.equal('nobody')
    expect(response.body.message).to.be.a('string').and.include('nobody')
  })

  it('answers 400 naming the key for a malformed percent-escape, and decodes a well-formed one', async () => {
    for (const raw of ['%E0%A4%A', '%']) {
      const response = await http(`${gateway.url}/distribution/healthcheck/${raw}`)
      expect(response.status, raw).to.equal(400)
      expect(response.body).to.deep.equal({ key: raw, message: 'The key is not a valid percent-encoded string' })
    }
    const response = await http(`${gateway.url}/distribution/healthcheck/todos%2Dapp`)
    expect(response.status).to.equal(200)
    expect(response.body.key).to.equal('todos-app')
  })

  it('answers HEAD with the status of GET and no body', async () => {
    for (const [key, status] of [['todos-app', 200], ['nobody', 404]] as const) {
      const response = await fetch(`${gateway.url}/distribution/healthcheck/${key}`, { method: 'HEAD' })
      expect(response.status, key).to.equal(status)
      expect(await response.text()).to.equal('')
    }
  })

  it("answers 503 'not served any more' for a replica that no longer serves a path it announced", async () => {
    const fickle = await mesh.child('fickle', { key: 'fickle-app', services: ['todos:fickle'] })
    await waitFor(() => gateway.distribution.peers().some((p: any) => p.uuid === fickle.uuid && p.services.includes('fickle')), 5000, 'the gateway to know fickle')
    // The state lasts from the replica's withdrawal until the gateway reads its announcement, a race
    // window. The gateway lives in this process: holding its loop until the replica answers 404 keeps
    // it in that window: the healthcheck builds its ping at once, still naming the path.
    const unused = fickle.send({ cmd: 'unuse', path: 'fickle' })
    holdLoopUntil(() => statusSync(`${fickle.url}/fickle`) === 404, 10000, 'fickle to stop serving /fickle')
    const health = gateway.distribution.healthcheck('fickle-app')
    await unused
    const { status, body } = await health
    expect(status).to.equal(503)
    expect(body).to.deep.equal({ key: 'fickle-app', services: {}, unavailable: [{ uuid: fickle.uuid, paths: ['fickle'], reason: 'not served any more' }] })
    // Once the announcement is read, the gateway no longer expects the path: the replica passes again.
    await waitFor(async () => (await gateway.distribution.healthcheck('fickle-app')).status === 200, 5000, 'the check to pass again')
    await fickle.kill()
  })

  it("answers 503 'the mesh is starting' before this app has announced itself, though it knows the replicas", async () => {
    // publicationDelay holds the app between joining the mesh (it greets and knows its peers) and its ready.
    let starting: any
    const ready = mesh.app({ key: 'starting', publicationDelay: 60_000 }, (app) => (starting = app), transport)
    try {
      await waitFor(() => starting?.url && starting.distribution.peers().filter((p: any) => p.key === 'todos-app').length === 2, 5000, 'the starting app to know both replicas')
      const response = await http(`${starting.url}/distribution/healthcheck/todos-app`)
      expect(response.status).to.equal(503)
      expect(response.body).to.deep.equal({ key: 'todos-app', message: 'the mesh is starting' })
      // The function answers as the route does.
      expect(await starting.distribution.healthcheck('todos-app')).to.deep.equal({ status: 503, body: { key: 'todos-app', message: 'the mesh is starting' } })
    } finally {
      await finalize(starting) // ends the delay, so `ready` resolves
      await ready
    }
  })

  it("answers 503 'the mesh is closed' once this app's mesh is closed, over the route and from the function", async () => {
    const closed = await mesh.app({ key: 'closed' }, undefined, transport)
    await waitFor(() => closed.distribution.peers().filter((p: any) => p.key === 'todos-app').length === 2, 5000, 'the app to know both replicas')
    expect((await http(`${closed.url}/distribution/healthcheck/todos-app`)).status).to.equal(200)
    await finalize(closed)
    const response = await http(`${closed.url}/distribution/healthcheck/todos-app`)
    expect([response.status, response.body]).to.deep.equal([503, { key: 'todos-app', message: 'the mesh is closed' }])
    expect(await closed.distribution.healthcheck('todos-app')).to.deep.equal({ status: 503, body: { key: 'todos-app', message: 'the mesh is closed' } })
  })

  it('answers 503 naming the replica that does not answer, within the healthcheck timeout', async () => {
    two.process.kill('SIGSTOP')
    try {
      const started = Date.now()
      const response = await http(`${gateway.url}/distribution/healthcheck/todos-app`)
      const took = Date.now() - started
      expect(response.status).to.equal(503)
      expect(response.body.unavailable).to.have.length(1)
      expect(response.body.unavailable[0].uuid).to.equal(two.uuid)
      expect(response.body.unavailable[0].paths).to.deep.equal(['todos'])
      expect(took).to.be.below(2000) // bounded by healthcheckTimeout (500 ms), not by the 20 s call timeout
    } finally {
      two.process.kill('SIGCONT')
    }
  })

  it('answers 200 for a key whose path is named as a member of Object.prototype (toString)', async () => {
    // A bare Feathers app may serve such a path (Express's router could not); the replica list must not find the member.
    const provider: any = feathers()
    provider.configure(distribution(mesh.options({ key: `odd-paths-${transport}` })))
    try {
      provider.use('toString', { async find() { return [] } })
      provider.use('echo', { async find() { return [] } })
      await provider.distribution.ready
      await waitFor(() => gateway.distribution.peers().some((p: any) => p.key === `odd-paths-${transport}` && p.services.length === 2), 5000, 'the provider of toString')
      const response = await http(`${gateway.url}/distribution/healthcheck/odd-paths-${transport}`)
      expect(response.status, JSON.stringify(response.body)).to.equal(200)
      expect(response.body.services.toString).to.deep.equal([provider.distribution.uuid])
    } finally {
      await finalize(provider)
    }
  })

  it('serves a custom healthcheckPath, with or without a trailing slash', async () => {
    const app = await mesh.app({ key: 'custom', healthcheckPath: '/health' }, undefined, transport)
    await app.distribution.waitForService('echo')
    const response = await http(`${app.url}/health/todos-app`)
    expect(response.status).to.equal(200)
  })

  it("takes healthcheckPath: '' for the default path (as feathers-distributed), leaving single-segment routes to the app", async () => {
    const app = await mesh.app({ key: 'empty-path', healthcheckPath: '', services: [] }, (app) => app.use('pages', { async find() { return { page: true } } }), transport)
    await app.distribution.waitForService('echo')
    expect((await http(`${app.url}/distribution/healthcheck/todos-app`)).status).to.equal(200)
    const page = await http(`${app.url}/pages`)
    expect([page.status, page.body]).to.deep.equal([200, { page: true }])
  })

  it('is off with healthcheckPath: false', async () => {
    const app = await mesh.app({ key: 'no-health', healthcheckPath: false }, undefined, transport)
    await app.distribution.waitForService('echo')
    const response = await fetch(`${app.url}/distribution/healthcheck/todos-app`)
    expect(response.status).to.equal(404)
    expect((await app.distribution.healthcheck('todos-app')).status).to.equal(200)
  })
})
