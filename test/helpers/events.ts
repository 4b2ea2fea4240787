import { waitFor } from './mesh'

/** Records every emission of some events on an emitter, for "exactly once" checks. */
export function recorder(emitter: { on: Function; removeListener: Function }, events: string[]) {
  const seen: Array<{ event: string; data: any; context: any }> = []
  const listeners = events.map((event) => {
    const listener = (data: any, context: any) => seen.push({ event, data, context })
    emitter.on(event, listener)
    return [event, listener] as const
  })
  return {
    seen,
    of: (event: string) => seen.filter((entry) => entry.event === event),
    until: (predicate: () => boolean, what: string) => waitFor(predicate, 5000, what),
    stop: () => listeners.forEach(([event, listener]) => emitter.removeListener(event, listener))
  }
}

/** "Exactly once" needs a short quiet period after the first arrival: a duplicate would come within it. */
export function quiet(ms = 300) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
