export const MIN_BACKOFF = 100 // ms
export const MAX_BACKOFF = 5_000 // ms

/**
 * Bounded exponential back-off with jitter, so apps restarted together do not reconnect in step.
 * `attempt`: 0 for the first retry.
 */
export function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF, MIN_BACKOFF * 2 ** Math.min(attempt, 10))
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
}
