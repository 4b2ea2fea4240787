import { performance } from 'perf_hooks'

const BEATS_FOR = 10 // heartbeat timeouts a peer's request for heartbeats lasts (it asks again if it still misses us)

/**
 * Whether this app must publish heartbeats. Without a secret its discovery hellos stand for them
 * (`hellosForHeartbeats`), unless some peer cannot take them so: an older peer, one whose hellos
 * discovery lost (ours likely miss it too), or one that asked for heartbeats.
 */
export class BeatRequests {
  /** Peers that do not hear our hellos (they asked), until when (monotonic ms). */
  private readonly until = new Map<string, number>()

  constructor(
    private readonly hellosForHeartbeats: boolean,
    private readonly heartbeatTimeout: number
  ) {}

  /** A peer asked for heartbeats. Without hellos standing for them they go out anyway: nothing to note. */
  ask(uuid: string) {
    if (this.hellosForHeartbeats) this.until.set(uuid, performance.now() + BEATS_FOR * this.heartbeatTimeout)
  }

  forget(uuid: string) {
    this.until.delete(uuid)
  }

  needed(peers: Map<string, unknown>, hearsHellos: (uuid: string) => boolean): boolean {
    if (!this.hellosForHeartbeats) return true
    const at = performance.now()
    for (const [uuid, until] of this.until) {
      if (until > at && peers.has(uuid)) return true
      this.until.delete(uuid)
    }
    for (const uuid of peers.keys()) if (!hearsHellos(uuid)) return true
    return false
  }

  /** Requests noted (for tests). */
  get size() {
    return this.until.size
  }
}
