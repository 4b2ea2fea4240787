/**
 * Where a secret's cost goes: sequential calls, their CPU and their page faults with no secret,
 * with a secret sealed on streams (Poly1305 tags of 1.5, SHA-256 tags of 1.4, SHA3 tags of 1.3),
 * and with a secret sealed message by message (1.2), in turns. Runs alone:
 *   node -r ./build/test/helpers/guard.js build/bench/secret-ab.js
 */
import { PORTS } from './helpers'
import { meshServicePair } from './pairs'
import type { CallPair } from './pairs'

const SECRET = { secret: 'bench-mesh-secret-0123456789abcdef' }
const VARIANTS: Record<string, { mesh: Record<string, unknown>; env?: Record<string, string> }> = {
  none: { mesh: {} },
  // Hellos (every 200 ms here) no longer stand for heartbeats, as with a secret.
  beats: { mesh: { heartbeatInterval: 150 } },
  streams: { mesh: SECRET },
  // Streams tagged with SHA-256, as protocol 1.4 sealed them.
  sha256: { mesh: SECRET, env: { FEATHERS_MESH_STREAMS: '1.4' } },
  // Streams tagged with SHA3-256, as protocol 1.3 sealed them.
  sha3: { mesh: SECRET, env: { FEATHERS_MESH_STREAMS: '1.3' } },
  messages: { mesh: SECRET, env: { FEATHERS_MESH_STREAMS: 'off' } }
}
const ROUNDS = 12

async function main() {
  const pairs: Record<string, CallPair> = {}
  let port = PORTS.profile
  try {
    for (const [name, variant] of Object.entries(VARIANTS)) pairs[name] = await meshServicePair(port++, variant)
    const results: Record<string, Array<{ us: number; cpu: number; consumerFaults: number; providerFaults: number }>> = Object.fromEntries(Object.keys(VARIANTS).map((name) => [name, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of Object.keys(VARIANTS)) {
        const pair = pairs[name]
        const cpu = async () => (await Promise.all([pair.consumer.send({ cmd: 'cpu' }), pair.provider.send({ cmd: 'cpu' })])).reduce((a: number, b: number) => a + b, 0)
        const faults = async () => Promise.all([pair.consumer.send({ cmd: 'faults' }), pair.provider.send({ cmd: 'faults' })])
        const before = await cpu()
        const faulted = await faults()
        const run = await pair.consumer.send({ cmd: 'seq', record: pair.id, warmup: 100, maxCalls: 50_000, maxMs: 300 }, 60_000)
        const after = await faults()
        results[name].push({ us: run.usPerCall, cpu: ((await cpu()) - before) / (run.calls + 100), consumerFaults: (after[0] - faulted[0]) / (run.calls + 100), providerFaults: (after[1] - faulted[1]) / (run.calls + 100) })
      }
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
    for (const name of Object.keys(VARIANTS)) {
      const us = median(results[name].map((r) => r.us))
      const cpu = median(results[name].map((r) => r.cpu))
      const consumerFaults = median(results[name].map((r) => r.consumerFaults))
      const providerFaults = median(results[name].map((r) => r.providerFaults))
      console.log(`${name.padEnd(9)} ${us.toFixed(1)} µs/call, ${cpu.toFixed(1)} CPU µs/call, page faults per call: consumer ${consumerFaults.toFixed(3)}, provider ${providerFaults.toFixed(3)}`)
    }
  } finally {
    await Promise.all(Object.values(pairs).map((pair) => pair.close()))
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
