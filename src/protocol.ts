import type { ServiceDescriptor } from './options'

/**
 * The wire protocol. Every message is an envelope with the protocol version, its type and the
 * sender; the receiver dispatches on `type` in one switch and drops what it does not know.
 * Room is kept for what later layers add: `auth` (a sealed envelope when a mesh secret is set),
 * `id` (request ids for retries and de-duplication).
 */
export const PROTOCOL_VERSION = 1

interface Envelope<T extends string> {
  /** Protocol version of the sender. */
  v: number
  type: T
  /** uuid of the sending app. */
  from: string
  /** Partition key of the sending app. */
  key: string
}

/** Published: the sender's full list of exposed services, numbered by `seq` (newer wins). */
export interface AnnounceMessage extends Envelope<'announce'> {
  seq: number
  services: ServiceDescriptor[]
}

/** Published every `heartbeatInterval`; a `seq` newer than the receiver's copy makes it ask for the list. */
export interface HeartbeatMessage extends Envelope<'heartbeat'> {
  seq: number
}

/**
 * Sent when an app closes, as a request to every known peer (their answer means they will send no
 * new calls) and published for the others: peers drop it at once.
 */
export type GoodbyeMessage = Envelope<'goodbye'>

/** Published: a local service event, for the consumers of `path`. */
export interface EventMessage extends Envelope<'event'> {
  path: string
  event: string
  data: unknown
  /** `params`: only on synced events (see announcer.ts syncedParams). */
  context: { method?: string; id?: unknown; event: string; params?: Record<string, unknown> }
  /** false when the event is only for the sender's fellow replicas (not distributed to consumers). */
  distributed?: false
  /** Fellow replicas of the sender's key re-emit it on their own service (`sync`). */
  sync?: true
}

/** Requested from a newly found peer: carries the sender's state, answered with the peer's. */
export interface HelloMessage extends Envelope<'hello'> {
  seq: number
  services: ServiceDescriptor[]
  /**
   * Where the sender's servers listen (since 1.1; set by the transport), so the greeted app can
   * connect back at once instead of waiting for the sender's next discovery announcement. `host`
   * is set only when the sender advertises one; otherwise the connection's source address is used.
   * `streams` (since 1.3): the sender opens stream-sealed frames; `streamTag: 'sha256'` (since
   * 1.4): also those tagged with SHA-256; and `poly1305: true` beside it (since 1.5): also those
   * tagged with Poly1305.
   */
  endpoint?: { calls: number; events: number; host?: string; streams?: boolean; streamTag?: 'sha256'; poly1305?: boolean }
  /**
   * Set when the sender asks because it has not heard from the greeted app for a while (since
   * 1.2): its discovery hellos do not reach the sender, so it should send heartbeats again.
   */
  beats?: boolean
}

/** Requested: one service method call. */
export interface CallMessage extends Envelope<'call'> {
  path: string
  method: string
  args: unknown[]
  params: Record<string, unknown>
}

/** Requested by the healthcheck: does the peer still serve these paths? */
export interface PingMessage extends Envelope<'ping'> {
  paths: string[]
}

export type PublishedMessage = AnnounceMessage | HeartbeatMessage | GoodbyeMessage | EventMessage
export type RequestMessage = HelloMessage | CallMessage | PingMessage | GoodbyeMessage

/** Replies carry either a value or an error in wire form (see errors.ts). */
export type ReplyMessage =
  /**
   * `lastRequest`, in the answer to a goodbye only: the id of the last request the answering app
   * sent to the leaving one, which waits for it before it closes (apps before 0.1 do not send it).
   */
  | { ok: true; value: unknown; lastRequest?: string }
  | { ok: false; error: WireError }
  /** The provider is leaving and did not run the call: safe to send to another replica, whatever the method. */
  | { ok: false; refused: string }

export interface WireError {
  name: string
  message: string
  className?: string
  code?: number
  data?: unknown
  errors?: unknown
  stack?: string
  /** The provider's mesh answered it, not its service (the call did not run, or its reply was too large). Since 1.6. */
  mesh?: true
}

export interface HelloReply {
  /** Protocol version of the answering peer. */
  v: number
  from: string
  key: string
  seq: number
  services: ServiceDescriptor[]
}

export interface PingReply {
  missing: string[]
}
