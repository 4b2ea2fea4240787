import { expect } from 'chai'
import net from 'net'
import { Mesh, waitFor } from '../helpers/mesh'
import { socketsBy } from '../helpers/processes'
import { quiet, recorder } from '../helpers/events'

/**
 * A replica dies and another app starts on its fixed ports (BASE_PORT, which a restarted container
 * or process gets again) before discovery has lost the dead one: the links the gateway re-opens for
 * the dead one reach the new app, and must not stay open.
 */
describe("an app on a dead replica's ports", function () {
  this.timeout(60000)
  const mesh = new Mesh(__filename)
  afterEach(() => mesh.close())
  // Outside the ephemeral range; four ports for each test run on the machine (one below BASE_PORT too).
  const env = { BASE_PORT: String(21001 + (process.pid % 2000) * 4) }

  /** Counts the connections this process opens to `ports` (each once connected), until `restore()`. */
  function countConnections(ports: number[]) {
    const connected = new Map(ports.map((port) => [port, 0]))
    const connect = net.Socket.prototype.connect
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      const port = args[0] as number
      if (connected.has(port)) this.once('connect', () => connected.set(port, connected.get(port)! + 1))
      return (connect as (...args: unknown[]) => net.Socket).apply(this, args)
    } as typeof connect
    return { of: (port: number) => connected.get(port)!, restore: () => void (net.Socket.prototype.connect = connect) }
  }

  /** The gateway, once its discovery (not only a hello) vouches for `replica`: only then are dropped links re-opened. */
  async function gatewayFor(options: Record<string, unknown>, nodeTimeout: number) {
    // Its discovery keeps a silent app for `nodeTimeout` ms, trying the dead one's address meanwhile.
    const gateway = await mesh.app({ key: 'gateway', heartbeatInterval: 200, cote: { nodeTimeout }, ...options })
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(async () => (await gateway.distribution.status()).app.discovery.seen === 1, 5000, 'discovery to see the replica')
    return { gateway, todos }
  }

  const seen = async (gateway: any) => (await gateway.distribution.status()).app.discovery.seen

  for (const secret of [undefined, 'takeover-secret-0123456789']) {
    it(`closes the links made for the dead one as soon as the new app shows (${secret ? 'with' : 'without'} a secret)`, async () => {
      const options = secret ? { secret } : {}
      const one = await mesh.child('one', { key: 'todos-app', services: ['todos'], replica: 'one', env, options })
      const { gateway, todos } = await gatewayFor(options, 10_000)
      const ports = await one.send({ cmd: 'ports' })
      const connections = countConnections([ports.responder, ports.publisher])
      let again: Awaited<ReturnType<Mesh['child']>>
      try {
        await one.kill('SIGKILL')
        again = await mesh.child('again', { key: 'todos-app', services: ['todos'], replica: 'again', env, options })
        expect(await again.send({ cmd: 'ports' }), 'the ports of the dead replica').to.deep.equal(ports)
        await waitFor(() => todos.replicas.has(again.uuid) && todos.replicas.size === 1, 5000, 'the new replica in place of the dead one')
        // Its own links reached it, and at least one made for the dead replica (the first to show
        // who answers stops the others).
        await waitFor(() => connections.of(ports.responder) + connections.of(ports.publisher) >= 3, 5000, 'the gateway to try the address of the dead replica again')
        expect(await seen(gateway), "apps the gateway's discovery still sees").to.equal(2)
        await waitFor(() => socketsBy('remote', ports.responder).length === 1 && socketsBy('remote', ports.publisher).length === 1, 3000, "one link to each port: the new replica's own")
      } finally {
        connections.restore()
      }
      // The new replica's events come once, on its own link.
      const events = recorder(todos, ['created'])
      await again.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'after' }] })
      await events.until(() => events.seen.length > 0, 'the created event')
      await quiet()
      events.stop()
      expect(events.seen).to.have.length(1)
      expect(await todos.get(events.seen[0].data.id)).to.include({ replica: 'again' })
      if (secret) {
        // The new replica cuts a calls link made for the dead one at its first request: the gateway
        // does not reconnect at once, in a loop, but after a back-off, and stops once it knows.
        const failed = (await again.send({ cmd: 'drops' }))['authentication failed'] ?? 0
        expect(failed, 'requests sealed for the dead replica').to.be.at.most(5)
      }
    })
  }

  for (const secret of [undefined, 'takeover-secret-0123456789']) {
    it(`drops what the new app publishes on a link made for the dead one, and closes it (${secret ? 'with' : 'without'} a secret)`, async () => {
      const options = secret ? { secret } : {}
      const one = await mesh.child('one', { key: 'todos-app', services: ['todos'], replica: 'one', env, options })
      const { gateway, todos } = await gatewayFor(options, 10_000)
      const ports = await one.send({ cmd: 'ports' })
      const connections = countConnections([ports.publisher])
      // Something silent holds the dead one's responder port: the new app, its ports searched from one
      // below, takes that one and the dead one's publisher port. Only the events link made for the
      // dead one reaches it, and the hello sent on the other goes unanswered.
      const silent: net.Socket[] = []
      const holder = net.createServer((socket) => silent.push(socket))
      try {
        await one.kill('SIGKILL')
        await new Promise<void>((resolve, reject) => holder.once('error', reject).listen(ports.responder, resolve))
        const below = { BASE_PORT: String(ports.responder - 1) }
        const again = await mesh.child('again', { key: 'todos-app', services: ['todos'], replica: 'again', env: below, options })
        expect(await again.send({ cmd: 'ports' }), 'the ports of the new app').to.deep.equal({ responder: ports.responder - 1, publisher: ports.publisher })
        await waitFor(() => todos.replicas.has(again.uuid) && todos.replicas.size === 1, 5000, 'the new replica in place of the dead one')
        await waitFor(() => connections.of(ports.publisher) >= 2, 5000, "the gateway's link made for the dead one to reach the new app's publisher")
        expect(await seen(gateway), "apps the gateway's discovery still sees").to.equal(2)
        const events = recorder(todos, ['created'])
        await again.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'once' }] })
        await events.until(() => events.seen.length > 0, 'the created event')
        await quiet()
        events.stop()
        expect(events.seen, 'created events').to.have.length(1)
        // (Without a secret an idle app publishes nothing: one more message shows who is there, in
        // case the first left before the new app had taken in the connection made for the dead one.)
        await again.send({ cmd: 'call', path: 'todos', method: 'create', args: [{ title: 'twice' }] })
        await waitFor(() => socketsBy('remote', ports.publisher).length === 1 && socketsBy('remote', ports.responder).length === 0, 3000, "the links made for the dead one to close")
      } finally {
        connections.restore()
        silent.forEach((socket) => socket.destroy())
        await new Promise((resolve) => holder.close(resolve))
      }
    })
  }
})
