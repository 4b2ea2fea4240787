import { performance } from 'perf_hooks'

/** A single timer armed for the earliest deadline; `expire` settles what is due and returns the next one. */
export class Deadlines {
  private timer?: NodeJS.Timeout
  private at = Infinity

  constructor(private readonly expire: () => number) {}

  arm(at: number) {
    if (at >= this.at) return
    clearTimeout(this.timer)
    this.at = at
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - performance.now()))
    this.timer.unref()
  }

  close() {
    clearTimeout(this.timer)
    this.at = Infinity
  }

  private fire() {
    this.timer = undefined
    this.at = Infinity
    const next = this.expire()
    if (next < Infinity) this.arm(next)
  }
}
