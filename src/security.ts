import { Buffer } from 'buffer'
import { createCipheriv, createDecipheriv, randomBytes } from 'crypto'
import type { CipherGCM, DecipherGCM, KeyObject } from 'crypto'
import { ownCopy } from './buffers'
import { ReplayWindow } from './replay'
import { readText } from './sliced-text'
import type { WireText } from './sliced-text'
import type { Text } from './json-pieces'
import { AEAD, CIPHER, counterOf, ENCODE_FROM, headerOf, isMessageSealed, IV_BYTES, KEY_CACHE, S1_MAGIC, MAX_SKEW, MAX_WINDOWS, partitionKey } from './message-frames'
import { S1_PREAMBLE, sealBytes, senderKey, setCounter, S1_TAG_BYTES, S1_HEADER_MAX } from './message-frames'
import type { SecretKey } from './message-frames'
import { createStreamSealer, STREAM_TEXT } from './streams'
import { isPlainContext, isStreamFrame } from './stream-fields'
import { bindingHolds, bindText } from './s1-binding'
import type { Channel, StreamOpened, StreamTag } from './streams'

/**
 * The sealer of an app: short texts go on streams (streams.ts, `S2.`, `S3.` or `S4.`, protocols
 * 1.3 to 1.5) when the caller names a channel; everything else is sealed here, message by message (`S1.`), and both kinds open.
 *
 * Sealed frames: AES-256-GCM under a key of the sending app, derived (HKDF-SHA256) from the mesh
 * secret, the sender's partition key and its uuid. A sealed frame is one binary part:
 *   'S1.' · header length (uint16 BE) · header `<partition key>.<key id>.<uuid>` · iv · ciphertext · tag
 * Everything before the IV travels in clear but is authenticated (it is the AAD). Binary, because
 * base64 would cost a third more bytes and two more passes over each frame on each side.
 * The IV holds the sender's message counter, so every key seals each nonce once without drawing
 * random bytes per message. The plaintext carries a timestamp and the recipient (`*` for published
 * messages), so a frame cannot be forged, altered, replayed or sent to another app.
 *
 * Setting a cipher up (key, IV, AAD) costs about as much as the rest of sealing or opening a small
 * frame, and a call's round trip seals and opens twice. So the cipher of our next nonce, and the
 * decipher of the next nonce of a peer whose frames come in order, are set up ahead, after the turn
 * of the event loop: the frame at hand has then been written, or handled and answered, and the peer
 * is at work. (A microtask would run before the handler, on the round trip.)
 */
/** What opening a frame gave: its text and proven sender, or why it was refused (and, once proven, by whom). */
export type OpenResult = StreamOpened | { ok: true; text: WireText; from: string }

export interface Sealer {
  /**
   * The sealed frame, as the pieces to write one after the other (no copy of the ciphertext): on
   * `channel`'s stream to `to` (streams.ts) when given and the text is short, which the recipient
   * must open (protocol 1.3; 1.4 for a `sha256` tag, 1.5 for `poly1305`), else sealed on its own (1.2). Valid until the
   * next seal: a stream frame's list of pieces, and its last piece, are reused.
   */
  seal(text: Text, to: string, channel?: Channel, context?: string, tag?: StreamTag, kind?: Channel): Buffer[]
  /**
   * Opens a frame of either kind; `channel` is the kind of connection it came on, `context` what a
   * stream frame must have been sealed with (frames sealed on their own carry none).
   */
  open(frame: Buffer, me: string, channel?: Channel, context?: string): OpenResult
}

/** What opening a sender's frames needs: its key, the header it seals under (the AAD) and its replay window. */
interface Sender {
  uuid: string
  key: KeyObject
  aad: Buffer
  /** Set once a frame of this sender opened: forged headers never create windows. */
  window?: ReplayWindow
  /** The counter expected next (0: none), when the newest frame followed its predecessor, and its IV's random part. */
  next: number
  prefix: number
  /** The decipher set up ahead for the sender's next frame (its counter). */
  spare?: { n: number; decipher: DecipherGCM }
  sparing: boolean
  prepare: () => void
}

const BAR = 0x7c // '|', between the clock, the recipient and the text of an `S1.` plaintext

