import { expect } from 'chai'
import net from 'net'
import * as errors from '@feathersjs/errors'
import { Mesh } from '../helpers/mesh'
import { http } from '../helpers/clients'

/** An axon (AMP) frame of text parts, as a requester writes it. */
function textFrame(parts: string[]): Buffer {
  const chunks = [Buffer.from([(1 << 4) | parts.length])]
  for (const part of parts) {
    const bytes = Buffer.from(`s:${part}`)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    chunks.push(length, bytes)
  }
  return Buffer.concat(chunks)
}

/** Sends one request frame to a responder port and resolves with the reply's parts (text parts without their `s:`/`j:` tag). */
function rawRequest(port: number, parts: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(textFrame(parts)))
    let buffered = Buffer.alloc(0)
    socket.setTimeout(3000, () => socket.destroy(new Error('no reply within 3 s')))
    socket.on('error', reject)
    socket.on('close', () => reject(new Error('closed before a reply')))
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      const count = buffered[0] & 0x0f
      const out: string[] = []
      let at = 1
      for (let i = 0; i < count; i++) {
        if (at + 4 > buffered.length) return
        const length = buffered.readUInt32BE(at)
        if (at + 4 + length > buffered.length) return
        out.push(buffered.toString('utf8', at + 4 + 2, at + 4 + length))
        at += 4 + length
      }
      socket.removeAllListeners('close')
      socket.destroy()
      resolve(out)
    })
  })
}

describe('distributedMethods (app option)', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  let gateway: any
  let provider: any
  after(() => mesh.close())

  before(async () => {
    // Without service options of its own (the fixture's `todos` lists its methods), so the app's list applies.
    provider = await mesh.child('provider', { key: 'readonly-app', services: ['plaintodos:todos'], options: { distributedMethods: ['find', 'get'] } })
    gateway = await mesh.app({ key: 'gateway', timeout: 2000 })
    await gateway.distribution.waitForService('todos')
  })

  it('the listed methods work through the proxy', async () => {
    await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'local' }] })
    expect((await gateway.service('todos').find({})).map((todo: any) => todo.title)).to.deep.equal(['local'])
    expect((await gateway.service('todos').get(1)).title).to.equal('local')
  })

  it('any other method fails with MethodNotAllowed (405) before anything is sent, and over REST', async () => {
    for (const call of [() => gateway.service('todos').create({ title: 'x' }), () => gateway.service('todos').patch(1, { done: true }), () => gateway.service('todos').remove(1)]) {
      const error = await call().then(() => undefined, (e: any) => e)
      expect(error).to.be.instanceOf(errors.MethodNotAllowed)
      expect(error.code).to.equal(405)
    }
    expect((await http(`${gateway.url}/todos`, { method: 'POST', body: { title: 'x' } })).status).to.equal(405)
    expect((await http(`${gateway.url}/todos/1`, { method: 'DELETE' })).status).to.equal(405)
    expect((await provider.send({ cmd: 'call', path: 'todos', method: 'find', args: [{}] })).map((todo: any) => todo.title)).to.deep.equal(['local'])
  })

  it('the provider refuses a call to another method itself, whatever a requester sends', async () => {
    const { responder } = await provider.send({ cmd: 'ports' })
    const call = { v: 1, type: 'call', from: 'a-requester-of-its-own', key: 'raw', path: 'todos', method: 'remove', args: [1], params: {} }
    const [, reply, id] = await rawRequest(responder, [JSON.stringify(call), 'raw-1'])
    expect(id).to.equal('raw-1')
    const answer = JSON.parse(reply)
    expect(answer.ok).to.equal(false)
    expect([answer.error.name, answer.error.code]).to.deep.equal(['MethodNotAllowed', 405])
    expect((await gateway.service('todos').get(1)).title, 'the record is still there').to.equal('local')
  })

  it('answers a request of another protocol version with BadRequest naming both versions, and runs nothing', async () => {
    const { responder } = await provider.send({ cmd: 'ports' })
    const call = { v: 99, type: 'call', from: 'a-future-requester', key: 'raw', path: 'todos', method: 'find', args: [{}], params: {} }
    const [, reply, id] = await rawRequest(responder, [JSON.stringify(call), 'raw-2'])
    expect(id).to.equal('raw-2')
    const answer = JSON.parse(reply)
    expect([answer.ok, answer.error.name, answer.error.code]).to.deep.equal([false, 'BadRequest', 400])
    expect(answer.error.message).to.match(/protocol version 99 .*this app speaks 1/)
  })

  it('answers a raw request for a path it does not expose with NotFound, wrong arguments and an unknown type with BadRequest', async () => {
    const { responder } = await provider.send({ cmd: 'ports' })
    const base = { v: 1, from: 'a-raw-requester', key: 'raw', params: {} }
    const ask = async (message: Record<string, unknown>, id: string) => {
      const [, reply, echoed] = await rawRequest(responder, [JSON.stringify({ ...base, ...message }), id])
      expect(echoed).to.equal(id)
      return JSON.parse(reply)
    }
    const found = await ask({ type: 'call', path: 'todos', method: 'find', args: [] }, 'raw-3')
    expect(found.ok, 'a well-formed find').to.equal(true)
    const missing = await ask({ type: 'call', path: 'nope', method: 'find', args: [] }, 'raw-4')
    expect([missing.ok, missing.error.name, missing.error.code]).to.deep.equal([false, 'NotFound', 404])
    const wrongArgs = await ask({ type: 'call', path: 'todos', method: 'get', args: [] }, 'raw-5')
    expect([wrongArgs.ok, wrongArgs.error.name, wrongArgs.error.code]).to.deep.equal([false, 'BadRequest', 400])
    const unknown = await ask({ type: 'bogus' }, 'raw-6')
    expect([unknown.ok, unknown.error.name, unknown.error.code]).to.deep.equal([false, 'BadRequest', 400])
    expect(unknown.error.message).to.include('unknown request type')
  })
})
