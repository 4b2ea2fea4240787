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
import { encode, needsTags, TAG } from './codec'

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

export const joinText = (text: Text): string => (typeof text === 'string' ? text : text.join(''))

export function stringifyInPieces(value: unknown): string[] {
  const out: string[] = []
  write(value, out, 0)
  return out
}

/** The JSON text of a value, tagged where it needs it. */
const stringify = (value: unknown): string | undefined => JSON.stringify(needsTags(value) ? encode(value) : value)

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
    out.push(stringify(value) ?? 'null')
    return
  }
  if (Array.isArray(value)) {
    if (value.length > SLICE) {
      // Newlines around the slices, which JSON reads as whitespace, let a reader parse them one by one (sliced-text.ts).
      out.push('[\n')
      for (let i = 0; i < value.length; i += SLICE) {
        if (i > 0) out.push(',\n')
        const slice = stringify(plainSlice(value, i, i + SLICE)) as string
        out.push(slice.slice(1, -1)) // without its brackets: a view, not a copy
      }
      out.push('\n]')
      return
    }
    out.push('[')
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',')
      write(value[i], out, depth + 1)
    }
    out.push(']')
    return
  }
  let first = true
  out.push('{')
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key]
    if (field === undefined) continue
    out.push(`${first ? '' : ','}${JSON.stringify(key)}:`)
    first = false
    write(field, out, depth + 1)
  }
  out.push('}')
}
