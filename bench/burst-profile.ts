/**
 * Profiles event bursts with and without a secret (figure 10's pairs); with `--calls`, each burst
 * follows 300 ms of 100 calls in flight, as in figure 10's rounds. Runs alone (npm run bench builds it):
 *   node -r ./build/test/helpers/guard.js build/bench/burst-profile.js [--calls]
 */
import fs from 'fs'
import path from 'path'
import { PORTS, RESULTS } from './helpers'
import { meshServicePair } from './pairs'
import { burst, connected } from './figures/events'
import { formatSummary, summarizeProfile } from './profile-summary'

const DIR = path.join(RESULTS, 'profiles')
const BURSTS = 6
const SIZE = 30_000

async function main() {
  fs.mkdirSync(DIR, { recursive: true })
  for (const [name, mesh] of [['plain', {}], ['secret', { secret: 'bench-mesh-secret-0123456789abcdef' }]] as const) {
    const prof = (side: string) => ['--cpu-prof', '--cpu-prof-dir', DIR, '--cpu-prof-name', `burst-${name}-${side}.cpuprofile`]
    const pair = await meshServicePair(PORTS.profile + (name === 'plain' ? 0 : 1), { mesh, consumerArgv: prof('consumer'), providerArgv: prof('provider') })
    try {
      await connected(pair.provider, pair.consumer)
      for (let i = 0; i < BURSTS; i++) {
        if (process.argv.includes('--calls')) await pair.consumer.send({ cmd: 'flight', record: pair.id, concurrency: 100, maxCalls: 1_000_000, maxMs: 300, warmupMs: 50 }, 60_000)
        const result = await burst(pair.provider, pair.consumer, SIZE)
        console.log(`${name}: ${Math.round(result.perSecond)} events/s, ${result.lost} lost`)
      }
    } finally {
      await pair.close()
    }
    for (const side of ['consumer', 'provider']) console.log(formatSummary(summarizeProfile(path.join(DIR, `burst-${name}-${side}.cpuprofile`), 25)))
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
