import { Buffer } from 'buffer'
/**
 * Buffers for large frames, lent and taken back instead of allocated per frame. Fresh memory costs
 * a page fault per 4 KB the first time it is touched: on the VMs we measured that is about 3.5 ns a
 * byte, more than encoding the bytes (a 1.4 MB frame: 5 ms in a fresh buffer, 0.15 ms in a reused
 * one). Small frames come from Node's allocator, which reuses its memory well enough.
 *
 * A lent buffer must be given back only once nothing reads it any more (a socket's write callback,
 * the end of a frame's handling). One that is never given back is simply collected.
 */
export const LARGE = 128 * 1024
/**
 * Frames (and joins of a frame's chunks) of this many bytes or more are lent too. Below LARGE they
 * are still worth it: a burst of events writes 64 KB batches, and with a secret each batch also
 * leaves a ciphertext behind; fresh buffers for both cost 40 page faults a batch, and halved the rate.
 */
export const LENT_FRAME = 16 * 1024
const KEEP = 2 // idle buffers of LARGE bytes or more kept
const KEEP_SMALL = 8 // idle buffers under LARGE kept: the frames of one turn's batches
const MAX_KEPT = 64 * 1024 * 1024 // larger buffers are not kept
const IDLE_MS = 10_000 // idle buffers are freed after this long unused

interface Idle {
  buffer: Buffer
  since: number
}

/** Capacity for `size` bytes: rounded up to an eighth of the next power of two, so sizes that vary a little share buffers. */
function capacityFor(size: number): number {
  const step = Math.max(4096, 2 ** Math.ceil(Math.log2(size)) / 8)
  return Math.ceil(size / step) * step
}

export class BufferPool {
  private idle: Idle[] = []
  private readonly idleMs: number
  private readonly maxKept: number
  /** Backing stores lent and not yet given back: a second give-back must not put one in two hands. */
  private readonly lent = new WeakSet<ArrayBufferLike>()
  private timer?: NodeJS.Timeout

  /** `idleMs` and `maxKept` are for tests: the defaults are the pool's policy. */
  constructor(options: { idleMs?: number; maxKept?: number } = {}) {
    this.idleMs = options.idleMs ?? IDLE_MS
    this.maxKept = options.maxKept ?? MAX_KEPT
  }

  /** `size` bytes (uninitialized): a reused buffer when one fits (at most twice the size), or a new one. */
  take(size: number): Buffer {
    let best = -1
    // Not one more than twice the size it would have: a small frame must not hold a large buffer
    // (while a slow subscriber's queue holds the frame, the next large one would need fresh memory).
    const most = 2 * capacityFor(size)
    for (let i = 0; i < this.idle.length; i++) {
      const length = this.idle[i].buffer.length
      if (length >= size && length <= most && (best < 0 || length < this.idle[best].buffer.length)) best = i
    }
    const whole = best >= 0 ? this.idle.splice(best, 1)[0].buffer : Buffer.allocUnsafeSlow(capacityFor(size))
    this.lent.add(whole.buffer)
    return whole.subarray(0, size)
  }

  /** Takes back a buffer `take` lent; anything else (or a second give-back) is ignored. */
  give(buffer: Buffer) {
    const store = buffer.buffer
    if (!this.lent.has(store)) return
    this.lent.delete(store)
    if (store.byteLength > this.maxKept) return
    const large = store.byteLength >= LARGE
    this.idle.push({ buffer: Buffer.from(store as ArrayBuffer, 0, store.byteLength), since: Date.now() })
    // The oldest idle buffer of the same class goes when that class holds too many.
    const alike = this.idle.filter((entry) => entry.buffer.length >= LARGE === large)
    if (alike.length > (large ? KEEP : KEEP_SMALL)) this.idle.splice(this.idle.indexOf(alike[0]), 1)
    this.arm()
  }

  /** Idle buffers held now, in bytes. */
  held(): number {
    return this.idle.reduce((sum, entry) => sum + entry.buffer.length, 0)
  }

  private arm() {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      const now = Date.now()
      this.idle = this.idle.filter((entry) => now - entry.since < this.idleMs)
      if (this.idle.length > 0) this.arm()
    }, this.idleMs)
    this.timer.unref()
  }
}

/** One pool per process: apps in one process share it. */
export const largeBuffers = new BufferPool()

/**
 * A copy of a few bytes that a long-lived structure keeps (a stream's nonce, a sender's header).
 * `Buffer.from` takes small copies from Node's shared 8 KB pool, and one kept copy keeps its whole
 * slab alive: per departed peer, 8 KB held for a dozen bytes.
 */
export function ownCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length)
  copy.set(bytes)
  return copy
}
