/**
 * JSON text of a large value, as pieces to write one after the other. JSON.stringify builds a large
 * result as a rope of parts, and whatever reads it (Buffer.byteLength, a write, a cipher) first
 * copies it into one flat string, which for more than 128 KB lands in fresh memory: for a 1.4 MB
 * text that copy cost more than the stringify itself (5 ms against 3.6 ms). Stringified a slice of
 * elements at a time, the pieces stay small and are written straight into the frame.
 *
 * Values JSON would lose (Date, Buffer...) are tagged as `encode` tags them, a slice at a time,
 * right before it is stringified (its records are then still in the cache): the pieces joined are
 * the text `JSON.stringify(needsTags(value) ? encode(value) : value)` would give, with a newline
 * after the `[` of an array written in slices, after the comma between two slices and before its
 * `]`. JSON readers skip them as whitespace; ours read the slices one by one (sliced-text.ts).
 */
import { Buffer } from 'buffer'
import { encodeOrOmit, needsTags, TAG } from './codec'

const SLICE = 256 // array elements stringified together
const MAX_DEPTH = 4 // deeper values are stringified whole

/** A serialized message: one string, or for large values the pieces of its text. */
export type Text = string | string[]

export function textLength(text: Text): number {
  if (typeof text === 'string') return text.length
  let length = 0
  for (const piece of text) length += piece.length
  return length
}

/**
 * The UTF-8 bytes of `text` when they are more than `max` (0: no limit), else undefined. Counted
 * only when its characters cannot tell (a character takes 1 to 3 bytes), so a text well under the
 * limit costs no pass over it.
 */
export function bytesOver(text: Text, max: number): number | undefined {
  if (max === 0 || textLength(text) * 3 <= max) return undefined
  let bytes = 0
  if (typeof text === 'string') bytes = Buffer.byteLength(text, 'utf8')
  else for (const piece of text) bytes += Buffer.byteLength(piece, 'utf8')
  return bytes > max ? bytes : undefined
}

/** A value whose text would be over the size it may take (see stringifyInPieces); thrown before all of it is written. */
export class TextTooLarge extends Error {
  constructor(readonly max: number) {
    super(max > 0 ? `its text is over ${max} bytes` : 'its text is longer than the longest string Node makes')
  }
}

export const joinText = (text: Text): string => (typeof text === 'string' ? text : text.join(''))

/** Characters the value's text may still take before stringifyInPieces gives up on it. */
let room = Infinity
let roomOf = 0

/**
 * The pieces of `value`'s text. With `max` (characters; 0: no limit), a text that grows past it
 * throws TextTooLarge as soon as it does: a value far over the limit (or over the longest string V8
 * makes) is not written whole first.
 */
export function stringifyInPieces(value: unknown, max = 0): string[] {
  const out: string[] = []
  room = roomOf = max > 0 ? max : Infinity
  try {
    write(value, out, 0)
  } finally {
    room = Infinity
  }
  return out
}

function emit(out: string[], piece: string) {
  out.push(piece)
  if ((room -= piece.length) < 0) throw new TextTooLarge(roomOf)
}

/** The JSON text of a value, tagged where it needs it. */
const stringify = (value: unknown): string | undefined => JSON.stringify(needsTags(value) ? encodeOrOmit(value) : value)

/**
 * A value whose elements or fields can be written one by one, as JSON.stringify would: no toJSON
 * (an array may have one too), no tag field, not a Date, a typed array or a boxed primitive
 * (`new String('ab')` is written `"ab"`, not as its characters).
 */
const isOpen = (value: object) =>
  typeof (value as { toJSON?: unknown }).toJSON !== 'function' &&
  (Array.isArray(value) ||
    (!(value instanceof Date) && !ArrayBuffer.isView(value) && !(value instanceof String) && !(value instanceof Number) && !(value instanceof Boolean) && !(value instanceof BigInt) && !Object.hasOwn(value, TAG)))

/** Elements [from, to) in a plain array: `slice` would build it with an Array subclass's own constructor. */
function plainSlice(array: unknown[], from: number, to: number): unknown[] {
  const end = Math.min(to, array.length)
  const items = new Array(end - from)
  for (let i = from; i < end; i++) items[i - from] = array[i]
  return items
}

function write(value: unknown, out: string[], depth: number) {
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH || !isOpen(value)) {
    // In an array, undefined is written as null (as JSON.stringify does); object fields skip it.
    emit(out, stringify(value) ?? 'null')
    return
  }
  if (Array.isArray(value)) {
    if (value.length > SLICE) {
      // Newlines around the slices, which JSON reads as whitespace, let a reader parse them one by one (sliced-text.ts).
      emit(out, '[\n')
      for (let i = 0; i < value.length; i += SLICE) {
        if (i > 0) emit(out, ',\n')
        const slice = stringify(plainSlice(value, i, i + SLICE)) as string
        emit(out, slice.slice(1, -1)) // without its brackets: a view, not a copy
      }
      emit(out, '\n]')
      return
    }
    emit(out, '[')
    for (let i = 0; i < value.length; i++) {
      if (i > 0) emit(out, ',')
      write(value[i], out, depth + 1)
    }
    emit(out, ']')
    return
  }
  let first = true
  emit(out, '{')
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key]
    if (field === undefined) continue
    // A field written whole may come to nothing (its toJSON gives undefined): then so does its key.
    const whole = field === null || typeof field !== 'object' || depth + 1 >= MAX_DEPTH || !isOpen(field) ? stringify(field) : ''
    if (whole === undefined) continue
    emit(out, `${first ? '' : ','}${JSON.stringify(key)}:`)
    first = false
    if (whole !== '') emit(out, whole)
    else write(field, out, depth + 1)
  }
  emit(out, '}')
}
