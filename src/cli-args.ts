/** The command line of `feathers-mesh` (see cli.ts): usage, flags and the observer's discovery settings. */
import { MAX_MS } from './checks'
import { checkKey } from './options'
import { DEFAULT_HELLO_INTERVAL } from './discovery'

const DEFAULT_HELLO = DEFAULT_HELLO_INTERVAL
const DEFAULT_NODE_TIMEOUT = 3 * DEFAULT_HELLO_INTERVAL // ms, as discoveryTimings derives it
// Apps connect back as soon as they hear the observer's first announcement: a short wait sees them.
export const DEFAULT_WAIT = 2_000 // ms
const DEFAULT_INTERVAL = 2000 // ms between two rounds of --watch
// The wait defaults to 2.5 x --hello and cote checks every 2 x: both must fit in a Node timer too.
const MAX_HELLO = Math.floor(MAX_MS / 2.5)

export const USAGE = `Usage: feathers-mesh status [options]

Joins the mesh as an observer, waits one discovery round, then prints the apps it sees and, per key,
the services with their replicas and whether each answers. Exit code 0 when every known replica
answers (or no app is seen), 1 otherwise.

Options:
  --key <key>         only this key (exit code 1 when no app of it is known)
  --json              print one JSON document (with --watch, one per line)
  --watch             redraw every --interval ms until Ctrl-C (exit code of the last round)
  --watch-count <n>   stop after n rounds (implies --watch)
  --interval <ms>     time between two rounds of --watch (default ${DEFAULT_INTERVAL})
  --wait <ms>         discovery wait before the first round (default 2000; with --hello or
                      COTE_HELLO_INTERVAL, 2.5 x the hello interval if longer)
  --timeout <ms>      how long each replica may take to answer (default 2000, at least 1)
  --port <port>       UDP discovery port, as the apps' cote port (env COTE_PORT; default 12345)
  --broadcast <addr>  discovery broadcast address (env COTE_BROADCAST_ADDRESS)
  --hello <ms>        the mesh's cote helloInterval (env COTE_HELLO_INTERVAL; default ${DEFAULT_HELLO})
  -h, --help          this help

Milliseconds go up to ${MAX_MS} (about 24.8 days, the longest Node timer); --hello up to ${MAX_HELLO}.

Environment, read as the apps read it: COTE_PORT, COTE_BROADCAST_ADDRESS, COTE_HELLO_INTERVAL,
COTE_LOG, FEATHERS_MESH_SECRET, FEATHERS_MESH_SECRET_FILE, HEARTBEAT_INTERVAL.
`

export class UsageError extends Error {}

export interface CliArgs {
  command: 'status' | 'help'
  key?: string
  json: boolean
  watch: boolean
  watchCount?: number
  interval: number
  wait?: number
  timeout?: number
  port?: number
  broadcast?: string
  hello?: number
}

const VALUE_FLAGS = ['--key', '--watch-count', '--interval', '--wait', '--timeout', '--port', '--broadcast', '--hello']

function integer(name: string, raw: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`)
  }
  return value
}

/** Parses `status [options]`; throws a UsageError whose message says what is wrong. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  const [command, ...rest] = argv
  if (command === undefined) throw new UsageError('missing command (the only one is "status")')
  if (command === '-h' || command === '--help' || command === 'help') return { command: 'help', json: false, watch: false, interval: DEFAULT_INTERVAL }
  if (command !== 'status') throw new UsageError(`unknown command "${command}" (the only one is "status")`)
  const args: CliArgs = { command: 'status', json: false, watch: false, interval: DEFAULT_INTERVAL }
  for (let i = 0; i < rest.length; i++) {
    let flag = rest[i]
    let value: string | undefined
    const equals = flag.indexOf('=')
    if (flag.startsWith('--') && equals > 0) {
      value = flag.slice(equals + 1)
      flag = flag.slice(0, equals)
    }
    if (flag === '-h' || flag === '--help') return { ...args, command: 'help' }
    if (flag === '--json' || flag === '--watch') {
      if (value !== undefined) throw new UsageError(`${flag} takes no value`)
      args[flag === '--json' ? 'json' : 'watch'] = true
      continue
    }
    if (!VALUE_FLAGS.includes(flag)) throw new UsageError(`unknown option "${flag}"`)
    if (value === undefined) {
      value = rest[++i]
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`)
    }
    switch (flag) {
      case '--key':
        try {
          args.key = checkKey(value)
        } catch {
          throw new UsageError(`--key must be 1-128 characters of letters, digits and . _ @ / -, got "${value}"`)
        }
        break
      case '--watch-count':
        args.watchCount = integer(flag, value, 1)
        args.watch = true
        break
      // A Node timer fires after 1 ms for a longer delay: a huge --wait would report at once.
      case '--interval':
        args.interval = integer(flag, value, 0, MAX_MS)
        break
      case '--wait':
        args.wait = integer(flag, value, 0, MAX_MS)
        break
      case '--timeout':
        // 0 would set no deadline: a frozen replica would hold the round until the mesh drops it.
        args.timeout = integer(flag, value, 1, MAX_MS)
        break
      case '--port':
        args.port = integer(flag, value, 1, 65535)
        break
      case '--broadcast':
        if (value.trim() === '') throw new UsageError('--broadcast needs an address')
        args.broadcast = value
        break
      case '--hello':
        args.hello = integer(flag, value, 1, MAX_HELLO)
        break
    }
  }
  if (args.port === undefined && env.COTE_PORT) {
    try {
      args.port = integer('COTE_PORT', env.COTE_PORT, 1, 65535)
    } catch (error) {
      throw new UsageError(`environment variable ${(error as Error).message}`)
    }
  }
  return args
}

/** The discovery wait when --wait is not given: 2.5 hello intervals if longer than the default, within a Node timer's limit. */
export function defaultWait(hello: number | undefined): number {
  return hello === undefined ? DEFAULT_WAIT : Math.min(MAX_MS, Math.max(DEFAULT_WAIT, Math.round(2.5 * hello)))
}

/** cote reads COTE_HELLO_INTERVAL and COTE_NODE_TIMEOUT itself (as defaults); the wait follows them. */
export function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = parseInt(env[name] ?? '', 10)
  return Number.isInteger(value) && value > 0 ? value : undefined
}

/** Discovery options of the observer: the port, the broadcast address and, with --hello, its timings. */
export function coteSettings(args: CliArgs, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const cote: Record<string, unknown> = {}
  if (args.port !== undefined) cote.port = args.port
  if (args.broadcast !== undefined) cote.broadcast = args.broadcast
  if (args.hello !== undefined) {
    // Faster hellos find the mesh sooner; the node timeout stays as long as the apps' (cote requires
    // it to cover the check interval), so a replica that stops saying hello is still listed, as not
    // answering, rather than vanishing at once.
    const checkInterval = 2 * args.hello
    const nodeTimeout = Math.max(envMs(env, 'COTE_NODE_TIMEOUT') ?? DEFAULT_NODE_TIMEOUT, checkInterval)
    Object.assign(cote, { helloInterval: args.hello, checkInterval, nodeTimeout, masterTimeout: Math.max(6000, nodeTimeout) })
  }
  return cote
}
