import createDebug from 'debug'

const debug = createDebug('feathers-mesh:ticker')

/** A timer that fires slightly early still counts as the boundary it was set for (not twice). */
const MAX_SLACK = 5 // ms

export interface Ticker {
  stop(): void
}

/**
 * Runs `action` every `interval` ms, at the multiples of `interval` on the wall clock rather than
 * at multiples from whenever it started.
 *
 * Why: an idle app spends its CPU on waking up, not on the messages it reads (a few hundred µs per
 * wake-up on a small VM, whatever the work). With timers started at arbitrary moments, every peer's
 * hello and heartbeat arrives on its own and wakes the app: 2 (N − 1) wake-ups per period. Timers of
 * one period fire at the same instant in every app of a host (or of NTP-synchronized hosts), so each
 * app's hellos, heartbeats, sweeps and discovery checks, and those of its peers, arrive together
 * and are read in one or a few wake-ups. The period stays `interval` (never longer, save the few
 * ms of slack), so heartbeat timeouts keep their margin.
 */
export function startTicker(interval: number, action: () => void, name = 'tick'): Ticker {
  const slack = Math.min(MAX_SLACK, interval / 4)
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const schedule = () => {
    const now = Date.now()
    const boundary = Math.floor((now + slack) / interval) * interval
    timer = setTimeout(fire, boundary + interval - now)
    timer.unref()
  }

  const fire = () => {
    // A timer callback: whatever goes wrong is logged, never thrown out of the timer.
    try {
      action()
    } catch (error) {
      debug('%s failed: %O', name, error)
    }
    if (!stopped) schedule()
  }

  schedule()
  return {
    stop() {
      stopped = true
      clearTimeout(timer)
      timer = undefined
    }
  }
}
