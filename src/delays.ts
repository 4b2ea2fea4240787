/** A start-up delay that `close()` can end early (its caller then sees `closing` and stops). */
export function delay(ms: number, timers: Map<NodeJS.Timeout, () => void>): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      resolve()
    }, ms)
    timer.unref()
    timers.set(timer, resolve)
  })
}
