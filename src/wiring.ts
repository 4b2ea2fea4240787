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
  /** The newest kind of stream frame tag this app opens; a frame to a peer takes the newest both open (`commonTag`). */
  streamTag: StreamTag
  /** Requests sent to and received from each peer, by id (for goodbyes). */
  ledger: RequestLedger
}
