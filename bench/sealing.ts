/**
 * What sealing costs, in one process and without the network: µs per seal + open of a small call
 * and of its reply, with the mesh secret. Runs alone (npm run bench builds it):
 *   node build/bench/sealing.js
 * "back to back": one frame after the other, nothing in between (all the CPU sealing takes).
 * "a turn apart": a turn of the event loop between frames, as over a socket; only the time spent
 * inside seal() and open() counts (what a round trip waits for, once ciphers are set up ahead).
 */
import { randomUUID } from 'crypto'
import { createSealer } from '../src/security'

const SECRET = 'bench-mesh-secret-0123456789abcdef'
const CALL = JSON.stringify({ v: 1, type: 'call', from: randomUUID(), key: 'consumer', path: 'todos', method: 'get', args: [1, {}], params: { query: {} } })
const REPLY = JSON.stringify({ ok: true, value: { title: 'Buy milk', done: false, id: 1, replica: 'main' } })
const ROUNDS = 10
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

/** µs per seal + open, call and reply alike, over `n` round trips back to back. */
function backToBack(n: number) {
  const { a, b, consumer, provider } = apps()
  const start = now()
  for (let i = 0; i < n; i++) {
    check(provider.open(Buffer.concat(consumer.seal(CALL, b)), b))
    check(consumer.open(Buffer.concat(provider.seal(REPLY, a)), a))
  }
  return Number(now() - start) / 1000 / (2 * n)
}

/** µs spent inside seal() and open() per pair, with a turn of the event loop between frames. */
async function turnApart(n: number) {
  const { a, b, consumer, provider } = apps()
  let inside = 0n
  const timed = <T>(action: () => T): T => {
    const start = now()
    const value = action()
    inside += now() - start
    return value
  }
  for (let i = 0; i < n; i++) {
    const call = timed(() => Buffer.concat(consumer.seal(CALL, b)))
    await turn()
    check(timed(() => provider.open(call, b)))
    await turn()
    const reply = timed(() => Buffer.concat(provider.seal(REPLY, a)))
    await turn()
    check(timed(() => consumer.open(reply, a)))
    await turn()
  }
  return Number(inside) / 1000 / (2 * n)
}

async function main() {
  backToBack(20_000)
  await turnApart(2_000)
  const hot: number[] = []
  const apart: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    hot.push(backToBack(10_000))
    apart.push(await turnApart(2_000))
  }
  const best = (list: number[]) => Math.min(...list).toFixed(2)
  const median = (list: number[]) => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)].toFixed(2)
  console.log(`seal + open, call of ${CALL.length} B and reply of ${REPLY.length} B, µs per pair (best / median of ${ROUNDS}):`)
  console.log(`  back to back: ${best(hot)} / ${median(hot)}`)
  console.log(`  a turn apart: ${best(apart)} / ${median(apart)}`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
