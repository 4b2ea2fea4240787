import { Buffer } from 'buffer'
/**
 * Turns values into a JSON-safe tree, and back, keeping the types JSON loses (Date, Buffer, typed
 * arrays, non-finite numbers); undefined fields are dropped as JSON does. Functions, BigInt and
 * cycles are refused with EncodeError, which callers turn into a BadRequest. Tags are objects with
 * a `$t` field; a user object that has its own `$t` field is wrapped, so no record is ever altered.
 */
export const TAG = '$t'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export class EncodeError extends Error {}

/**
 * Levels of objects and arrays a value may nest: far beyond any record, and well within the
 * receiver's stack (decode takes two frames a level). Deeper values are refused before they are
 * sent, instead of overflowing the receiver's stack, which cut the connection and every call on it.
 */
export const MAX_DEPTH = 1_000
/** The receiver's bound: the sender's, plus the message around the value and the pieces of large ones. */
const DECODE_DEPTH = MAX_DEPTH + 64

type TypedArrayClass = { new (buffer: ArrayBuffer, offset: number, length: number): unknown; BYTES_PER_ELEMENT: number }
const Float16 = (globalThis as { Float16Array?: TypedArrayClass }).Float16Array // Node 24 and later
const TYPED_ARRAYS: Record<string, TypedArrayClass> = {
  ...(Float16 ? { Float16Array: Float16 } : {}),
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array
}

const PLAIN = 0
const TAGGED = 1
const LARGE = 2
/** Objects and arrays `scan` may still visit before it calls a value large. */
let budget = Infinity

/** What sending a value takes: plain JSON, tags (a Date, a Buffer...), or, past `maxNodes` objects and arrays, a walk in pieces. */
export function shapeOf(value: unknown, maxNodes: number): 'plain' | 'tagged' | 'large' {
  budget = maxNodes
  try {
    const shape = scan(value, 0)
    return shape === PLAIN ? 'plain' : shape === TAGGED ? 'tagged' : 'large'
  } finally {
    budget = Infinity // a getter may throw: needsTags must never see a budget
  }
}

/** Whether a value holds more than `maxNodes` objects and arrays (it stops counting there). */
export function largerThan(value: unknown, maxNodes: number): boolean {
  budget = maxNodes
  try {
    return count(value, 0)
  } finally {
    budget = Infinity
  }
}

