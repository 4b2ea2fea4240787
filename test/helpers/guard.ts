/**
 * Preloaded into the test process and every child (`node -r`): refuses any TCP or UDP destination
 * outside loopback, so a mistake fails a test instead of sending traffic off the machine.
 * FEATHERS_MESH_GUARD_ALLOW (comma-separated address prefixes) widens it for tests that build
 * their own network namespaces.
 */
import dgram from 'dgram'
import net from 'net'

const extra = (process.env.FEATHERS_MESH_GUARD_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean)

export function isAllowed(host: unknown): boolean {
  if (host === undefined || host === null || host === '') return true // Node defaults to localhost
  if (typeof host !== 'string') return false
  const h = host.replace(/^::ffff:/i, '').toLowerCase()
  if (h === 'localhost' || h === '::1' || h === '0.0.0.0' || h === '::') return true
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true
  return extra.some((prefix) => h.startsWith(prefix))
}

function refuse(kind: string, host: unknown): Error {
  const error = new Error(`network guard: ${kind} to ${String(host)} refused (tests may only reach loopback)`)
  ;(error as any).code = 'EGUARD'
  return error
}

const originalConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]) {
  const first = args[0]
  const options = Array.isArray(first) ? first[0] : first
  let host: unknown
  let isPath = false
  if (options !== null && typeof options === 'object') {
    host = options.host
    isPath = typeof options.path === 'string'
  } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
    isPath = true // a unix socket path
  } else {
    host = typeof args[1] === 'string' ? args[1] : undefined
  }
  if (!isPath && !isAllowed(host)) {
    const error = refuse('TCP connection', host)
    process.nextTick(() => this.destroy(error))
    return this
  }
  return (originalConnect as any).apply(this, args)
} as any

const originalSend = dgram.Socket.prototype.send
dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: any[]) {
  const address = typeof args[1] === 'number' && typeof args[2] === 'number' && typeof args[3] === 'number' ? args[4] : args[2]
  if (typeof address === 'string' && !isAllowed(address) && address !== '127.255.255.255') {
    const callback = args.find((arg) => typeof arg === 'function')
    const error = refuse('UDP datagram', address)
    if (callback) process.nextTick(callback, error)
    else process.nextTick(() => this.emit('error', error))
    return
  }
  return (originalSend as any).apply(this, args)
} as any
