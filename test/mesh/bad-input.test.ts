import { expect } from 'chai'
import net from 'net'
import { Mesh, waitFor } from '../helpers/mesh'
import { recorder, quiet } from '../helpers/events'

/** Sends raw bytes to a port and waits until the peer has read them (or closed). */
function sendRaw(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end(bytes)
    })
    socket.on('error', () => resolve())
    socket.on('close', () => resolve())
    socket.setTimeout(500, () => socket.destroy())
  })
}

/** An amp frame (axon's framing) holding the given JSON arguments. */
function ampFrame(args: unknown[]): Buffer {
  const parts = args.map((arg) => Buffer.from(typeof arg === 'string' ? `s:${arg}` : `j:${JSON.stringify(arg)}`))
  const header = Buffer.alloc(1)
  header[0] = (1 << 4) | parts.length
  const chunks = [header]
  for (const part of parts) {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(part.length)
    chunks.push(length, part)
  }
  return Buffer.concat(chunks)
}

describe('bad input', function () {
  const mesh = new Mesh(__filename)
  after(() => mesh.close())

  it('malformed and unknown frames on the mesh sockets are dropped; both processes keep serving', async () => {
    const provider = await mesh.child('provider', { key: 'bad-app', services: ['todos'] })
    const gateway = await mesh.app({ key: 'gateway' })
    const todos = await gateway.distribution.waitForService('todos')
    const ports = await provider.send({ cmd: 'ports' })
    const gatewayPorts = gateway.distribution.ports
    const garbage = [
      Buffer.from('this is not a frame at all\n'),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01]),
      ampFrame(['j:{not json']),
      Buffer.concat([Buffer.from([0x11, 0, 0, 0, 5]), Buffer.from('j:{{{')]),
      ampFrame([{ type: 'mesh', p: { v: 1, type: 'bogus', from: 'x', key: 'y' } }, 1]),
      ampFrame([{ type: 'mesh', p: { v: 99, type: 'call', from: 'x', key: 'y', path: 'todos', method: 'remove', args: [1] } }, 2]),
      ampFrame([{ type: 'mesh', p: 'just a string' }, 3]),
      ampFrame([{ type: 'mesh' }, 4]),
      ampFrame(['message::mesh', { v: 1, type: 'announce', from: 'forged', key: 'bad', seq: 'x', services: 'nope' }]),
      ampFrame(['message::mesh', { v: 1, type: 'event', from: provider.uuid, key: 'bad-app', path: 'todos', event: 'created', data: { forged: true }, context: null }]),
      ampFrame(['message::mesh', null])
    ]
    const targets = [ports.responder, ports.publisher, gatewayPorts.responder, gatewayPorts.publisher]
    await Promise.all(targets.flatMap((port) => garbage.map((bytes) => sendRaw(port, bytes))))
    expect(provider.process.exitCode).to.equal(null)
    expect(await todos.create({ title: 'still here' })).to.include({ title: 'still here' })
    const events = recorder(todos, ['created'])
    await provider.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'event' }] })
    await events.until(() => events.seen.length === 1, 'the real event')
    await quiet()
    events.stop()
    expect(events.seen.map((e) => e.data.title)).to.deep.equal(['event'])
  })

  it('unserialisable params and data fail that one call with BadRequest; the mesh goes on', async () => {
    const gateway = await mesh.app({ key: 'gateway-2' })
    const todos = await gateway.distribution.waitForService('todos')
    const cyclic: any = {}
    cyclic.self = cyclic
    for (const [data, params] of [[cyclic, {}], [{ n: 1n }, {}], [{ fn: () => 1 }, {}], [{}, { query: { fn: () => 1 } }], [{}, { user: { id: 2n } }]] as const) {
      const error = await todos.create(data, params).then(() => undefined, (e: any) => e)
      expect(error?.name, JSON.stringify(Object.keys(data))).to.equal('BadRequest')
      expect(error.code).to.equal(400)
    }
    expect(await todos.find({ query: { title: 'still here' } })).to.have.length(1)
  })

  it('a value nested deeper than the receiver could decode fails that call with BadRequest, before it is sent: the link and the calls on it live on', async () => {
    const gateway = await mesh.app({ key: 'gateway-deep' })
    const todos = await gateway.distribution.waitForService('todos')
    let query: any = { at: new Date(1) }
    for (let i = 0; i < 3000; i++) query = { o: query }
    // A slow call in flight on the same link: before, the provider's decode overflowed its stack and it
    // cut the link, failing this call too.
    const slow = todos.find({ query: { $delay: 300 } })
    const error = await todos.find({ query }).then(() => undefined, (e: any) => e)
    expect(error?.name).to.equal('BadRequest')
    expect(error.message).to.match(/nested more than 1000 levels deep/)
    expect(await slow).to.be.an('array')
    expect(await todos.find({ query: { title: 'still here' } })).to.have.length(1)
  })

  it('an event that cannot be serialised never fails the call that emitted it', async () => {
    const provider = await mesh.child('emitter', { key: 'emitter', services: ['todos:emitting'] })
    const gateway = await mesh.app({ key: 'gateway-3' })
    await gateway.distribution.waitForService('emitting')
    const created = await provider.send({ cmd: 'createUnserialisable', path: 'emitting' })
    expect(created.ok).to.equal(true)
    await waitFor(async () => provider.process.exitCode === null, 1000)
  })
})
