import createDebug from 'debug'
import { EventEmitter } from 'events'
import Redis from 'ioredis'
import { performance } from 'perf_hooks'
import { backoff, MAX_BACKOFF } from './backoff'
import { startTicker } from './ticker'
import type { Ticker } from './ticker'

const debug = createDebug('feathers-mesh:redis')

const CHANNEL = 'feathers-mesh:discovery'
/** Idle time before the OS probes a connection: a dead peer or a forgotten NAT entry is found even when idle. */
const KEEPALIVE_DELAY = 10_000 // ms
/** A PUBLISH waits at least this long for its reply (a hello interval when that is longer). */
const MIN_COMMAND_TIMEOUT = 1_000 // ms
/** Hello intervals without one of its own announcements coming back before a connection counts as dead. */
const SILENT_INTERVALS = 3
/** Own announcements remembered, to recognize them when Redis delivers them back. */
const RECENT_SENT = 3
/** How long a closing client's socket may take to end before ioredis destroys it (its default, 2 s, held the process up). */
const DISCONNECT_TIMEOUT = 200 // ms

export interface RedisChannelOptions {
  url: string
  /** Short name of the app, for log lines. */
  name: string
  /** Period of the app's announcements, in ms: the liveness check expects one of them back within a few. */
  helloInterval: number
  /** Called once, when the first connection is ready, with the local address of that connection. */
  onLocalAddress(address: string): void
}

/**
 * Discovery announcements over Redis pub/sub, shaped like the datagram socket cote's discovery
 * (node-discover) expects. Unlike node-discover's own Redis socket it never throws on a Redis error
 * (the process would crash), reconnects with bounded back-off, logs once per state change, drops
 * announcements while Redis is away (they are repeated every hello interval anyway) and can be
 * closed before Redis was ever reached.
 *
 * A connection cut without FIN or RST (a partition, a Redis host that vanished) looks open to the
 * OS for many minutes. The channel hears its own announcements back on its subscriber, so when none
 * has come back for a few hello intervals it calls Redis down and has both clients reconnect.
 */
export class RedisChannel extends EventEmitter {
  private readonly pub: Redis
  private readonly sub: Redis
  private state: 'connecting' | 'up' | 'down' | 'closed' = 'connecting'
  private bound = false
  private watchdog?: Ticker
  private readonly silence: number // ms
  private readonly recent: Buffer[] = []
  private lastEcho = 0 // monotonic ms: an own announcement came back, or the channel came up
  private unanswered = 0 // announcements sent since
  private readonly connectedAt = new Map<Redis, number>() // monotonic ms of each client's last TCP connect
  /** The subscriber connection's SUBSCRIBE was confirmed (each connection subscribes anew: see subscribe()). */
  private subscribed = false
  private subscribing = false
  private connections = 0 // subscriber connections closed so far: a late answer to an older one's SUBSCRIBE is ignored
  /** Redis's reply to a refused SUBSCRIBE or PUBLISH (an ACL user without the channel): down until one goes through. */
  private refusal?: string

