/**
 * The byte framing of cote's sockets (axon's AMP), written and read here without amp's per-byte
 * parser and per-part `new Buffer` calls: one allocation per frame sent, no copy of a frame that
 * arrived in one chunk, and a bound on the size a peer may announce. Frames stay byte-compatible
 * with axon, so a plain cote component can still talk to an app.
 *
 *   frame = meta (version << 4 | part count) · part*
 *   part  = length (uint32 BE) · bytes, where bytes are `s:` + UTF-8 text, `j:` + JSON, or raw bytes
 *
 * Sealed frames travel as raw bytes; they start with `S1.`, never with a type tag and a colon.
 */
// Imported: Node's global `Buffer` (like `process` and `performance`) is a getter, called on every use in a hot path.
import { Buffer } from 'buffer'
import { LARGE, largeBuffers, LENT_FRAME } from './buffers'
import { readText, utf8Text } from './sliced-text'

const VERSION = 1
const HEADER = 4
const TEXT = 0x73 // 's'
const JSON_TAG = 0x6a // 'j'
const COLON = 0x3a
/** Bytes a frame may hold beyond its largest part: the other parts of a mesh frame are ids and `null`. */
const FRAME_EXTRA = 64 * 1024

/** Text (whole, or pieces to join), `null` (as axon's replies carry it), or raw bytes (one buffer, or pieces to join). */
export type Part = string | string[] | null | Buffer | Buffer[]

const isTextPieces = (part: string[] | Buffer[]): part is string[] => typeof part[0] === 'string'

export class FrameError extends Error {}

const byteLength = (pieces: string[] | Buffer[]) => {
  let length = 0
  if (isTextPieces(pieces)) for (const piece of pieces) length += Buffer.byteLength(piece, 'utf8')
  else for (const piece of pieces) length += piece.length
  return length
}

/**
 * Encodes parts into one frame: the only copy of their bytes on the way out. A frame of LENT_FRAME
 * bytes or more is lent by `largeBuffers`: give it back once written (one never given back is collected).
 */
export function encodeFrame(parts: Part[]): Buffer {
  if (parts.length > 15) throw new FrameError('a frame holds at most 15 parts')
  let size = 1
  const lengths = new Array<number>(parts.length)
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]
    lengths[i] = part === null ? 6 : typeof part === 'string' ? 2 + Buffer.byteLength(part, 'utf8') : Buffer.isBuffer(part) ? part.length : (isTextPieces(part) ? 2 : 0) + byteLength(part)
    size += HEADER + lengths[i]
  }
  const frame = size >= LENT_FRAME ? largeBuffers.take(size) : Buffer.allocUnsafe(size)
  frame[0] = (VERSION << 4) | parts.length
  let offset = 1
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]
    frame.writeUInt32BE(lengths[i], offset)
    offset += HEADER
    if (part === null) {
      offset += frame.write('j:null', offset, 'latin1')
    } else if (Buffer.isBuffer(part)) {
      frame.set(part, offset)
      offset += part.length
    } else if (Array.isArray(part)) {
      if (isTextPieces(part)) {
        frame[offset++] = TEXT
        frame[offset++] = COLON
        for (const piece of part) offset += frame.write(piece, offset, 'utf8')
      } else {
        for (const piece of part) {
          frame.set(piece, offset)
          offset += piece.length
        }
      }
    } else {
      frame[offset++] = TEXT
      frame[offset++] = COLON
      offset += frame.write(part, offset, 'utf8')
    }
  }
  return frame
}

function decodePart(buffer: Buffer, start: number, end: number): unknown {
  if (end - start >= 2 && buffer[start + 1] === COLON) {
    // A large JSON text marked in slices arrives as its slices (a SlicedText), not as one string.
    if (buffer[start] === TEXT) return readText(buffer, start + 2, end)
    if (buffer[start] === JSON_TAG) return JSON.parse(utf8Text(buffer, start + 2, end))
  }
  return buffer.subarray(start, end)
}

/**
 * A frame part over the reader's limit, skipped unread: it stands in the part's place, so that the
 * frame's other parts (a request's id) still arrive and its handler can refuse just that message.
 */
export class OversizedPart {
  constructor(
    readonly length: number,
    /** Its first HEAD_BYTES bytes (or all, when fewer): a sealed frame's header names its sender. */
    readonly head: Buffer
  ) {}
}

const HEAD_BYTES = 256

/** A frame whose parts before `index` are read (an oversized one among them), the rest to come. */
type Resume = { parts: unknown[]; index: number }

type Parsed = { parts: unknown[]; end: number } | { needed: number } | { skip: number; from: number; resume: Resume }

/**
 * Parts of the frame at `offset` (or of the rest of one, from `resume`), and where it ends; `needed`
 * (bytes in all) when it is not complete; `skip` bytes from `from` when a part is over the limit.
 */
