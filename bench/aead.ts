/**
 * What an event batch's AEAD costs, in one process: a 60 KB batch (as bursts send them) sealed and
 * opened with AES-256-GCM (what `S1.` frames use) and with ChaCha20-Poly1305 (a candidate for a
 * later protocol revision), in interleaved rounds, with the caches warm ("hot") and after 8 MB of
 * other memory was written ("cold", as inside an app between two batches). The results are in
 * docs/performance.md (Figure 10). Runs alone:
 *   node build/bench/aead.js
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'crypto'

const ALGORITHMS = ['aes-256-gcm', 'chacha20-poly1305'] as const
type Algorithm = (typeof ALGORITHMS)[number]
const BATCH = 60 * 1024 // bytes
const ROUNDS = 8
const PER_ROUND = 100 // batches sealed and opened per round and algorithm
const TAG = 16
const key = randomBytes(32)
const aad = Buffer.from('feathers-mesh.aead-bench')
const batch = randomBytes(BATCH)
const other = Buffer.alloc(8 << 20)
const now = () => process.hrtime.bigint()

/** Chacha20-Poly1305 needs the plaintext's length beside its AAD; GCM takes none. */
const aadOptions = (algorithm: Algorithm, length: number) => (algorithm === 'chacha20-poly1305' ? { plaintextLength: length } : undefined)

function seal(algorithm: Algorithm, iv: Buffer) {
  const cipher = createCipheriv(algorithm, key, iv, { authTagLength: TAG } as any) as any
  cipher.setAAD(aad, aadOptions(algorithm, batch.length))
  const ciphertext = Buffer.concat([cipher.update(batch), cipher.final()])
  return { ciphertext, tag: cipher.getAuthTag() as Buffer }
}

function open(algorithm: Algorithm, iv: Buffer, ciphertext: Buffer, tag: Buffer) {
  const decipher = createDecipheriv(algorithm, key, iv, { authTagLength: TAG } as any) as any
  decipher.setAAD(aad, aadOptions(algorithm, ciphertext.length))
  decipher.setAuthTag(tag)
  const plain = decipher.update(ciphertext)
  decipher.final()
  return plain as Buffer
}

/** µs per seal and per open, median of the batches of one round. */
function round(algorithm: Algorithm, cold: boolean) {
  const seals: number[] = []
  const opens: number[] = []
  for (let i = 0; i < PER_ROUND; i++) {
    const iv = randomBytes(12)
    if (cold) for (let at = 0; at < other.length; at += 64) other[at]++
    const t0 = now()
    const { ciphertext, tag } = seal(algorithm, iv)
    const t1 = now()
    if (cold) for (let at = 0; at < other.length; at += 64) other[at]++
    const t2 = now()
    const plain = open(algorithm, iv, ciphertext, tag)
    const t3 = now()
    if (plain.length !== batch.length) throw new Error(`${algorithm}: the batch did not open whole`)
    seals.push(Number(t1 - t0) / 1000)
    opens.push(Number(t3 - t2) / 1000)
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]
  return { seal: median(seals), open: median(opens) }
}

for (const cold of [false, true]) {
  const results = new Map<Algorithm, Array<{ seal: number; open: number }>>(ALGORITHMS.map((algorithm) => [algorithm, []]))
  for (let r = 0; r < ROUNDS; r++) {
    // Each algorithm goes first in turn.
    const order = r % 2 === 0 ? ALGORITHMS : [...ALGORITHMS].reverse()
    for (const algorithm of order) results.get(algorithm)!.push(round(algorithm, cold))
  }
  for (const [algorithm, rounds] of results) {
    const best = (pick: (r: { seal: number; open: number }) => number) => Math.min(...rounds.map(pick)).toFixed(1)
    const mid = (pick: (r: { seal: number; open: number }) => number) => rounds.map(pick).sort((a, b) => a - b)[rounds.length >> 1].toFixed(1)
    console.log(`${cold ? 'cold' : 'hot '} ${algorithm.padEnd(18)} 60 KB: seal ${mid((r) => r.seal)} µs (best ${best((r) => r.seal)}), open ${mid((r) => r.open)} µs (best ${best((r) => r.open)})`)
  }
}
