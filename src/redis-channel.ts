import createDebug from 'debug'
import { EventEmitter } from 'events'
import Redis from 'ioredis'

const debug = createDebug('feathers-mesh:redis')

const CHANNEL = 'feathers-mesh:discovery'
const MIN_BACKOFF = 100 // ms
const MAX_BACKOFF = 5_000 // ms

export interface RedisChannelOptions {
  url: string
  /** Short name of the app, for log lines. */
  name: string
  /** Called once, when the first connection is ready, with the local address of that connection. */
  onLocalAddress(address: string): void
}

/**
 * Bounded exponential back-off with jitter, so apps restarted together do not reconnect in step.
 * `attempt`: 0 for the first retry.
 */
export function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF, MIN_BACKOFF * 2 ** Math.min(attempt, 10))
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
}

/**
 * Discovery announcements over Redis pub/sub, shaped like the datagram socket cote's discovery
 * (node-discover) expects. Unlike node-discover's own Redis socket it never throws on a Redis error
 * (the process would crash), reconnects with bounded back-off, logs once per state change, drops
 * announcements while Redis is away (they are repeated every hello interval anyway) and can be
 * closed before Redis was ever reached.
 */
export class RedisChannel extends EventEmitter {
  private readonly pub: Redis
  private readonly sub: Redis
  private state: 'connecting' | 'up' | 'down' | 'closed' = 'connecting'
  private bound = false

  constructor(private readonly options: RedisChannelOptions) {
    super()
    const settings = {
      lazyConnect: true,
      // Announcements are worthless once late: never queue them, never retry them.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // ioredis counts its first retry as 1.
      retryStrategy: (times: number) => backoff(times - 1),
      connectionName: `feathers-mesh:${options.name}`
    }
    this.pub = new Redis(options.url, settings)
    // The subscriber queues its SUBSCRIBE until connected and renews it after every reconnection.
    this.sub = new Redis(options.url, { ...settings, enableOfflineQueue: true, maxRetriesPerRequest: null })
    for (const client of [this.pub, this.sub]) {
      client.on('error', (error: Error) => this.changed('down', error.message))
      client.on('ready', () => this.changed(this.pub.status === 'ready' && this.sub.status === 'ready' ? 'up' : this.state))
      client.on('close', () => this.changed('down', 'connection closed'))
    }
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (channel.toString() === CHANNEL) this.emit('message', message, { address: '0.0.0.0', port: 0 })
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
      if (typeof address === 'string') this.options.onLocalAddress(address.replace(/^::ffff:/, ''))
      callback()
    }
    this.on('up', start)
    this.sub.subscribe(CHANNEL).catch((error: Error) => debug('%s subscribe failed: %s', this.options.name, error.message))
    for (const client of [this.pub, this.sub]) client.connect().catch(() => {}) // failures reach 'error' and are retried
  }

  send(message: Buffer) {
    if (this.state !== 'up') return
    this.pub.publish(CHANNEL, message).catch((error: Error) => debug('%s announcement not published: %s', this.options.name, error.message))
  }

  setBroadcast() {}
  addMembership() {}
  setMulticastTTL() {}

  close() {
    if (this.state === 'closed') return
    this.state = 'closed'
    for (const client of [this.pub, this.sub]) client.disconnect()
  }

  private changed(state: 'up' | 'down' | 'connecting' | 'closed', why?: string) {
    if (this.state === 'closed' || state === this.state) return
    const was = this.state
    this.state = state
    // Once per change, never per retry: an outage of an hour is two lines.
    if (state === 'up' && was === 'down') console.warn(`feathers-mesh ${this.options.name}: discovery through Redis is back`)
    else if (state === 'up') debug('%s discovery through Redis is up', this.options.name)
    else if (state === 'down') {
      console.warn(`feathers-mesh ${this.options.name}: discovery through Redis is down (${why}); known peers stay in use, retrying every ${MAX_BACKOFF / 1000} s at most`)
    }
    this.emit(state)
  }
}
