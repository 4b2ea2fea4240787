/**
 * Two builds' sealing side by side, in one process: ns per seal of a small call put into its wire
 * frame, and per read of that frame and open, each build's rounds interleaved with the other's
 * so that the machine's slow and quick moments fall on both. For changes too small to see across
 * processes (pairs of apps differ by up to ±5% where the scheduler puts them). Runs alone:
 *   cp -r build build-old   # before the change; rebuild after it
 *   node build/bench/sealing-ab.js build-old build
 */
import path from 'path'
import { randomUUID } from 'crypto'

const SECRET = 'bench-mesh-secret-0123456789abcdef'
const BATCH = 20 // frames per round and build
const ROUNDS = 40_000
const WARM_ROUNDS = 5_000
const TURN_EVERY = 5 // rounds: keystream refills run after a turn, as in an app

interface Side {
  dir: string
  seal: (text: string, id: string) => Buffer
  read: (frame: Buffer) => unknown
  open: (part: unknown, id: string) => void
  sealNs: bigint
  openNs: bigint
}

function side(dir: string, from: string, to: string): Side {
  const root = path.resolve(dir)
  const { createSealer } = require(path.join(root, 'src', 'security'))
  const { encodeFrame, FrameReader } = require(path.join(root, 'src', 'wire'))
  const consumer = createSealer([SECRET], 'consumer', from)
  const provider = createSealer([SECRET], 'todos', to)
  const reader = new FrameReader(1 << 20)
  let part: unknown
  return {
    dir,
    seal: (text, id) => encodeFrame([consumer.seal(text, to, 'calls', id, 'poly1305'), id]),
    read(frame) {
      reader.push(frame, (parts: unknown[]) => {
        part = parts[0]
      })
      return part
    },
    open(sealed, id) {
      const opened = provider.open(sealed, to, 'calls', id)
      if (!opened.ok) throw new Error(`${dir}: a frame did not open (${opened.reason})`)
    },
    sealNs: 0n,
    openNs: 0n
  }
}

async function main() {
  const dirs = process.argv.slice(2)
  if (dirs.length !== 2) throw new Error('usage: node build/bench/sealing-ab.js <build A> <build B>')
  const from = randomUUID()
  const to = randomUUID()
  const text = JSON.stringify({ v: '1.5', type: 'call', from, key: 'consumer', path: 'todos', method: 'get', args: [1], params: { query: {}, provider: 'rest' } })
  const sides = dirs.map((dir) => side(dir, from, to))
  const frames = new Array<Buffer>(BATCH)
  const parts = new Array<unknown>(BATCH)
  const ids = new Array<string>(BATCH)
  let frameCount = 0
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < BATCH; i++) ids[i] = String((round * BATCH + i) % 100_000)
    for (const s of round % 2 ? sides : [sides[1], sides[0]]) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < BATCH; i++) frames[i] = s.seal(text, ids[i])
      const t1 = process.hrtime.bigint()
      for (let i = 0; i < BATCH; i++) parts[i] = s.read(frames[i])
      for (let i = 0; i < BATCH; i++) s.open(parts[i], ids[i])
      const t2 = process.hrtime.bigint()
      if (round >= WARM_ROUNDS) {
        s.sealNs += t1 - t0
        s.openNs += t2 - t1
      }
    }
    if (round >= WARM_ROUNDS) frameCount += BATCH
    if (round % TURN_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  const perFrame = (ns: bigint) => Number(ns) / frameCount
  for (const s of sides) console.log(`${s.dir}: seal into a frame ${perFrame(s.sealNs).toFixed(0)} ns, read and open ${perFrame(s.openNs).toFixed(0)} ns`)
  const [a, b] = sides
  console.log(`${b.dir} / ${a.dir}: ${(perFrame(b.sealNs + b.openNs) / perFrame(a.sealNs + a.openNs)).toFixed(3)}×`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
