import createDebug from 'debug'

const debug = createDebug('feathers-mesh:ticker')

/** A timer that fires slightly early still counts as the boundary it was set for (not twice). */
const MAX_SLACK = 5 // ms
const MAX_DELAY = 2 ** 31 - 1 // ms: the longest delay a Node timer takes

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
 * ms of slack, or a step of the wall clock), so heartbeat timeouts keep their margin.
 */
export function startTicker(interval: number, action: () => void, name = 'tick'): Ticker {
  const slack = Math.min(MAX_SLACK, interval / 4)
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let target = 0 // the multiple of `interval` the pending timer is for
  let served = -Infinity // the last multiple the action ran for

  const schedule = () => {
    const now = Date.now()
    target = Math.max(Math.floor((now + slack) / interval) + 1, served + 1)
    // Node fires longer delays after 1 ms: a long interval waits in several steps.
    timer = setTimeout(fire, Math.min(target * interval - now, MAX_DELAY))
    timer.unref()
  }

  const fire = () => {
    const now = Date.now()
    // The timer runs on the monotonic clock, the grid on the wall clock: when the wall clock was
    // stepped back or slewed, the timer comes early. Up to half an interval early, it serves its
    // multiple; more, it waits on. A late timer serves its own multiple, not a later one.
    if (now >= target * interval - interval / 2) {
      served = Math.max(target, Math.floor((now + slack) / interval))
      // A timer callback: whatever goes wrong is logged, never thrown out of the timer.
      try {
        action()
      } catch (error) {
        debug('%s failed: %O', name, error)
      }
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
