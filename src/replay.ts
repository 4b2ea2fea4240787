/** Counters remembered per sender: a frame whose counter lies further behind the newest is refused. */
export const REPLAY_WINDOW = 4096
const WORDS = REPLAY_WINDOW / 32

/**
 * The anti-replay window of one sender, as in IPsec and DTLS: the newest counter accepted and one
 * bit per counter in the window below it, in a ring. Constant time and memory per frame.
 */
export class ReplayWindow {
  private max = 0
  private readonly bits = new Uint32Array(WORDS)
  /** Date.now() of the last frame accepted, so idle windows can be forgotten. */
  touched = Date.now()

  /** The newest counter accepted (0 before the first). */
  get newest() {
    return this.max
  }

  /** Accepts each counter (a positive integer) once; counters REPLAY_WINDOW or more behind the newest are refused. */
  accept(n: number): boolean {
    if (!Number.isSafeInteger(n) || n < 1) return false
    if (n > this.max) {
      // Slots between the old newest and n now stand for counters not seen yet.
      if (n - this.max >= REPLAY_WINDOW) this.bits.fill(0)
      else for (let k = this.max + 1; k < n; k++) this.clear(k)
      this.max = n
    } else if (n <= this.max - REPLAY_WINDOW || this.has(n)) {
      return false
    }
    this.bits[(n % REPLAY_WINDOW) >>> 5] |= 1 << (n & 31)
    this.touched = Date.now()
    return true
  }

  private has(n: number) {
    return (this.bits[(n % REPLAY_WINDOW) >>> 5] & (1 << (n & 31))) !== 0
  }

  private clear(n: number) {
    this.bits[(n % REPLAY_WINDOW) >>> 5] &= ~(1 << (n & 31))
  }
}
