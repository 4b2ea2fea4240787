/**
 * Texts read from the wire, and large JSON texts read a slice at a time.
 *
 * V8 keeps a string of more than 128 KB in memory of its own, mapped fresh for it: decoding a 1 MB
 * reply into one string cost 3 ms of page faults on our VMs, as much as parsing it. The writer
 * (json-pieces.ts) marks the slices of a long array with newlines, which JSON reads as whitespace and
 * JSON.stringify never writes (it escapes them inside strings): `[` LF slice `,` LF slice ... LF `]`.
 * A reader that finds them decodes each slice into a string of its own, small enough for V8's young
 * generation (whose memory is reused), parses the slices one by one and puts the arrays back together.
 * Anything else, any other layout of newlines, and texts over SLICED_UP_TO are read whole.
 */
import { isAscii } from 'buffer'
import { randomBytes } from 'crypto'

/** Texts at least this long are checked for ASCII: then a copy decodes them, faster than UTF-8 decoding. */
const ASCII_CHECK = 16 * 1024
/** Texts from this length are looked at for slices: V8's limit for strings in its young generation. */
export const SLICED_FROM = 128 * 1024
/**
 * Larger texts are read whole. Their slices, young strings too, would fill the young generation
 * several times over while the records parsed from them are alive, and each scavenge copies those:
 * a 10 MB reply took 19 scavenges instead of 8 and 1.3–1.4× as long (1 MB: 0.7× as long).
 */
export const SLICED_UP_TO = 4 * 1024 * 1024
const MIN_SLICE_BYTES = 1024 // on average, or the text is read whole
const LF = 0x0a
const OPEN = 0x5b // '['
const CLOSE = 0x5d // ']'
const COMMA = 0x2c
/**
 * Stands in the skeleton for the slices of one array. Random per process: no peer knows it, so no
 * string a peer sends can pass for one.
 */
const MARK = `\u0000slices:${randomBytes(8).toString('hex')}:`

const isSpace = (byte: number) => byte === 0x20 || byte === LF || byte === 0x0d || byte === 0x09

/** UTF-8 bytes as text. JSON texts are mostly ASCII, which copies faster than UTF-8 decodes. */
export function utf8Text(buffer: Buffer, start = 0, end = buffer.length): string {
  if (end - start >= ASCII_CHECK && isAscii(buffer.subarray(start, end))) return buffer.toString('ascii', start, end)
  return buffer.toString('utf8', start, end)
}

/** A large JSON text read as its skeleton (each sliced array holding one mark) and the texts of the slices of each array. */
export class SlicedText {
  constructor(
    /** The text around the sliced arrays: before the first, between each two, after the last. */
    readonly around: string[],
    /** The slices of each array, each in brackets. */
    readonly arrays: string[][]
  ) {}

  /** The text with a mark (a one-string array) in place of each sliced array's elements. */
  get skeleton(): string {
    let text = this.around[0]
    for (let i = 0; i < this.arrays.length; i++) text += JSON.stringify(MARK + i) + this.around[i + 1]
    return text
  }

  /** The text as it arrived, in one string. */
  whole(): string {
    let text = this.around[0]
    for (let i = 0; i < this.arrays.length; i++) text += `\n${this.arrays[i].map((slice) => slice.slice(1, -1)).join(',\n')}\n${this.around[i + 1]}`
    return text
  }
}

/** A text part as it arrived: one string, or for a large text marked in slices, its slices. */
export type WireText = string | SlicedText

export const isWireText = (value: unknown): value is WireText => typeof value === 'string' || value instanceof SlicedText