function count(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object' || depth > 64 || ArrayBuffer.isView(value)) return false
  if (--budget < 0) return true
  if (Array.isArray(value)) {
    for (const item of value) if (count(item, depth + 1)) return true
  } else {
    for (const key in value as Record<string, unknown>) if (count((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

/** Whether a value holds anything plain JSON would lose or alter; most records do not. */
export const needsTags = (value: unknown): boolean => scan(value, 0) === TAGGED

function scan(value: unknown, depth: number): number {
  if (value === null || value === undefined) return PLAIN
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return PLAIN
    case 'number':
      return Number.isFinite(value) ? PLAIN : TAGGED
    case 'object':
      break
    default:
      return TAGGED // functions, symbols and BigInt: the slow path refuses them with a clear error
  }
  // Deeper than any real record: let the slow path (and its cycle check) decide.
  if (depth > 64 || ArrayBuffer.isView(value) || value instanceof Date) return TAGGED
  if (--budget < 0) return LARGE
  // Before the array walk: an array's own toJSON (an ORM's list) decides what travels, as for an object.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return TAGGED
  if (Array.isArray(value)) {
    for (const item of value) {
      const shape = scan(item, depth + 1)
      if (shape !== PLAIN) return shape
    }
    return PLAIN
  }
  let fields = 0
  for (const key in value as Record<string, unknown>) {
    if (key === TAG) return TAGGED
    fields++
    const shape = scan((value as Record<string, unknown>)[key], depth + 1)
    if (shape !== PLAIN) return shape
  }
  // A boxed number may be NaN, and JSON cannot write a boxed BigInt: encode deals with both.
  return fields === 0 && (value instanceof Number || value instanceof BigInt) ? TAGGED : PLAIN
}

/** The built-in typed array a view is, or inherits from (a subclass travels as its built-in class). */
function typedArrayName(view: ArrayBufferView): string {
  for (let proto = Object.getPrototypeOf(view); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name: unknown = proto.constructor?.name
    if (typeof name === 'string' && Object.hasOwn(TYPED_ARRAYS, name) && TYPED_ARRAYS[name] === proto.constructor) return name
  }
  return 'Uint8Array'
}

/** What a field whose toJSON() gives undefined becomes: nothing, as in JSON.stringify (an item of an array: null). */
const OMIT: unique symbol = Symbol('omit')

export function encode(value: unknown): Json {
  const json = encodeAny(value, new Set(), 0)
  return json === OMIT ? null : json
}

/** As encode, but undefined where JSON.stringify would write nothing (a toJSON() that gives undefined). */
export function encodeOrOmit(value: unknown): Json | undefined {
  const json = encodeAny(value, new Set(), 0)
  return json === OMIT ? undefined : json
}

function encodeAny(value: unknown, seen: Set<object>, depth: number): Json | typeof OMIT {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return Number.isFinite(value) ? value : { [TAG]: 'n', v: String(value) }
    case 'bigint':
    case 'function':
    case 'symbol':
      throw new EncodeError(`cannot send a ${typeof value} over the mesh`)
    default:
      break
  }
  const object = value as object
  if (object instanceof Date) return { [TAG]: 'd', v: object.getTime() }
  if (Buffer.isBuffer(object)) return { [TAG]: 'b', v: object.toString('base64') }
  if (ArrayBuffer.isView(object) && !(object instanceof DataView)) {
    return { [TAG]: 'u', c: typedArrayName(object), v: Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64') }
  }
  // Boxed primitives travel as their value, as JSON writes them (a boxed BigInt is refused).
  if (object instanceof String || object instanceof Number || object instanceof Boolean || object instanceof BigInt) return encodeAny(object.valueOf(), seen, depth)
  if (seen.has(object)) throw new EncodeError('cannot send a value with a circular reference over the mesh')
  if (depth >= MAX_DEPTH) throw new EncodeError(`cannot send a value nested more than ${MAX_DEPTH} levels deep over the mesh`)
  seen.add(object)
  try {
    // Objects (arrays too) with their own toJSON (ObjectId, Decimal128, moment...) travel as JSON does.
    const toJSON = (object as { toJSON?: () => unknown }).toJSON
    if (typeof toJSON === 'function') {
      const json = toJSON.call(object)
      return json === undefined ? OMIT : encodeAny(json, seen, depth)
    }
    if (Array.isArray(object)) {
      // A loop into a plain array: `map` would build the copy with an Array subclass's own constructor.
      const items: Json[] = new Array(object.length)
      for (let i = 0; i < object.length; i++) {
        const item = encodeAny(object[i], seen, depth + 1)
        items[i] = item === OMIT ? null : item
      }
      return items
    }
    const out: { [key: string]: Json } = {}
    for (const field of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[field]
      if (item === undefined) continue
      const json = encodeAny(item, seen, depth + 1)
      if (json === OMIT) continue
      // An own `__proto__` field is data (JSON.stringify writes it): assigning it would set the prototype.
      if (field === '__proto__') Object.defineProperty(out, field, { value: json, enumerable: true, writable: true, configurable: true })
      else out[field] = json
    }
    return TAG in out ? { [TAG]: 'o', v: out } : out
  } finally {
    seen.delete(object)
  }
}

export function decode(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value
  if (depth > DECODE_DEPTH) throw new RangeError(`a value nested more than ${DECODE_DEPTH} levels deep`)
  if (Array.isArray(value)) {
    const items: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) items[i] = decode(value[i], depth + 1)
    return items
  }
  const object = value as Record<string, unknown>
  const tag = object[TAG]
  if (typeof tag === 'string') {
    const v = object.v
    switch (tag) {
      case 'd':
        // An invalid Date is written as null (its time is NaN): it stays invalid, not 1970.
        return new Date(v === null ? NaN : (v as number))
      case 'b':
        return Buffer.from(v as string, 'base64')
      case 'u': {
        const bytes = Buffer.from(v as string, 'base64')
        // A class this Node lacks (Float16Array before Node 24) arrives as its bytes.
        const View = typeof object.c === 'string' && Object.hasOwn(TYPED_ARRAYS, object.c) ? TYPED_ARRAYS[object.c] : Uint8Array
        const copy = new Uint8Array(bytes).buffer // aligned, owned copy
        return new View(copy, 0, bytes.byteLength / View.BYTES_PER_ELEMENT)
      }
      case 'n':
        return Number(v)
      case 'o':
        return decodeFields(v as Record<string, unknown>, depth)
      default:
        break
    }
  }
  return decodeFields(object, depth)
}

function decodeFields(object: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const field of Object.keys(object)) {
    // A `__proto__` key from the wire must stay data, never become the prototype.
    if (field === '__proto__') Object.defineProperty(out, field, { value: decode(object[field], depth + 1), enumerable: true, writable: true, configurable: true })
    else out[field] = decode(object[field], depth + 1)
  }
  return out
}
