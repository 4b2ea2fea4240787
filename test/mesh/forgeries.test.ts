import { expect } from 'chai'
import net from 'net'
import type { AddressInfo } from 'net'
import { startDiscovery } from '../../src/discovery'
import { encodeFrame } from '../../src/wire'
import { coteOptions, Mesh, waitFor } from '../helpers/mesh'
import { RedisServer } from '../helpers/redis'

/**
 * A process without the secret that reaches every port: what it learns in clear (uuids, keys)
 * must not let it spoil a real app's goodbye, or keep a newcomer from reaching a real peer.
 */
const SECRET = 'forgeries-secret-0123456789abcdef'
// Large enough that the last call takes many reads, and is still arriving when the goodbye is answered.
const MAX_PAYLOAD = 20_000_000

/** Sends bytes on a raw connection to 127.0.0.1:port, and ends it once written. */
function sendRaw(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes, () => resolve()))
    socket.on('error', reject)
    socket.on('data', () => undefined)
  })
}

/** A request frame whose only part is over the provider's limit: a clear `S1.` header naming `claimed`, then junk. */
function oversizedRequest(claimed: string, id: string, maxPart: number): Buffer {
  const header = Buffer.from(`forged.00000000.${claimed}`)
  const head = Buffer.concat([Buffer.from('S1.'), Buffer.from([0, header.length]), header])
  const part = Buffer.alloc(maxPart + 1)
  head.copy(part)
  return encodeFrame([part, id])
}

/** A TCP server on loopback that accepts connections and holds them, reading and answering nothing. */
async function sink() {
  const sockets: net.Socket[] = []
  const server = net.createServer((socket) => {
    sockets.push(socket)
    socket.on('data', () => undefined)
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(resolve))
    }
  }
}

describe('forgeries by a process without the secret', function () {
  this.timeout(60000)
  const mesh = new Mesh(__filename)
  const cleanup: Array<() => unknown> = []
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step()
    await mesh.close()
  })

  it("an oversized request claiming the gateway's uuid with a huge id does not make the provider's goodbye skip the gateway's last call", async () => {
    const provider = await mesh.app({ key: 'ledger-provider', secret: SECRET, maxPayload: MAX_PAYLOAD }, (app) => {
      app.use('notes', { async create(data: any) { return { length: data.text.length } } })
    })
    const gateway = await mesh.app({ key: 'ledger-gateway', secret: SECRET, maxPayload: MAX_PAYLOAD, timeout: 5000 })
    const notes = await gateway.distribution.waitForService('notes')
    expect(await notes.create({ text: 'warm up' })).to.deep.equal({ length: 7 })
    // 3 × maxPayload and slack: the provider skips it unread (axon-sockets.ts maxPartFor).
    const maxPart = 3 * MAX_PAYLOAD + 64 * 1024
    await sendRaw(provider.distribution.ports.responder, oversizedRequest(gateway.distribution.uuid, String(Number.MAX_SAFE_INTEGER), maxPart))
    await waitFor(() => provider.distribution.drops()['too large'] === 1, 5000, 'the oversized request to be refused')
    // A large call (it takes many reads), then the provider leaves: its goodbye must wait for it.
    const created = notes.create({ text: 'x'.repeat(MAX_PAYLOAD / 2) }).then(
      (value: unknown) => value,
      (error: any) => `${error.name}: ${error.message}`
    )
    await new Promise((resolve) => setImmediate(resolve))
    const closed = provider.distribution.close()
    expect(await created).to.deep.equal({ length: MAX_PAYLOAD / 2 })
    await closed
  })

  for (const viaRedis of [false, true]) {
    it(`${viaRedis ? 'Redis: ' : ''}an app that joins while advertisements of a real peer's uuid at other ports go on reaches the real peer (its sealed hello outweighs them)`, async () => {
      let redis: RedisServer | undefined
      let n = 0
      if (viaRedis) {
        redis = await RedisServer.start()
        cleanup.push(() => redis!.stop())
      }
      // With Redis, each app has a UDP discovery port of its own: they only find each other through Redis.
      const place = () => (redis ? { discovery: { redis: redis.url }, cote: { port: mesh.port + 100 + n++ } } : {})
      const provider = await mesh.app({ key: 'disc-provider', secret: SECRET, ...place() }, (app) => {
        app.use('things', { async find() { return ['real'] } })
      })
      // The attacker read the provider's uuid from its clear advertisement, and repeats one of its own, fast,
      // at ports that accept connections and never answer.
      const [calls, events] = await Promise.all([sink(), sink()])
      const heard = () => provider.distribution.status().app.discovery.heard
      const before = heard()
      const forged = startDiscovery(
        { uuid: provider.distribution.uuid, key: 'disc-provider', version: 1, calls: calls.port, events: events.port, redis: redis?.url, cote: coteOptions(redis ? mesh.port + 99 : mesh.port, { helloInterval: 5, checkInterval: 40, nodeTimeout: 200, masterTimeout: 240 }) },
        { found() {}, lost() {} }
      )
      cleanup.push(() => forged.close(), () => calls.close(), () => events.close())
      await waitFor(() => heard() >= before + 20, 5000, 'the forged advertisements to go round')
      const gateway = await mesh.app({ key: 'disc-gateway', secret: SECRET, timeout: 2000, ...place() })
      const things = await gateway.distribution.waitForService('things', { timeout: 5000 })
      const results = []
      for (let i = 0; i < 3; i++) results.push(await things.find({}).then((value: unknown) => value, (error: any) => `${error.name}: ${error.message}`))
      expect(results).to.deep.equal([['real'], ['real'], ['real']])
    })
  }
})