  constructor(private readonly options: RedisChannelOptions) {
    super()
    this.silence = SILENT_INTERVALS * options.helloInterval
    // The mesh's servers listen on IPv4: a Redis name that resolves to both is reached over IPv4, so
    // that the address this app advertises (the one it reaches Redis from) is one they accept.
    const family = new URL(options.url).hostname.startsWith('[') ? 6 : 4
    const settings = {
      family,
      disconnectTimeout: DISCONNECT_TIMEOUT,
      lazyConnect: true,
      keepAlive: KEEPALIVE_DELAY,
      // Announcements are worthless once late: never queue them, never retry them.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // ioredis counts its first retry as 1.
      retryStrategy: (times: number) => backoff(times - 1),
      connectionName: `feathers-mesh:${options.name}`
    }
    // Bounded, so PUBLISHes on a dead connection fail instead of piling up; an unanswered handshake fails too.
    this.pub = new Redis(options.url, { ...settings, commandTimeout: Math.max(options.helloInterval, MIN_COMMAND_TIMEOUT) })
    // The subscriber subscribes on each connection itself: ioredis's own renewal of a SUBSCRIBE that
    // Redis then refuses (an ACL changed meanwhile) is a rejection nobody catches.
    this.sub = new Redis(options.url, { ...settings, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: false })
    for (const client of [this.pub, this.sub]) {
      client.on('error', (error: Error) => {
        // SELECT refused: the connection works, and pub/sub ignores the database anyway.
        if (/^ERR DB index/.test(error.message)) return this.warnOnce(`the database number of the Redis URL is ignored (${error.message})`)
        // A name with IPv6 addresses only (an IPv6-only cluster): reached over IPv6 after all.
        if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND' && client.options.family === 4) client.options.family = 0
        this.changed('down', error.message)
      })
      client.on('ready', () => this.refresh())
      client.on('close', () => this.changed('down', 'connection closed'))
      client.on('connect', () => this.connectedAt.set(client, performance.now()))
    }
    this.sub.on('ready', () => this.subscribe())
    this.sub.on('close', () => {
      this.connections++
      this.subscribed = false
      this.subscribing = false
    })
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (channel.toString() !== CHANNEL) return
      if (this.recent.some((sent) => sent.equals(message))) {
        this.lastEcho = performance.now()
        this.unanswered = 0
      }
      this.emit('message', message, { address: '0.0.0.0', port: 0 })
    })
  }

  /** Whether both connections to Redis are up. */
  get connected() {
    return this.state === 'up'
  }

  bind(_port: number, _address: string, callback: () => void) {
    const start = () => {
      if (this.bound || this.state !== 'up') return
      this.bound = true
      const address = (this.pub as any).stream?.localAddress
      if (typeof address === 'string') this.options.onLocalAddress(address)
      callback()
    }
    this.on('up', start)
    // Run after the loop's poll phase: after a stalled loop, echoes already received are read first.
    this.watchdog?.stop()
    this.watchdog = startTicker(this.options.helloInterval, () => setImmediate(() => this.check()), `${this.options.name} redis liveness`)
    for (const client of [this.pub, this.sub]) client.connect().catch(() => {}) // failures reach 'error' and are retried
  }

  send(message: Buffer) {
    // While Redis refuses a PUBLISH, each announcement tries again: the first that goes through brings the channel up.
    const retrying = this.refusal !== undefined && this.subscribed && this.pub.status === 'ready'
    if (this.state !== 'up' && !retrying) return
    this.recent.push(message)
    if (this.recent.length > RECENT_SENT) this.recent.shift()
    this.unanswered++
    this.pub.publish(CHANNEL, message).then(
      () => {
        if (this.refusal === undefined) return
        this.refusal = undefined
        this.refresh()
      },
      (error: Error) => {
        // A reply from Redis (NOPERM, NOAUTH): no reconnection fixes it, and the log must say so.
        if (error.name === 'ReplyError') this.refuse(`PUBLISH refused: ${error.message}`)
        else debug('%s announcement not published: %s', this.options.name, error.message)
      }
    )
  }

  /** SUBSCRIBE on the subscriber's current connection (at each ready); one Redis refused is tried again by check(). */
  private subscribe() {
    if (this.subscribed || this.subscribing || this.state === 'closed' || this.sub.status !== 'ready') return
    this.subscribing = true
    const connection = this.connections
    this.sub.subscribe(CHANNEL).then(
      () => {
        if (connection !== this.connections) return
        this.subscribing = false
        this.subscribed = true
        if (this.refusal?.startsWith('SUBSCRIBE')) this.refusal = undefined
        this.refresh()
      },
      (error: Error) => {
        if (connection !== this.connections) return
        this.subscribing = false
        if (error.name === 'ReplyError') this.refuse(`SUBSCRIBE refused: ${error.message}`)
        else debug('%s subscribe failed: %s', this.options.name, error.message)
      }
    )
  }

  private warned = false
  private warnOnce(line: string) {
    if (!this.warned) console.warn(`feathers-mesh ${this.options.name}: ${line}`)
    this.warned = true
  }

  private refuse(why: string) {
    this.refusal = why
    this.changed('down', why)
  }

  /** Up when both connections are ready, the channel subscribed, and Redis refuses nothing. */
  private refresh() {
    const up = this.pub.status === 'ready' && this.sub.status === 'ready' && this.subscribed && this.refusal === undefined
    this.changed(up ? 'up' : this.state)
  }

  setBroadcast() {}
  addMembership() {}
  setMulticastTTL() {}

  close() {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.watchdog?.stop()
    for (const client of [this.pub, this.sub]) client.disconnect()
  }

  /** Reconnects connections that look open but carry nothing. */
  private check() {
    if (this.state === 'closed') return
    this.subscribe() // refused before: Redis may allow it now
    const now = performance.now()
    // Two announcements at least: a silence while nothing was sent proves nothing.
    if (this.state === 'up' && this.unanswered >= 2 && now - this.lastEcho >= this.silence) {
      this.changed('down', `none of its announcements came back for ${Math.round(now - this.lastEcho)} ms`)
      // Reconnecting, not closing: ioredis destroys a socket that does not close (disconnectTimeout), then retries with back-off.
      for (const client of [this.pub, this.sub]) client.disconnect(true)
      return
    }
    // A connection accepted but never answered (a middlebox whose Redis is gone) hangs in its handshake
    // forever: the publisher's commandTimeout ends its own, the subscriber has none.
    for (const client of [this.pub, this.sub]) {
      const waited = now - (this.connectedAt.get(client) ?? now)
      if (client.status !== 'connect' || waited < this.silence) continue
      debug('%s Redis handshake silent for %d ms, reconnecting', this.options.name, Math.round(waited))
      this.connectedAt.set(client, now)
      client.disconnect(true)
    }
  }

  private changed(state: 'up' | 'down' | 'connecting' | 'closed', why?: string) {
    if (this.state === 'closed' || state === this.state) return
    const was = this.state
    this.state = state
    if (state === 'up') {
      // The silence counts from here: announcements start now, on these connections.
      this.lastEcho = performance.now()
      this.unanswered = 0
      this.recent.length = 0
    }
    // Once per change, never per retry: an outage of an hour is two lines.
    if (state === 'up' && was === 'down') console.warn(`feathers-mesh ${this.options.name}: discovery through Redis is back`)
    else if (state === 'up') debug('%s discovery through Redis is up', this.options.name)
    else if (state === 'down') {
      console.warn(`feathers-mesh ${this.options.name}: discovery through Redis is down (${why}); known peers stay in use, retrying every ${MAX_BACKOFF / 1000} s at most`)
    }
    this.emit(state)
  }
}
