/**
 * How a measured quantity grows with the number of apps N: least squares of y = a + b·N (linear)
 * and of y = a + c·N² (quadratic), two parameters each so that three points can tell them apart, and
 * the exponent p of y = k·N^p (log-log least squares). The better of the two fits (smaller residual)
 * gives the predictions.
 */

export interface Line {
  /** Intercept. */
  a: number
  /** Coefficient of N (linear) or of N² (quadratic). */
  b: number
  /** Residual sum of squares. */
  sse: number
  /** Coefficient of determination (1: exact). */
  r2: number
}

export interface Growth {
  linear: Line
  quadratic: Line
  /** Exponent of N in a power law through the points (NaN unless every value is > 0). */
  exponent: number
  best: 'linear' | 'quadratic'
  predict(n: number): number
}

/** Least squares of y = a + b·x. */
export function leastSquares(xs: number[], ys: number[]): Line {
  const n = xs.length
  const mx = xs.reduce((s, x) => s + x, 0) / n
  const my = ys.reduce((s, y) => s + y, 0) / n
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0)
  const sxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0)
  const b = sxx === 0 ? 0 : sxy / sxx
  const a = my - b * mx
  const sse = xs.reduce((s, x, i) => s + (ys[i] - a - b * x) ** 2, 0)
  const sst = ys.reduce((s, y) => s + (y - my) ** 2, 0)
  return { a, b, sse, r2: sst === 0 ? 1 : 1 - sse / sst }
}

export function growth(ns: number[], ys: number[]): Growth {
  const linear = leastSquares(ns, ys)
  const quadratic = leastSquares(
    ns.map((n) => n * n),
    ys
  )
  const exponent = ys.every((y) => y > 0)
    ? leastSquares(
        ns.map(Math.log),
        ys.map(Math.log)
      ).b
    : NaN
  const best = quadratic.sse < linear.sse ? 'quadratic' : 'linear'
  return {
    linear,
    quadratic,
    exponent,
    best,
    predict: (n) => (best === 'linear' ? linear.a + linear.b * n : quadratic.a + quadratic.b * n * n)
  }
}

/** `a + b·N` or `a + c·N²`, for the report. */
export function formula(line: Line, kind: 'linear' | 'quadratic', digits = 4): string {
  const g = (v: number) => Number(v.toPrecision(digits)).toString()
  const term = kind === 'linear' ? 'N' : 'N²'
  return `${g(line.a)} ${line.b < 0 ? '−' : '+'} ${g(Math.abs(line.b))}·${term}`
}
