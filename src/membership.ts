import { performance } from 'perf_hooks'
import createDebug from 'debug'
import type { ServiceDescriptor } from './options'
import type { Peer } from './peers'
import type { AnnounceMessage, HeartbeatMessage, HelloReply } from './protocol'
import { PROTOCOL_VERSION } from './protocol'
import type { Transport } from './transport'
import { Greeter } from './greeter'
import type { GreeterOptions } from './greeter'
import { Departures, GOODBYE, Refusals } from './peers'
import { printable } from './printable'
import { startTicker } from './ticker'
import { BeatRequests } from './beat-requests'
import type { Ticker } from './ticker'

const debug = createDebug('feathers-mesh:membership')

export interface MembershipOptions extends GreeterOptions {
  heartbeatInterval: number
  heartbeatTimeout: number
  /**
   * Whether this app's discovery hellos stand for its heartbeats (no secret, and hellos at least as
   * often as heartbeats): then it publishes heartbeats only while a peer does not take hellos for them.
   */
  hellosForHeartbeats: boolean
  /** Called with a peer whose services changed (added, updated or emptied). */
  onPeerServices(peer: Peer, previous: ServiceDescriptor[]): void
  onPeerLeft(peer: Peer, reason: string): void
}

const now = () => performance.now()
const SILENT = 'no heartbeat for'

/**
 * Who is in the mesh. A newly found peer is greeted with our state and answers with its own (one
 * round trip, no sleeps); any message counts as a heartbeat, and so does a discovery hello when
 * there is no secret (so apps that all take hellos for heartbeats send none); a peer silent for
 * long is asked directly, and one silent for longer than `heartbeatTimeout` is dropped; a goodbye
 * drops the sender at once.
 */
export class Membership {
  readonly peers = new Map<string, Peer>()
  readonly refused = new Refusals()
  readonly departed = new Departures()
  /** Heartbeat messages received from peers since start (hellos are counted by discovery). */
  heartbeatsIn = 0
  /** Heartbeats published since start. */
  heartbeatsOut = 0
  /** Where this app stands: `leaving` while its goodbyes are answered, `draining` while calls in flight finish. */
  phase: 'starting' | 'running' | 'leaving' | 'draining' | 'closed' = 'starting'
  private ticker?: Ticker
  /** Peers that asked for heartbeats (our hellos do not reach them). */
  readonly beats: BeatRequests
  private closed = false
  private readonly short: string
  private readonly greeter: Greeter

  constructor(
    private readonly transport: Transport,
    private readonly options: MembershipOptions
  ) {
    this.short = options.uuid.slice(0, 8)
    this.greeter = new Greeter(transport, options)
    this.beats = new BeatRequests(options.hellosForHeartbeats, options.heartbeatTimeout)
  }

  start() {
    this.stop()
    if (!this.closed) this.phase = 'running'
    // On the wall-clock grid, so peers' heartbeats arrive together with each other and with their
    // discovery hellos (see ticker.ts): the idle cost is in wake-ups, not in messages.
    this.ticker = startTicker(this.options.heartbeatInterval, () => this.sweep(), `${this.short} heartbeat`)
  }

  stop() {
    this.ticker?.stop()
    this.ticker = undefined
  }

  /**
   * Says goodbye, lets `drain` run, then forgets every peer. Known peers are asked (bounded by
   * `timeout`), so once they answer they send no new calls; what they sent before is in flight here
   * and drains, and the calls it makes to other apps still find them.
   */
  async close(timeout: number, drain: () => Promise<unknown>) {
    if (this.closed) return
    this.closed = true
    this.phase = 'leaving'
    this.stop()
    const goodbye = this.greeter.goodbye()
    this.transport.publish(goodbye)
    const peers = [...this.peers.values()]
    await Promise.allSettled(peers.map((peer) => this.transport.request(peer.uuid, goodbye, timeout)))
    // Calls sent before a peer's answer are already in our socket buffers: let them be read.
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    this.phase = 'draining'
    await drain()
    for (const peer of [...this.peers.values()]) this.drop(peer, 'this app is closing', false)
    this.phase = 'closed'
  }

  /** A peer's responder was found by discovery: greet it. */
  discovered(uuid: string) {
    if (!this.peers.has(uuid)) this.greet(uuid)
  }

  /** The connection to the peer's responder closed (discovery losing a peer with open links changes nothing). */
  lost(uuid: string) {
    const peer = this.peers.get(uuid)
    if (peer) this.drop(peer, 'its connection closed')
  }

  heard(uuid: string): Peer | undefined {
    const peer = this.peers.get(uuid)
    if (peer) peer.lastSeen = now()
    return peer
  }

  onHeartbeat(message: HeartbeatMessage) {
    this.heartbeatsIn++
    this.onBeat(message.from, message.seq)
  }

  /**
   * A discovery hello, standing for a heartbeat (hellos are used so only without a secret). It
   * counts only once both links are up: heartbeats proved the events link too, and a peer whose
   * links are down must not be kept alive by discovery. Refused and departing apps are ignored.
   */
  onHello(uuid: string, seq: number | undefined) {
    if (!this.transport.linked(uuid) || this.refused.has(uuid) || this.departed.saidGoodbye(uuid)) return
    this.onBeat(uuid, seq ?? -1)
  }

  private onBeat(uuid: string, seq: number) {
    const peer = this.heard(uuid)
    // An unknown peer, or one whose list moved on, is asked for its list: announcements can be missed.
    // An unknown one is greeted only once both links are up (the transport then reports it anyway).
    if (peer ? seq > peer.seq : this.transport.linked(uuid)) this.greet(uuid)
  }

