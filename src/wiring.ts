import type { Drops } from './drops'
import type { Gate } from './gate'
import type { RequestLedger } from './ledger'
import type { Sealer } from './security'
import type { StreamTag } from './streams'

/** What the parts of one app's transport share (requests, answers, published). */
export interface Wiring {
  uuid: string
  /** Log prefix: the app's short id. */
  short: string
  options: { maxPayload: number; maxBacklog: number }
  drops: Drops
  /** Seals and opens frames (passes texts through without a secret). */
  gate: Gate
  sealer?: Sealer
  /** Seals on streams (1.3) to the peers that open them. */
  streams: boolean
  /** Tags stream frames with SHA-256 (1.4) for the peers that open them. */
  sha256: boolean
  /** Requests sent to and received from each peer, by id (for goodbyes). */
  ledger: RequestLedger
  /** The tag of a stream frame to a peer: SHA-256 when both sides speak 1.4. */
  tagFor(peerOpensSha256: boolean | undefined): StreamTag
}
