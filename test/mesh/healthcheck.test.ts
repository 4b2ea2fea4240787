import { expect } from 'chai'
import { TRANSPORTS, Mesh, waitFor } from '../helpers/mesh'
import { http } from '../helpers/clients'

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

  it('serves a custom healthcheckPath, with or without a trailing slash', async () => {
    const app = await mesh.app({ key: 'custom', healthcheckPath: '/health' }, undefined, transport)
    await app.distribution.waitForService('echo')
    const response = await http(`${app.url}/health/todos-app`)
    expect(response.status).to.equal(200)
  })

  it('is off with healthcheckPath: false', async () => {
    const app = await mesh.app({ key: 'no-health', healthcheckPath: false }, undefined, transport)
    await app.distribution.waitForService('echo')
    const response = await fetch(`${app.url}/distribution/healthcheck/todos-app`)
    expect(response.status).to.equal(404)
    expect((await app.distribution.healthcheck('todos-app')).status).to.equal(200)
  })
})