/** The text of `buffer[start, end)`, read a slice at a time when it is large and marked in slices. */
export function readText(buffer: Buffer, start = 0, end = buffer.length): WireText {
  if (end - start < SLICED_FROM || end - start > SLICED_UP_TO) return utf8Text(buffer, start, end)
  let at = buffer.indexOf(LF, start)
  if (at < 0 || at >= end) return utf8Text(buffer, start, end)
  const around: string[] = []
  const arrays: string[][] = []
  let from = start // of the skeleton text not taken yet
  // Slices average a kilobyte or more (256 elements each); a text of tiny slices, from no writer of
  // ours, is read whole rather than parsed a few bytes at a time (a million parses for 3 MB).
  let slicesLeft = Math.floor((end - start) / MIN_SLICE_BYTES) + 16
  while (at >= 0 && at < end) {
    // An array's slices: `[` LF, then slices each ended by `,` LF, the last by LF `]`.
    if (at === start || buffer[at - 1] !== OPEN) return utf8Text(buffer, start, end)
    const slices: string[] = []
    let sliceAt = at + 1
    for (;;) {
      const next = buffer.indexOf(LF, sliceAt)
      if (next < 0 || next >= end) return utf8Text(buffer, start, end)
      const last = buffer[next + 1] === CLOSE && next + 1 < end
      const sliceEnd = last ? next : next - 1
      if (!last && buffer[next - 1] !== COMMA) return utf8Text(buffer, start, end)
      // An empty slice, or one of whitespace only, which JSON would refuse (ours start and end with an element).
      if (sliceEnd <= sliceAt || isSpace(buffer[sliceAt]) || isSpace(buffer[sliceEnd - 1])) return utf8Text(buffer, start, end)
      if (--slicesLeft < 0) return utf8Text(buffer, start, end)
      slices.push(`[${utf8Text(buffer, sliceAt, sliceEnd)}]`)
      sliceAt = next + 1
      if (last) break
    }
    around.push(utf8Text(buffer, from, at))
    arrays.push(slices)
    from = sliceAt // the `]`
    at = buffer.indexOf(LF, from)
  }
  around.push(utf8Text(buffer, from, end))
  return new SlicedText(around, arrays)
}

/**
 * The value of a sliced text: `parse` reads the skeleton and each slice (an array), and the
 * slices' elements take the place of their array's mark. When that fails (newlines where no writer
 * of ours puts them, such as inside an element), the whole text is parsed instead, so the value,
 * or the error, is the one `parse` gives for the whole text.
 */
export function parseSliced(text: SlicedText, parse: (json: string) => unknown): unknown {
  try {
    return parseBySlice(text, parse)
  } catch {
    return parse(text.whole())
  }
}

function parseBySlice(text: SlicedText, parse: (json: string) => unknown): unknown {
  let left = text.arrays.length
  const taken = new Array<boolean>(left).fill(false)
  // The elements of an array's slices, joined by concat (which sizes the array once).
  const elements = (mark: string): unknown[] => {
    const index = Number(mark.slice(MARK.length))
    const slices = text.arrays[index]
    if (slices === undefined || taken[index]) throw new SyntaxError('a sliced text marks an array twice')
    taken[index] = true
    left--
    const parsed = new Array<unknown[]>(slices.length)
    for (let i = 0; i < slices.length; i++) parsed[i] = parse(slices[i]) as unknown[]
    // At most a few thousand slices (readText's bound): few enough arguments for one call.
    return ([] as unknown[]).concat(...parsed)
  }
  const markOf = (value: unknown) => (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string' && value[0].startsWith(MARK) ? (value[0] as string) : undefined)
  // Marks are found by walking the skeleton's objects and arrays (arrays by index: `for...in`
  // would make a string of every index of a long array written whole).
  const visit = (value: object) => {
    if (ArrayBuffer.isView(value) || value instanceof Date) return
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && left > 0; i++) {
        const child = value[i]
        if (child === null || typeof child !== 'object') continue
        const mark = markOf(child)
        if (mark === undefined) visit(child)
        else value[i] = elements(mark)
      }
      return
    }
    const container = value as Record<string, unknown>
    for (const key in container) {
      if (left === 0) return
      const child = container[key]
      if (child === null || typeof child !== 'object') continue
      const mark = markOf(child)
      if (mark === undefined) visit(child)
      // A `__proto__` key parsed from the wire is data: assigning it would set the prototype.
      else if (key === '__proto__') Object.defineProperty(container, key, { value: elements(mark), enumerable: true, writable: true, configurable: true })
      else container[key] = elements(mark)
    }
  }
  const root = parse(text.skeleton)
  const mark = markOf(root)
  if (mark !== undefined) return elements(mark)
  if (root !== null && typeof root === 'object') visit(root)
  if (left > 0) throw new SyntaxError('a sliced text lost one of its arrays')
  return root
}
