import createDebug from 'debug'

const debug = createDebug('feathers-mesh:drops')
const LOG_EVERY = 60_000 // ms: each source is logged at most once a minute
const MAX_SOURCES = 1_000

/** Counts messages dropped by reason, and logs each source at most once a minute, so a flood cannot flood the log. */
export class Drops {
  readonly counts: Record<string, number> = {}
  private readonly logged = new Map<string, number>()

  constructor(private readonly short: string) {}

  note(reason: string, source = 'unknown', detail?: string) {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1
    const now = Date.now()
    const last = this.logged.get(source)
    if (last !== undefined && now - last < LOG_EVERY) return
    if (this.logged.size >= MAX_SOURCES) {
      for (const [key, at] of this.logged) if (now - at >= LOG_EVERY) this.logged.delete(key)
      if (this.logged.size >= MAX_SOURCES) return
    }
    this.logged.set(source, now)
    debug('%s dropped a message from %s: %s%s (%d so far)', this.short, source, reason, detail ? ` (${detail})` : '', this.counts[reason])
  }
}
