/**
 * Where the services of peers that said goodbye were placed. A leaving app finishes the calls it
 * was sent before its goodbye, and publishes the events they cause (a `created`, say): those still
 * reach its proxies while its links stay up. Entries go with the link, or after a minute.
 */

const KEEP_FOR = 60_000 // ms, longer than any sensible gracePeriod

export class LeavingPlacements {
  private readonly entries = new Map<string, { localPath: string; at: number }>()

  note(placement: string, localPath: string) {
    const at = Date.now()
    for (const [key, entry] of this.entries) if (at - entry.at > KEEP_FOR) this.entries.delete(key)
    this.entries.set(placement, { localPath, at })
  }

  /** The local path a leaving peer's service was placed at, while `linked()` says its links are up. */
  localPath(placement: string, linked: () => boolean): string | undefined {
    const entry = this.entries.get(placement)
    if (entry === undefined) return undefined
    if (linked() && Date.now() - entry.at <= KEEP_FOR) return entry.localPath
    this.entries.delete(placement)
    return undefined
  }

  clear() {
    this.entries.clear()
  }
}
