import type { DistributionOptions } from './options'

/**
 * The names `distribution()` takes. A record of every key of DistributionOptions, so that an option
 * added to the type and not here (or the other way round) does not compile.
 */
const OPTION_NAMES: Record<keyof DistributionOptions, true> = {
  services: true,
  remoteServices: true,
  remoteServicePath: true,
  remoteServiceOptions: true,
  hooks: true,
  middlewares: true,
  timeout: true,
  distributedEvents: true,
  distributedMethods: true,
  remoteEvents: true,
  sync: true,
  publishEvents: true,
  key: true,
  healthcheckPath: true,
  healthcheckTimeout: true,
  coteDelay: true,
  publicationDelay: true,
  componentDelay: true,
  heartbeatInterval: true,
  heartbeatTimeout: true,
  idempotentMethods: true,
  maxRetries: true,
  replicaTimeout: true,
  maxQueue: true,
  gracePeriod: true,
  maxBacklog: true,
  maxPayload: true,
  secret: true,
  remoteParams: true,
  forwardHeaders: true,
  statusPath: true,
  statusPage: true,
  metricsPath: true,
  metricsRegistry: true,
  cote: true,
  discovery: true,
  advertise: true
}

export const optionNames = (): string[] => Object.keys(OPTION_NAMES)

/** Edit distance (insertions, deletions, substitutions, and swaps of two neighbours). */
function distance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
    }
  }
  return rows[a.length][b.length]
}

/** The name of `known` that `name` most likely stands for: the same letters in another case, or a few edits away. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1
  for (const candidate of known) {
    const d = candidate.toLowerCase() === lower ? 0 : distance(lower, candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** cote's options and Redis given at the top level, where they are unknown. */
const NESTED: Record<string, string> = {
  basePort: 'cote.basePort',
  highestPort: 'cote.highestPort',
  helloInterval: 'cote.helloInterval',
  checkInterval: 'cote.checkInterval',
  nodeTimeout: 'cote.nodeTimeout',
  masterTimeout: 'cote.masterTimeout',
  broadcast: 'cote.broadcast',
  port: 'cote.port',
  log: 'cote.log',
  redis: 'discovery.redis'
}

/**
 * Refuses a name `distribution()` does not know: a misspelt option (`heartbeatIntervall`) would
 * otherwise be dropped without a word and its default used.
 */
export function checkOptionNames(options: object): void {
  for (const name of Object.keys(options)) {
    if (Object.prototype.hasOwnProperty.call(OPTION_NAMES, name)) continue
    const hint = Object.prototype.hasOwnProperty.call(NESTED, name) ? NESTED[name] : closestName(name, optionNames())
    throw new TypeError(`feathers-mesh: unknown option ${JSON.stringify(name)}${hint ? ` (did you mean ${hint}?)` : ''}`)
  }
}
