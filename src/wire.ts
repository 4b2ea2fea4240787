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

/** Parts of the frame at `offset`, and where it ends; `needed` (bytes in all) when it is not complete. */
function parseFrame(buffer: Buffer, offset: number, maxPart: number): { parts: unknown[]; end: number } | { needed: number } {
  if (offset >= buffer.length) return { needed: offset + 1 }
  const meta = buffer[offset]
  const count = meta & 0x0f
  if (meta >> 4 !== VERSION || count === 0) throw new FrameError(`not a frame (first byte ${meta})`)
  const parts = new Array<unknown>(count)
  let at = offset + 1
  for (let i = 0; i < count; i++) {
    if (at + HEADER > buffer.length) return { needed: at + HEADER }
    const length = buffer.readUInt32BE(at)
    if (length > maxPart) throw new FrameError(`a frame part of ${length} bytes is over the limit (${maxPart})`)
    // Up to 15 parts each under the limit would still be 15 times it, buffered before any check.
    if (at + HEADER + length - offset > maxPart + FRAME_EXTRA) throw new FrameError(`a frame of more than ${maxPart + FRAME_EXTRA} bytes is over the limit`)
    at += HEADER
    if (at + length > buffer.length) return { needed: at + length }
    parts[i] = decodePart(buffer, at, at + length)
    at += length
  }
  return { parts, end: at }
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

  constructor(private readonly maxPart: number) {}

  /**
   * Feeds one chunk; calls `onFrame` for each complete frame, until it returns false (the connection
   * was cut: the rest is not worth decoding). Throws FrameError on a malformed stream.
   */
  push(chunk: Buffer, onFrame: (parts: unknown[]) => boolean | void) {
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
      while (offset < buffer.length) {
        const result = parseFrame(buffer, offset, this.maxPart)
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