/** After this turn of the event loop; never keeps the process alive. */
const afterTurn = (task: () => void) => setImmediate(task).unref()

/**
 * `secrets[0]` seals; every secret opens, so a rolling deployment can change the secret. An app that
 * `speaks` 1.3 or 1.4 stands in for one (tests, benchmarks): `S3.` and `S4.` frames are unknown to
 * the first, `S4.` frames to the second.
 */
export function createSealer(secrets: string[], partition: string, uuid: string, speaks: '1.3' | '1.4' | '1.5' = '1.5'): Sealer {
  const own = partitionKey(secrets[0], partition)
  const header = Buffer.from(`${partition}.${own.id}.${uuid}`)
  if (header.length > S1_HEADER_MAX) throw new RangeError(`the partition key is too long to seal under (${header.length} bytes of header)`)
  const preamble = Buffer.alloc(S1_PREAMBLE + header.length)
  S1_MAGIC.copy(preamble)
  preamble.writeUInt16BE(header.length, S1_MAGIC.length)
  header.copy(preamble, S1_PREAMBLE)
  const sealing = { key: senderKey(own.base, uuid), aad: preamble }
  const streams = createStreamSealer(own.base, uuid, header, speaks)
  const baseOf = (partition: string, id: string) => basesOf(partition).find((candidate) => candidate.id === id)?.base ?? 'unknown secret'
  const bases = new Map<string, SecretKey[]>() // partition → its key under every secret
  const senders = new Map<string, Sender>() // `partition.id.uuid` → sender, once a frame of it opened
  const windows = new Map<string, ReplayWindow>() // uuid → window; outlives `senders` evictions
  // The IV: 4 random bytes drawn once (two sealers with one uuid would still not share nonces), then the counter.
  const iv = Buffer.alloc(IV_BYTES)
  randomBytes(4).copy(iv)
  let counter = 0
  let spare: { n: number; cipher: CipherGCM } | undefined
  let sparing = false

  function cipherFor(n: number): CipherGCM {
    const cipher = createCipheriv(CIPHER, sealing.key, setCounter(iv, n), AEAD)
    cipher.setAAD(sealing.aad)
    return cipher
  }

  function spareCipher() {
    sparing = false
    if (spare?.n !== counter + 1) spare = { n: counter + 1, cipher: cipherFor(counter + 1) }
  }

  function decipherFor(sender: Sender, iv: Buffer): DecipherGCM {
    const decipher = createDecipheriv(CIPHER, sender.key, iv, AEAD)
    decipher.setAAD(sender.aad)
    return decipher
  }

  /** Only for a sender whose frames come in order (a peer that also talks to others skips counters). */
  function spareDecipher(sender: Sender) {
    sender.sparing = false
    if (!sender.next) return
    const next = Buffer.alloc(IV_BYTES)
    next.writeUInt32BE(sender.prefix)
    setCounter(next, sender.next)
    sender.spare = { n: sender.next, decipher: decipherFor(sender, next) }
  }

  function basesOf(sender: string): SecretKey[] {
    let found = bases.get(sender)
    if (!found) {
      if (bases.size >= KEY_CACHE) bases.delete(bases.keys().next().value as string)
      found = secrets.map((secret) => partitionKey(secret, sender))
      bases.set(sender, found)
    }
    return found
  }

  function windowOf(from: string): ReplayWindow {
    let window = windows.get(from)
    if (!window) {
      if (windows.size >= MAX_WINDOWS) {
        const now = Date.now()
        for (const [key, w] of windows) if (now - w.touched > 10 * MAX_SKEW) windows.delete(key)
      }
      window = new ReplayWindow()
      windows.set(from, window)
    }
    return window
  }

  /** The sender a header names, derived when first seen (and cached only once one of its frames opened). */
  function senderOf(name: string, aad: Buffer): Sender | string {
    const uuidDot = name.lastIndexOf('.')
    const idDot = name.lastIndexOf('.', uuidDot - 1)
    if (idDot < 0 || name.length - uuidDot > 65) return 'malformed'
    const base = basesOf(name.slice(0, idDot)).find((candidate) => candidate.id === name.slice(idDot + 1, uuidDot))
    if (!base) return 'unknown secret'
    const from = name.slice(uuidDot + 1)
    const sender: Sender = { uuid: from, key: senderKey(base.base, from), aad: ownCopy(aad), next: 0, prefix: 0, sparing: false, prepare: () => spareDecipher(sender) }
    return sender
  }

  return {
    seal(text, to, channel, context = '', tag, kind = channel) {
      if (channel && typeof text === 'string' && text.length <= STREAM_TEXT && isPlainContext(context)) return streams.seal(text, to, channel, context, tag)
      if (kind) text = bindText(text, kind, context)
      const n = ++counter
      const cipher = spare?.n === n ? spare.cipher : cipherFor(n)
      spare = undefined
      const head = `${Date.now()}|${to}|`
      // A large text (or one in pieces) is encoded into a reused buffer first: a cipher takes bytes
      // much faster than it encodes a string (40 KB: 19 µs against 79 µs), and one call seals all
      // the pieces. A small one costs the same either way.
      const body = typeof text === 'string' && text.length < ENCODE_FROM ? cipher.update(head + text, 'utf8') : sealBytes(cipher, head, text)
      cipher.final()
      if (!sparing) {
        sparing = true
        afterTurn(spareCipher)
      }
      return [preamble, Buffer.from(setCounter(iv, n)), body, cipher.getAuthTag()]
    },

    open(frame, me, channel, context) {
      if (isStreamFrame(frame)) return channel ? streams.open(frame, me, channel, baseOf, context) : { ok: false, reason: 'malformed' }
      if (!isMessageSealed(frame)) return { ok: false, reason: 'not sealed' }
      const name = headerOf(frame)
      if (name === undefined) return { ok: false, reason: 'malformed' }
      const start = S1_PREAMBLE + frame.readUInt16BE(S1_MAGIC.length) // of the IV
      if (frame.length < start + IV_BYTES + S1_TAG_BYTES) return { ok: false, reason: 'malformed' }
      const sender = senders.get(name) ?? senderOf(name, frame.subarray(0, start))
      if (typeof sender === 'string') return { ok: false, reason: sender }
      const nonce = frame.subarray(start, start + IV_BYTES)
      const n = counterOf(nonce)
      let plain: Buffer
      try {
        // A spare decipher serves one frame only, whether it opens or not.
        const decipher = sender.spare?.n === n && nonce.readUInt32BE(0) === sender.prefix ? sender.spare.decipher : decipherFor(sender, nonce)
        sender.spare = undefined
        decipher.setAuthTag(frame.subarray(frame.length - S1_TAG_BYTES))
        plain = decipher.update(frame.subarray(start + IV_BYTES, frame.length - S1_TAG_BYTES))
        decipher.final()
      } catch {
        return { ok: false, reason: 'authentication failed' }
      }
      if (!sender.window) {
        if (senders.size >= KEY_CACHE) senders.delete(senders.keys().next().value as string)
        senders.set(name, sender)
        sender.window = windowOf(sender.uuid)
      }
      const { uuid: from, window } = sender
      // `<time>|<recipient>|<text>`: the text is read last, a slice at a time when large (sliced-text.ts).
      const bar = plain.indexOf(BAR)
      const bar2 = bar < 0 ? -1 : plain.indexOf(BAR, bar + 1)
      if (bar2 < 0) return { ok: false, reason: 'malformed', from }
      const to = plain.toString('utf8', bar + 1, bar2)
      if (to !== me && to !== '*') return { ok: false, reason: 'addressed to another app', from }
      if (!(Math.abs(Date.now() - Number(plain.toString('latin1', 0, bar))) <= MAX_SKEW)) return { ok: false, reason: 'too old', from }
      // Checked before the replay window takes its counter: a frame misdelivered on purpose must not use up the real delivery.
      if (!bindingHolds(plain, bar2 + 1, channel, context)) return { ok: false, reason: 'another request', from }
      const newest = window.newest
      if (!window.accept(n)) return { ok: false, reason: 'replayed', from }
      if (n > newest) {
        sender.next = n === newest + 1 ? n + 1 : 0
        sender.prefix = nonce.readUInt32BE(0)
      }
      if (sender.next && !sender.sparing) {
        sender.sparing = true
        afterTurn(sender.prepare)
      }
      return { ok: true, text: readText(plain, bar2 + 1), from }
    }
  }
}