function parseFrame(buffer: Buffer, offset: number, maxPart: number, resume?: Resume): Parsed {
  let parts: unknown[]
  let i: number
  let at: number
  if (resume) {
    ;({ parts, index: i } = resume)
    at = offset
  } else {
    if (offset >= buffer.length) return { needed: offset + 1 }
    const meta = buffer[offset]
    const count = meta & 0x0f
    if (meta >> 4 !== VERSION || count === 0) throw new FrameError(`not a frame (first byte ${meta})`)
    parts = new Array<unknown>(count)
    i = 0
    at = offset + 1
  }
  for (; i < parts.length; i++) {
    if (at + HEADER > buffer.length) return { needed: at + HEADER }
    const length = buffer.readUInt32BE(at)
    at += HEADER
    if (length > maxPart) {
      // Its first bytes are awaited (a few hundred at most): a sealed frame's header names whom to refuse.
      const head = Math.min(length, HEAD_BYTES)
      if (at + head > buffer.length) return { needed: at + head }
      parts[i] = new OversizedPart(length, Buffer.from(buffer.subarray(at, at + head)))
      return { skip: length, from: at, resume: { parts: kept(parts, i), index: i + 1 } }
    }
    // Up to 15 parts each under the limit would still be 15 times it, buffered before any check.
    if (at + length - offset > maxPart + FRAME_EXTRA) throw new FrameError(`a frame of more than ${maxPart + FRAME_EXTRA} bytes is over the limit`)
    if (at + length > buffer.length) return { needed: at + length }
    parts[i] = decodePart(buffer, at, at + length)
    at += length
  }
  return { parts, end: at }
}

/**
 * The parts read before an oversized one, made to outlive the buffer they were read from (the
 * frame is handed on after later chunks). Ids, topics and `null` are strings or values already;
 * anything else (raw bytes, sliced text) has no place before a payload: such a frame is refused.
 */
function kept(parts: unknown[], before: number): unknown[] {
  for (let i = 0; i < before; i++) {
    const part = parts[i]
    if (part !== null && typeof part === 'object' && !(part instanceof OversizedPart)) throw new FrameError('a frame part over the limit follows a raw one')
  }
  return parts
}

/**
 * Cuts a byte stream into frames. Chunks that end inside a frame are kept as they are and joined
 * once the frame is complete, so a 10 MB frame costs one copy, not one per chunk. A large join goes
 * into a buffer lent by `largeBuffers` and given back once its frames are handled: raw (Buffer) parts
 * handed to `onFrame` are valid during the call only.
 */
export class FrameReader {
  private chunks: Buffer[] = []
  private buffered = 0
  private needed = 0
  /** Bytes of an oversized part still to come, dropped as they arrive. */
  private skipping = 0
  /** The frame an oversized part was skipped in, when the bytes buffered are the rest of it. */
  private resume?: Resume

  constructor(private readonly maxPart: number) {}

  /**
   * Feeds one chunk; calls `onFrame` for each complete frame, until it returns false (the connection
   * was cut: the rest is not worth decoding). Throws FrameError on a malformed stream. A part over
   * the limit is not buffered: it is skipped as it arrives, and comes as an OversizedPart.
   */
  push(chunk: Buffer, onFrame: (parts: unknown[]) => boolean | void) {
    if (this.skipping > 0) {
      const skipped = Math.min(this.skipping, chunk.length)
      this.skipping -= skipped
      chunk = chunk.subarray(skipped)
      if (this.skipping > 0) return
      // The oversized part was the frame's last: it is complete without another byte.
      if (this.resume && this.resume.index === this.resume.parts.length) {
        const { parts } = this.resume
        this.resume = undefined
        if (onFrame(parts) === false) return
      }
      if (chunk.length === 0) return
    }
    this.chunks.push(chunk)
    this.buffered += chunk.length
    if (this.buffered < this.needed) return
    let lent = this.chunks.length > 1 && this.buffered >= LENT_FRAME ? join(this.chunks, largeBuffers.take(this.buffered)) : undefined
    const buffer = lent ?? (this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered))
    this.chunks = []
    this.buffered = 0
    this.needed = 0
    try {
      let offset = 0
      while (offset < buffer.length || (this.resume && this.resume.index === this.resume.parts.length)) {
        const result = parseFrame(buffer, offset, this.maxPart, this.resume)
        if ('skip' in result) {
          this.resume = result.resume
          const available = buffer.length - result.from
          if (result.skip > available) {
            this.skipping = result.skip - available
            return
          }
          offset = result.from + result.skip
          continue
        }
        if ('needed' in result) {
          // The lent buffer goes back, so the start of the next frame is copied out; unless that
          // start is large (a chunk that ended just before a large frame's last part): then the
          // buffer is kept for it, and collected later instead of lent again.
          const large = buffer.length - offset >= LARGE
          const rest = lent && !large ? Buffer.from(buffer.subarray(offset)) : buffer.subarray(offset)
          if (large) lent = undefined
          this.chunks = [rest]
          this.buffered = rest.length
          this.needed = result.needed - offset
          return
        }
        this.resume = undefined
        offset = result.end
        if (onFrame(result.parts) === false) return
      }
    } finally {
      if (lent) largeBuffers.give(lent)
    }
  }
}

function join(chunks: Buffer[], into: Buffer): Buffer {
  let offset = 0
  for (const chunk of chunks) offset += chunk.copy(into, offset)
  return into
}
