/**
 * `npm run bench -- --profile`: the sequential-call figure with `node --cpu-prof` on the consumer
 * and the provider, for feathers-mesh and for raw cote, then a summary of each profile.
 * `--secret` profiles the mesh with a mesh secret set.
 * Profiles land in bench-results/profiles/ (open them in Chrome DevTools for flame charts).
 */
import fs from 'fs'
import path from 'path'
import { PORTS, RESULTS } from './helpers'
import { meshCallPair, rawCallPair } from './pairs'
import type { CallPair } from './pairs'
import { formatSummary, summarizeProfile } from './profile-summary'

const DIR = path.join(RESULTS, 'profiles')

const cpuProf = (name: string) => ['--cpu-prof', '--cpu-prof-dir', DIR, '--cpu-prof-name', `${name}.cpuprofile`]

export async function profile(seconds: number, mesh: Record<string, unknown> = {}) {
  fs.mkdirSync(DIR, { recursive: true })
  for (const file of fs.readdirSync(DIR)) if (file.endsWith('.cpuprofile')) fs.unlinkSync(path.join(DIR, file))
  const out: Record<string, unknown> = {}
  const sides: Array<[string, () => Promise<CallPair>]> = [
    ['mesh', () => meshCallPair(PORTS.profile, { mesh, consumerArgv: cpuProf('mesh-consumer'), providerArgv: cpuProf('mesh-provider') })],
    ['raw', () => rawCallPair(PORTS.profile + 1, { consumerArgv: cpuProf('raw-consumer'), providerArgv: cpuProf('raw-provider') })]
  ]
  for (const [name, start] of sides) {
    const pair = await start()
    try {
      out[name] = await pair.consumer.send({ cmd: 'seq', record: pair.id, warmup: 2000, maxCalls: 1_000_000, maxMs: seconds * 1000 }, seconds * 1000 + 30_000)
    } finally {
      await pair.close() // a clean exit writes the profile
    }
  }
  const summaries: Record<string, unknown> = {}
  const text: string[] = []
  for (const name of ['mesh-consumer', 'mesh-provider', 'raw-consumer', 'raw-provider']) {
    const file = path.join(DIR, `${name}.cpuprofile`)
    if (!fs.existsSync(file)) {
      text.push(`${name}: no profile written`)
      continue
    }
    const seq = out[name.split('-')[0]] as { window: [number, number]; calls: number } | undefined
    const summary = summarizeProfile(file, 25, seq?.window, seq?.calls)
    summaries[name] = summary
    text.push(formatSummary(summary))
  }
  fs.writeFileSync(path.join(DIR, 'summary.txt'), text.join('\n\n') + '\n')
  fs.writeFileSync(path.join(DIR, 'summary.json'), JSON.stringify({ seq: out, summaries }, null, 2))
  return { seq: out, text: text.join('\n\n') }
}
