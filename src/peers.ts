/** What membership (membership.ts) knows of other apps: members, and bounded lists of refused and departed ones. */
import type { ServiceDescriptor } from './options'
import { printable } from './printable'

export interface Peer {
  uuid: string
  key: string
  /** Sequence number of the service list last applied. */
  seq: number
  services: ServiceDescriptor[]
  /** Monotonic time (ms) of the last message heard from the peer. */
  lastSeen: number
  /** Round-trip time of the last hello, in ms. */
  rtt?: number
}

export interface RefusedPeer {
  uuid: string
  key: string
  reason: string
}

export interface DepartedPeer extends RefusedPeer {
  /** When it left (wall clock, ms). */
  at: number
}

const MAX_REFUSED = 1_000
const MAX_WARNINGS = 10 // refusal lines a minute
const DEPARTED_FOR = 60_000 // ms a departed peer stays listed
const MAX_DEPARTED = 100
/** The reason of a peer that left on its own: it never comes back under the same uuid. */
export const GOODBYE = 'it said goodbye'

/**
 * Peers refused (an incompatible protocol, another secret): never admitted, reported by the
 * healthcheck. Each is logged once, and at most a few lines a minute, whatever a flood claims.
 */
export class Refusals extends Map<string, RefusedPeer> {
  private warnedAt = 0
  private warnings = 0

  note(claimedUuid: string, claimedKey: string, reason: string) {
    // Claims of unauthenticated frames: whatever they hold must not write into the log or the status as it came.
    const [uuid, key, why] = [printable(claimedUuid), printable(claimedKey), printable(reason)]
    if (this.has(uuid)) return
    if (this.size >= MAX_REFUSED) this.delete(this.keys().next().value as string)
    this.set(uuid, { uuid, key, reason: why })
    const now = Date.now()
    if (now - this.warnedAt > 60_000) {
      this.warnedAt = now
      this.warnings = 0
    }
    if (this.warnings++ < MAX_WARNINGS) console.warn(`feathers-mesh: peer ${uuid} (key ${key}) refused: it ${why}`)
  }
}

/**
 * Peers that left recently, with why (for the status API): a minute, and at most a hundred. Old
 * ones are pruned whenever the list is read, not only when another peer leaves: a quiet mesh would
 * list its last departure for ever.
 */
export class Departures extends Map<string, DepartedPeer> {
  note(uuid: string, key: string, reason: string) {
    this.prune()
    // Noted again: to the end, so that the oldest come first.
    super.delete(uuid)
    for (const id of super.keys()) {
      if (super.size < MAX_DEPARTED) break
      super.delete(id)
    }
    // A goodbye from an app never admitted is unauthenticated without a secret: printable only, as refusals.
    super.set(uuid, { uuid, key: printable(key), reason, at: Date.now() })
  }

  saidGoodbye(uuid: string): boolean {
    return this.get(uuid)?.reason === GOODBYE
  }

  override get(uuid: string): DepartedPeer | undefined {
    const left = super.get(uuid)
    if (left && Date.now() - left.at <= DEPARTED_FOR) return left
    if (left) super.delete(uuid)
    return undefined
  }

  override has(uuid: string): boolean {
    return this.get(uuid) !== undefined
  }

  override entries() {
    this.prune()
    return super.entries()
  }

  override keys() {
    this.prune()
    return super.keys()
  }

  override values() {
    this.prune()
    return super.values()
  }

  override forEach(callback: (value: DepartedPeer, key: string, map: Map<string, DepartedPeer>) => void, thisArg?: unknown) {
    this.prune()
    super.forEach(callback, thisArg)
  }

  override [Symbol.iterator]() {
    return this.entries()
  }

  private prune() {
    const now = Date.now()
    for (const [id, left] of super.entries()) if (now - left.at > DEPARTED_FOR) super.delete(id)
  }
}
