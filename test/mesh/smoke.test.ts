import { expect } from 'chai'
import { Mesh } from '../helpers/mesh'

describe('smoke', () => {
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('a gateway sees a child service and calls it', async () => {
    const child = await mesh.child('svc', { key: 'todos-app', services: ['todos'] })
    const gateway = await mesh.app({ key: 'gateway' })
    const todos = await gateway.distribution.waitForService('todos', { timeout: 5000 })
    const created = await todos.create({ title: 'hello' })
    expect(created).to.deep.equal({ title: 'hello', id: 1 })
    expect(child.uuid).to.be.a('string')
  })
})
