import createDebug from 'debug'
import type { ServiceDescriptor } from './options'
import type { AnnounceMessage, GoodbyeMessage, HelloMessage, HelloReply } from './protocol'
import { PROTOCOL_VERSION } from './protocol'
import type { Transport } from './transport'
import { validState } from './dispatch'

const debug = createDebug('feathers-mesh:greeter')

const HELLO_RETRIES = 3

export interface GreeterOptions {
  uuid: string
  key: string
  /** How long a hello may wait for its reply. */
  helloTimeout: number
  /** This app's current list and its sequence number. */
  localState(): { seq: number; services: ServiceDescriptor[] }
}

/** What a peer answered to our hello, and how long it took (ms). */
export interface Greeting {
  state: HelloReply
  rtt: number
}

/**
 * This app's side of the hello: the messages that carry its state (hello, reply, announcement,
 * goodbye), and the hello round trip itself, one at a time per peer, retried when it fails.
 */
export class Greeter {
  private greeting = new Set<string>()
  private readonly short: string

  constructor(
    private readonly transport: Transport,
    private readonly options: GreeterOptions
  ) {
    this.short = options.uuid.slice(0, 8)
  }

  hello(): HelloMessage {
    return { v: PROTOCOL_VERSION, type: 'hello', ...this.state() }
  }

  reply(): HelloReply {
    return { v: PROTOCOL_VERSION, ...this.state() }
  }

  announcement(): AnnounceMessage {
    return { v: PROTOCOL_VERSION, type: 'announce', ...this.state() }
  }

  goodbye(): GoodbyeMessage {
    return { v: PROTOCOL_VERSION, type: 'goodbye', from: this.options.uuid, key: this.options.key }
  }

  /**
   * Sends our hello to a peer (asking for heartbeats when we `missed` it) and hands its valid answer
   * to `apply`; nothing happens when it gave none, or `stopped()` says so. One hello per peer at a
   * time: a peer is not greeted again while its answer is being applied.
   */
  async greet(uuid: string, missed: boolean, stopped: () => boolean, apply: (greeting: Greeting) => void): Promise<void> {
    if (this.greeting.has(uuid)) return
    this.greeting.add(uuid)
    try {
      const greeting = await this.exchange(uuid, missed, stopped)
      if (greeting) apply(greeting)
    } catch (error) {
      // Nobody awaits a greeting: what the app's handlers throw is logged, never left unhandled.
      debug('%s applying the answer of %s failed: %O', this.short, uuid.slice(0, 8), error)
    } finally {
      this.greeting.delete(uuid)
    }
  }

  /** Who this app is and what it serves, as every state message carries it. */
  private state() {
    const { seq, services } = this.options.localState()
    return { from: this.options.uuid, key: this.options.key, seq, services }
  }

  private async exchange(uuid: string, missed: boolean, stopped: () => boolean): Promise<Greeting | undefined> {
    for (let attempt = 1; attempt <= HELLO_RETRIES && !stopped(); attempt++) {
      try {
        const sent = performance.now()
        const hello: HelloMessage = missed ? { ...this.hello(), beats: true } : this.hello()
        const reply = (await this.transport.request(uuid, hello, this.options.helloTimeout)) as { ok: boolean; value: HelloReply }
        const state = reply?.ok ? reply.value : undefined
        if (state && typeof state.from === 'string' && state.from !== uuid) {
          // The peer is gone, and an app started since took its ports (its links connect to that app).
          debug('%s %s answered a hello to %s', this.short, state.from.slice(0, 8), uuid.slice(0, 8))
          this.transport.forget(uuid)
          return undefined
        }
        return state && validState(state) ? { state, rtt: performance.now() - sent } : undefined
      } catch (error: any) {
        debug('%s hello to %s failed (attempt %d): %s', this.short, uuid.slice(0, 8), attempt, error.message)
        if (error.reason === 'closed') return undefined
      }
    }
    return undefined
  }
}
