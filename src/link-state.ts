import type { Socket } from 'net'
import type { Endpoint } from './discovery'

/** What the mesh keeps about its links to one peer, and the timings of opening them (links.ts). */

export interface PeerInfo {
  uuid: string
  key: string
  version: number
}

export type Kind = 'calls' | 'events'
export const KINDS: Kind[] = ['calls', 'events']

export interface Peer {
  endpoint: Endpoint
  sockets: Partial<Record<Kind, Socket>>
  /** A connection being opened, or the timer of the next attempt. */
  connecting: Partial<Record<Kind, Attempt>>
  /** Discovery no longer sees it: open links stay in use, and one that drops is re-opened only while the other is open. */
  lost: boolean
  /** Discovery reported it (not only its own hello): closed links are re-opened. */
  discovered: boolean
  /** When each open link was attached, and how many in a row closed young (see STEADY_LINK). */
  attachedAt: Partial<Record<Kind, number>>
  closedYoung: Partial<Record<Kind, number>>
  /**
   * Its address is the peer's own word (its sealed hello named it) or proved (a sealed reply from it
   * opened on the calls link): discovery, which anyone can forge, no longer moves it.
   */
  vouched?: boolean
}

/** Attempts at connecting to a peer discovery has not reported (it greeted us first). */
export const UNDISCOVERED_ATTEMPTS = 5

export interface LinkHandlers {
  /** Both links to the peer (calls and events) are open. */
  up(peer: PeerInfo): void
  /** The calls link to the peer closed (it may come back). */
  down(uuid: string): void
}

/** Hands a connected socket over to the axon socket of its kind (calls or events). */
export interface Connector {
  adopt(socket: Socket, endpoint: Endpoint): void
}

export interface Attempt {
  socket?: Socket
  timer?: NodeJS.Timeout
}

/** A host that drops packets would hold an attempt for minutes: give up sooner and try again. */
export const CONNECT_TIMEOUT = 5_000 // ms
/**
 * A link that closes sooner than this after it opened is re-opened after a back-off, not at once:
 * an app that took a dead peer's ports cuts the links made for that peer as soon as they carry
 * anything (with a secret), and reconnecting at once would loop.
 */
export const STEADY_LINK = 1_000 // ms

/** Bounded back-off between connection attempts to one peer. */
export function retryDelay(attempt: number) {
  return Math.min(50 * 2 ** attempt, 2000)
}
