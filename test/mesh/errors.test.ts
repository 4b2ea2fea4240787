import { expect } from 'chai'
import * as errors from '@feathersjs/errors'
import { TRANSPORTS, Mesh, waitFor } from '../helpers/mesh'
import { http } from '../helpers/clients'

/** Awaits a promise that must reject; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise
  } catch (error) {
    return error
  }
  expect.fail('expected the call to fail, but it succeeded')
}

const FEATHERS_ERRORS = ['BadRequest', 'NotAuthenticated', 'PaymentError', 'Forbidden', 'NotFound', 'MethodNotAllowed', 'NotAcceptable', 'Timeout', 'Conflict', 'Gone', 'LengthRequired', 'Unprocessable', 'TooManyRequests', 'GeneralError', 'NotImplemented', 'BadGateway', 'Unavailable']

for (const transport of TRANSPORTS) describe(`errors across the mesh (${transport})`, function () {
  const mesh = new Mesh(__filename)
  let gateway: any

  before(async () => {
    await mesh.child('provider', { key: 'errors-app', services: ['errors', 'echo', 'todos'] })
    gateway = await mesh.app({ key: 'gateway', timeout: 300 }, undefined, transport)
    await Promise.all(['errors', 'echo', 'todos'].map((path) => gateway.distribution.waitForService(path)))
  })
  after(() => mesh.close())

  for (const name of FEATHERS_ERRORS) {
    it(`${name} arrives with its class, name, message, code and data`, async () => {
      const error = await rejection(gateway.service('errors').get(name))
      const Class = (errors as any)[name]
      expect(error).to.be.instanceOf(Class)
      expect(error.name).to.equal(name)
      expect(error.message).to.equal(`${name} happened`)
      expect(error.code).to.equal(new Class().code)
      expect(error.className).to.equal(new Class().className)
      expect(error.data).to.deep.equal({ detail: name })
    })
  }

  it('keeps the errors field of a validation error', async () => {
    const error = await rejection(gateway.service('errors').get('invalid'))
    expect(error).to.be.instanceOf(errors.BadRequest)
    expect(error.errors).to.deep.equal({ title: 'required' })
  })

  it('rebuilds an error that carries no data', async () => {
    const error = await rejection(gateway.service('errors').get('nodata'))
    expect(error).to.be.instanceOf(errors.BadRequest)
    expect(error.message).to.equal('no data here')
  })

  it('keeps the message of a plain Error', async () => {
    const error = await rejection(gateway.service('errors').get('plain'))
    expect(error.message).to.equal('plain failure')
    expect(error.message).not.to.contain('[object Object]')
  })

  it('keeps the caller stack, and never the provider\'s', async () => {
    const error = await rejection(gateway.service('errors').get('NotFound'))
    expect(error.stack).to.contain('errors.test')
    // The provider's service threw from test/fixtures/services: none of its frames came across.
    expect(error.stack).not.to.match(/fixtures[\\/]services/)
  })

  it('refuses a method the provider does not distribute with MethodNotAllowed, at once', async () => {
    const started = Date.now()
    const error = await rejection(gateway.service('errors').create({}))
    expect(error).to.be.instanceOf(errors.MethodNotAllowed)
    expect(error.code).to.equal(405)
    expect(Date.now() - started).to.be.below(250) // well under the 300 ms call timeout: nothing was awaited
  })

  it('answers 405 over REST for a method the provider does not distribute', async () => {
    const response = await http(`${gateway.url}/errors`, { method: 'POST', body: {} })
    expect(response.status).to.equal(405)
  })

  it('fails a call that outlives timeout with Timeout (408)', async () => {
    const error = await rejection(gateway.service('errors').find({ query: { delay: 1000 } }))
    expect(error).to.be.instanceOf(errors.Timeout)
    expect(error.code).to.equal(408)
  })

  it('answers 408 over REST when the call times out', async () => {
    const response = await http(`${gateway.url}/errors?delay=1000`)
    expect(response.status).to.equal(408)
    expect(response.body.name).to.equal('Timeout')
  })

  it('refuses an unserialisable value with BadRequest before sending', async () => {
    const cyclic: any = { a: 1 }
    cyclic.self = cyclic
    const error = await rejection(gateway.service('echo').create(cyclic))
    expect(error).to.be.instanceOf(errors.BadRequest)
    expect(error.message).to.match(/circular/)
  })

  it("fails with GeneralError (500) naming the reason when the provider's result cannot be encoded (the call ran)", async () => {
    let ran = 0
    await mesh.app({ key: `bigint-${transport}` }, (app) => app.use(`bigint-${transport}`, { async find() { ran++; return { total: 1n } } }))
    const service = await gateway.distribution.waitForService(`bigint-${transport}`)
    const error = await rejection(service.find({}))
    expect(error).to.be.instanceOf(errors.GeneralError)
    expect(error.code).to.equal(500)
    expect(error.message).to.match(/^the reply cannot be sent: .*bigint/)
    expect(ran).to.equal(1)
  })

  it('fails with Unavailable (503) when no provider is left', async () => {
    const leaving = await mesh.child('leaving', { key: 'leaving-app', services: ['todos:lonely'] })
    const lonely = await gateway.distribution.waitForService('lonely')
    await leaving.kill('SIGKILL')
    const error = await rejection(lonely.find({}))
    expect(error).to.be.instanceOf(errors.Unavailable)
    expect(error.code).to.equal(503)
    await waitFor(() => !gateway.services.lonely, 5000, 'the proxy to go')
  })

  it('lets timeout: 0 wait as long as the call takes', async () => {
    const patient = await mesh.app({ key: 'patient', timeout: 0 }, undefined, transport)
    expect(patient.distribution.options.timeout).to.equal(0)
    const service = await patient.distribution.waitForService('errors')
    expect(await service.find({ query: { delay: 600 } })).to.deep.equal({ waited: 600 })
  })
})
