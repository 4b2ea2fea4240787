/**
 * Paired rounds: the figure and its baseline measured in turns, many short runs each, so that noise
 * lasting longer than a round (another process, a frequency change) hits both sides of a ratio.
 * The reported ratio is the median of the rounds' ratios, and the middle half shows how steady it was.
 */

/** The q-quantile of `values`, interpolated between neighbours. */
export function quantile(values: number[], q: number) {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low)
}

export const median = (values: number[]) => quantile(values, 0.5)

export interface Paired<T> {
  runs: Array<{ subject: T; baseline: T }>
  /** subject / baseline of each round. */
  ratios: number[]
  ratio: number
  /** The middle half of the ratios, as text: `0.95–1.10×`. */
  spread: string
}

/** `rounds` rounds of both measures, the first one alternating; `value` gives what a ratio compares. */
export async function pairedRounds<T>(rounds: number, subject: () => Promise<T>, baseline: () => Promise<T>, value: (run: T) => number): Promise<Paired<T>> {
  const runs: Array<{ subject: T; baseline: T }> = []
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      const b = await baseline()
      runs.push({ baseline: b, subject: await subject() })
    } else {
      const s = await subject()
      runs.push({ subject: s, baseline: await baseline() })
    }
  }
  const ratios = runs.map((run) => value(run.subject) / value(run.baseline))
  return { runs, ratios, ratio: median(ratios), spread: `${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)}×` }
}