  /** `admit`: whether an unknown peer may join from this message (not from a hello it sent us). */
  onAnnounce(message: AnnounceMessage | HelloReply, admit = true) {
    if (this.closed) return
    let peer = this.peers.get(message.from)
    // An app that said goodbye never comes back under the same uuid: a late hello must not re-admit it.
    if (!peer && (!admit || this.departed.saidGoodbye(message.from))) return
    if (!peer) {
      // A peer is admitted only once our links to it are up, or its first events could be lost;
      // the transport reports the links, and we greet it then.
      if (!this.transport.linked(message.from)) return
      peer = { uuid: message.from, key: message.key, seq: -1, services: [], lastSeen: now() }
      this.peers.set(peer.uuid, peer)
      // A refusal noted under its uuid was someone's claim (refusals are unauthenticated): it proved otherwise.
      this.refused.delete(peer.uuid)
      debug('%s peer %s (key %s) joined', this.short, peer.uuid.slice(0, 8), peer.key)
    }
    peer.lastSeen = now()
    this.departed.delete(peer.uuid)
    if (message.seq <= peer.seq) return
    const previous = peer.services
    peer.seq = message.seq
    peer.services = message.services
    this.options.onPeerServices(peer, previous)
  }

  /**
   * A leaving peer gets no new calls; the ones in flight finish (it drains them) or fail when its
   * connection closes. One not admitted yet never will be: its late answers must not admit it.
   */
  onGoodbye(uuid: unknown, key: unknown) {
    if (typeof uuid !== 'string' || printable(uuid) !== uuid) return
    const peer = this.peers.get(uuid)
    if (peer) this.drop(peer, GOODBYE, false)
    else this.departed.note(uuid, String(key), GOODBYE)
  }

  /** Whether a peer said goodbye and its links are still up: it is draining, and its events count. */
  leaving(uuid: string): boolean {
    return this.departed.saidGoodbye(uuid) && this.transport.linked(uuid)
  }

  /** Refuses a peer, logging one line per peer (and at most a few a minute, whatever a flood claims). */
  refuse(uuid: unknown, key: unknown, reason: string) {
    if (typeof uuid === 'string' && !this.peers.has(uuid)) this.refused.note(uuid, String(key), reason)
  }

  /** Publishes our list (after app.use / app.unuse). */
  announce() {
    if (!this.closed) this.transport.publish(this.greeter.announcement())
  }

  /** Our answer to a hello. A closing app offers nothing: a newcomer must not take it for a replica. */
  helloReply(): HelloReply {
    return this.closed ? { ...this.greeter.reply(), services: [] } : this.greeter.reply()
  }

  /** Greets a peer and applies its answer; `missed`: we have not heard from it (it should send heartbeats). */
  private async greet(uuid: string, missed = false) {
    if (this.closed) return
    await this.greeter.greet(uuid, missed, () => this.closed, ({ state, rtt }) => {
      if (state.v !== PROTOCOL_VERSION) return this.refuse(uuid, state.key, `speaks protocol version ${state.v}, this app ${PROTOCOL_VERSION}`)
      this.onAnnounce(state)
      const peer = this.peers.get(uuid)
      if (peer) peer.rtt = rtt
    })
  }

  private sweep() {
    const { seq } = this.options.localState()
    if (this.beats.needed(this.peers, (uuid) => this.transport.hearsHellos(uuid))) {
      this.heartbeatsOut++
      this.transport.publish({ v: PROTOCOL_VERSION, type: 'heartbeat', from: this.options.uuid, key: this.options.key, seq })
    }
    // Peers' heartbeats of this very instant may already wait in the sockets, unread if the loop
    // was busy: expire after the loop's poll phase has read them (setImmediate runs after it).
    setImmediate(() => this.expire()).unref()
  }

  private expire() {
    if (this.closed || !this.ticker) return
    const { heartbeatTimeout, heartbeatInterval } = this.options
    // A peer silent for this long is asked directly, its answer counting as a heartbeat: its hellos
    // may miss us (lost, or our Redis is away) while its links are fine; it then sends heartbeats.
    // The margin: sweeps and the peers' messages share one grid, so silences are whole intervals
    // give or take jitter, and the last sweep before the timeout must ask.
    const askAfter = Math.max(heartbeatTimeout - 1.5 * heartbeatInterval, heartbeatInterval / 2)
    const at = now()
    for (const peer of [...this.peers.values()]) {
      const silence = at - peer.lastSeen
      if (silence > heartbeatTimeout) this.drop(peer, `${SILENT} ${heartbeatTimeout} ms`)
      else if (silence > askAfter) void this.greet(peer.uuid, true)
    }
    // A peer dropped for silence whose links are still up is asked again: if its hellos never reach
    // us, nothing else would bring it back.
    for (const [uuid, left] of this.departed) {
      if (left.reason.startsWith(SILENT) && this.transport.linked(uuid)) void this.greet(uuid, true)
    }
  }

  private drop(peer: Peer, reason: string, abandonCalls = true) {
    if (this.peers.get(peer.uuid) !== peer) return
    this.peers.delete(peer.uuid)
    this.beats.forget(peer.uuid)
    debug('%s peer %s (key %s) left: %s', this.short, peer.uuid.slice(0, 8), peer.key, reason)
    if (abandonCalls) this.transport.abandon(peer.uuid, reason)
    this.departed.note(peer.uuid, peer.key, reason)
    this.options.onPeerLeft(peer, reason)
  }
}
