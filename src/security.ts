import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'crypto'

/**
 * Sealed frames: AES-256-GCM under a key derived (HKDF-SHA256) from the mesh secret and the sender's
 * partition key. The header travels in clear but is authenticated:
 *   S1.<partition key>.<key id>.<base64(iv | ciphertext | tag)>
 * The plaintext names the sender, a per-sender counter, a timestamp and the recipient (`*` for
 * published messages), so a frame cannot be forged, altered, replayed or sent to another app.
 */
const PREFIX = 'S1'
const IV_BYTES = 12
const TAG_BYTES = 16
const MAX_SKEW = 60_000 // ms a frame may be old (or early) before it is refused
const REPLAY_WINDOW = 4096 // counters remembered per sender
const KEY_CACHE = 256

export type OpenResult = { ok: true; text: string; from: string } | { ok: false; reason: string; from?: string }

export interface Sealer {
  seal(text: string, to: string): string
  open(frame: string, me: string): OpenResult
}

interface DerivedKey {
  id: string
  key: Buffer
}

function derive(secret: string, partition: string): DerivedKey {
  const key = Buffer.from(hkdfSync('sha256', secret, 'feathers-mesh/v1', partition, 32))
  return { key, id: createHash('sha256').update(key).digest('hex').slice(0, 8) }
}

interface Window {
  max: number
  seen: Set<number>
  touched: number
}

/** `secrets[0]` seals; every secret opens, so a rolling deployment can change the secret. */
export function createSealer(secrets: string[], partition: string, uuid: string): Sealer {
  const sending = derive(secrets[0], partition)
  const header = `${PREFIX}.${partition}.${sending.id}`
  const headerBytes = Buffer.from(header)
  const keys = new Map<string, DerivedKey[]>() // partition → keys of every secret
  const windows = new Map<string, Window>()
  let counter = 0

  function keysFor(sender: string): DerivedKey[] {
    let found = keys.get(sender)
    if (!found) {
      if (keys.size >= KEY_CACHE) keys.delete(keys.keys().next().value as string)
      found = secrets.map((secret) => derive(secret, sender))
      keys.set(sender, found)
    }
    return found
  }

  /** Accepts each (sender, counter) once; counters far behind the newest are refused. */
  function fresh(from: string, n: number): boolean {
    const now = Date.now()
    let window = windows.get(from)
    if (!window) {
      if (windows.size > 10_000) for (const [key, w] of windows) if (now - w.touched > 10 * MAX_SKEW) windows.delete(key)
      window = { max: 0, seen: new Set(), touched: now }
      windows.set(from, window)
    }
    if (n <= window.max - REPLAY_WINDOW || window.seen.has(n)) return false
    window.seen.add(n)
    window.touched = now
    if (n > window.max) window.max = n
    // Pruned in batches (amortised O(1)): counters below the window are refused by the test above anyway.
    if (window.seen.size > 2 * REPLAY_WINDOW) for (const old of window.seen) if (old <= window.max - REPLAY_WINDOW) window.seen.delete(old)
    return true
  }

  return {
    seal(text, to) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', sending.key, iv)
      cipher.setAAD(headerBytes)
      const plain = `${uuid}|${++counter}|${Date.now()}|${to}|${text}`
      const body = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()])
      return `${header}.${body.toString('base64')}`
    },

    open(frame, me) {
      if (!frame.startsWith(`${PREFIX}.`)) return { ok: false, reason: 'not sealed' }
      const last = frame.lastIndexOf('.')
      const idDot = frame.lastIndexOf('.', last - 1)
      if (idDot <= PREFIX.length) return { ok: false, reason: 'malformed' }
      const partition = frame.slice(PREFIX.length + 1, idDot)
      const id = frame.slice(idDot + 1, last)
      const key = keysFor(partition).find((candidate) => candidate.id === id)
      if (!key) return { ok: false, reason: 'unknown secret' }
      const body = Buffer.from(frame.slice(last + 1), 'base64')
      if (body.length < IV_BYTES + TAG_BYTES) return { ok: false, reason: 'malformed' }
      let plain: string
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.key, body.subarray(0, IV_BYTES))
        decipher.setAAD(Buffer.from(frame.slice(0, last)))
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
        plain = decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES), undefined, 'utf8') + decipher.final('utf8')
      } catch {
        return { ok: false, reason: 'authentication failed' }
      }
      const parts: string[] = []
      let start = 0
      for (let i = 0; i < 4; i++) {
        const bar = plain.indexOf('|', start)
        if (bar < 0) return { ok: false, reason: 'malformed' }
        parts.push(plain.slice(start, bar))
        start = bar + 1
      }
      const [from, n, ts, to] = parts
      if (to !== me && to !== '*') return { ok: false, reason: 'addressed to another app', from }
      if (Math.abs(Date.now() - Number(ts)) > MAX_SKEW) return { ok: false, reason: 'too old', from }
      if (!fresh(from, Number(n))) return { ok: false, reason: 'replayed', from }
      return { ok: true, text: plain.slice(start), from }
    }
  }
}
