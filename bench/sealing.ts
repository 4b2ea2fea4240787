/**
 * What sealing costs, in one process and without the network: µs per seal + open of a small call
 * and of its reply, with the mesh secret, on streams (Poly1305 tags of 1.5, SHA-256 tags of 1.4,
 * SHA3 tags of 1.3) and
 * message by message (1.2). Runs alone
 * (npm run bench builds it):
 *   node build/bench/sealing.js
 * "back to back": one frame after the other, nothing in between (all the CPU sealing takes).
 * "a turn apart": a turn of the event loop between frames, as over a socket; only the time spent
 * inside seal() and open() counts (what a round trip waits for, once ciphers are set up ahead).
 * "with other memory read between frames": the same, when 1, 4 or 16 MB are read between frames, so
 * that what a seal or an open touches has left the caches, as it has inside apps between two calls.
 */
import { randomUUID } from 'crypto'
import { createSealer } from '../src/security'
import type { Channel, StreamTag } from '../src/streams'

const SECRET = 'bench-mesh-secret-0123456789abcdef'
const CALL = JSON.stringify({ v: 1, type: 'call', from: randomUUID(), key: 'consumer', path: 'todos', method: 'get', args: [1, {}], params: { query: {} } })
const REPLY = JSON.stringify({ ok: true, value: { title: 'Buy milk', done: false, id: 1, replica: 'main' } })
const ROUNDS = 10
const COLD_ROUNDS = 3
const COLD_PAIRS = 300
const turn = () => new Promise((resolve) => setImmediate(resolve))
const now = () => process.hrtime.bigint()

function apps() {
  const a = randomUUID()
  const b = randomUUID()
  return { a, b, consumer: createSealer([SECRET], 'consumer', a), provider: createSealer([SECRET], 'todos', b) }
}

function check(result: { ok: boolean }) {
  if (!result.ok) throw new Error(`a frame did not open: ${JSON.stringify(result)}`)
}

/** The channels of a call and of its reply (on streams, with a tag), or none (each message sealed on its own). */
type Way = [Channel, Channel, StreamTag] | [undefined, undefined, undefined]
const STREAMS: Way = ['calls', 'replies', 'poly1305']
const STREAMS_SHA256: Way = ['calls', 'replies', 'sha256']
const STREAMS_SHA3: Way = ['calls', 'replies', 'sha3-256']
const MESSAGES: Way = [undefined, undefined, undefined]

/** µs per seal + open, call and reply alike, over `n` round trips back to back. */
function backToBack(n: number, [call, reply, tag]: Way) {
  const { a, b, consumer, provider } = apps()
  const start = now()
  for (let i = 0; i < n; i++) {
    check(provider.open(Buffer.concat(consumer.seal(CALL, b, call, undefined, tag)), b, call))
    check(consumer.open(Buffer.concat(provider.seal(REPLY, a, reply, undefined, tag)), a, reply))
  }
  return Number(now() - start) / 1000 / (2 * n)
}

/** Reads one byte of each cache line of `other` (and so evicts from the caches what it displaces). */
function readThrough(other: Buffer | undefined) {
  if (other === undefined) return
  let sum = 0
  for (let i = 0; i < other.length; i += 64) sum += other[i]
  other[0] = sum & 0xff
}

/**
 * µs spent inside seal() and open() per pair, with a turn of the event loop between frames (and,
 * with `other`, that memory read between frames, as other processes do between two calls of an app).
 */
async function turnApart(n: number, [callOn, replyOn, tag]: Way, other?: Buffer) {
  const { a, b, consumer, provider } = apps()
  let inside = 0n
  const timed = <T>(action: () => T): T => {
    const start = now()
    const value = action()
    inside += now() - start
    return value
  }
  for (let i = 0; i < n; i++) {
    const call = timed(() => Buffer.concat(consumer.seal(CALL, b, callOn, undefined, tag)))
    readThrough(other)
    await turn()
    check(timed(() => provider.open(call, b, callOn)))
    readThrough(other)
    await turn()
    const reply = timed(() => Buffer.concat(provider.seal(REPLY, a, replyOn, undefined, tag)))
    readThrough(other)
    await turn()
    check(timed(() => consumer.open(reply, a, replyOn)))
    readThrough(other)
    await turn()
  }
  return Number(inside) / 1000 / (2 * n)
}

async function main() {
  const ways = { 'on streams, Poly1305 tags (1.5)': STREAMS, 'on streams, SHA-256 tags (1.4)': STREAMS_SHA256, 'on streams, SHA3 tags (1.3)': STREAMS_SHA3, 'message by message (1.2)': MESSAGES }
  const hot = new Map<string, number[]>()
  const apart = new Map<string, number[]>()
  for (const [name, way] of Object.entries(ways)) {
    backToBack(20_000, way)
    await turnApart(2_000, way)
    hot.set(name, [])
    apart.set(name, [])
  }
  // In turns, so both ways see the same machine.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, way] of Object.entries(ways)) {
      hot.get(name)!.push(backToBack(10_000, way))
      apart.get(name)!.push(await turnApart(2_000, way))
    }
  }
  // What the same seals and opens cost when their memory went cold between frames.
  const COLD_MB = [1, 4, 16]
  const cold = new Map<number, number[]>(COLD_MB.map((mb) => [mb, []]))
  const others = new Map(COLD_MB.map((mb) => [mb, Buffer.alloc(mb * 1024 * 1024, 1)]))
  for (let round = 0; round < COLD_ROUNDS; round++) {
    for (const mb of COLD_MB) cold.get(mb)!.push(await turnApart(COLD_PAIRS, STREAMS, others.get(mb)))
  }
  const best = (list: number[]) => Math.min(...list).toFixed(2)
  const median = (list: number[]) => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)].toFixed(2)
  console.log(`seal + open, call of ${CALL.length} B and reply of ${REPLY.length} B, µs per pair (best / median of ${ROUNDS}):`)
  for (const name of Object.keys(ways)) {
    console.log(`  ${name}: back to back ${best(hot.get(name)!)} / ${median(hot.get(name)!)}; a turn apart ${best(apart.get(name)!)} / ${median(apart.get(name)!)}`)
  }
  console.log(`  on streams, Poly1305 tags, a turn apart with other memory read between frames (median of ${COLD_ROUNDS}): ${COLD_MB.map((mb) => `${mb} MB ${median(cold.get(mb)!)}`).join(', ')}`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
