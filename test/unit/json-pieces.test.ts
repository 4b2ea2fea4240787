import { expect } from 'chai'
import { encode, EncodeError } from '../../src/codec'
import { deserialize, serialize } from '../../src/frames'
import { bytesOver, joinText, stringifyInPieces, textLength, TextTooLarge } from '../../src/json-pieces'
import { encodeFrame, FrameReader } from '../../src/wire'
import { createSealer } from '../../src/security'
import { SlicedText } from '../../src/sliced-text'

/** A value of a few thousand nodes with every JSON shape: long and short arrays, holes, undefined, unicode, deep nesting. */
function sample(seed: number): unknown {
  let state = seed
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const leaf = (): unknown => {
    const r = next()
    if (r < 0.15) return null
    if (r < 0.3) return undefined
    if (r < 0.45) return r < 0.4 ? -0 : true
    if (r < 0.6) return (next() - 0.5) * 1e6
    if (r < 0.75) return `s${Math.floor(next() * 1000)} "quoted" \\ \n ü € 😀 \u2028`
    return Math.floor(next() * 100)
  }
  const tree = (depth: number): unknown => {
    if (depth > 6 || next() < 0.3) return leaf()
    if (next() < 0.5) return Array.from({ length: Math.floor(next() * 5) }, () => tree(depth + 1))
    const out: Record<string, unknown> = {}
    for (let i = 0; i < Math.floor(next() * 5); i++) out[`k${i}"ü`] = tree(depth + 1)
    return out
  }
  const sparse = new Array(600)
  sparse[3] = 'x'
  sparse[400] = { deep: [[[[[[[1]]]]]]] }
  return {
    top: 'value',
    skipped: undefined,
    list: Array.from({ length: 1000 }, (_, i) => ({ i, t: tree(0), u: undefined })),
    nested: [Array.from({ length: 300 }, () => tree(0)), [], {}, [undefined, null]],
    sparse,
    empty: { a: [], b: {} }
  }
}

describe('JSON in pieces', () => {
  it('gives up on a value as soon as its text grows past the limit, before writing the rest', () => {
    let read = 0
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      get row() {
        read++
        return { i, at: new Date(i), pad: 'p'.repeat(1000) }
      }
    }))
    expect(() => serialize({ rows }, 100_000)).to.throw(TextTooLarge, /over 100000 bytes/)
    expect(read, 'rows read before giving up (the size check reads some first)').to.be.below(1500)
    expect(joinText(serialize({ rows: rows.slice(0, 10) }, 100_000))).to.include('"i":9')
  })

  it('turns V8\'s "Invalid string length" into TextTooLarge (a text longer than any limit)', () => {
    const value = {
      get huge() {
        throw new RangeError('Invalid string length')
      }
    }
    expect(() => serialize(value, 0)).to.throw(TextTooLarge, /longest string/)
    const other = {
      get deep() {
        throw new RangeError('Maximum call stack size exceeded')
      }
    }
    expect(() => serialize(other)).to.throw(RangeError, /call stack/)
  })

  it('counts bytes of UTF-8 against a limit, and only when the characters cannot tell', () => {
    expect(bytesOver('\u20ac'.repeat(1000), 2000)).to.equal(3000)
    expect(bytesOver(['\u20ac'.repeat(500), 'x'.repeat(600)], 2000)).to.equal(2100)
    expect(bytesOver('\u20ac'.repeat(600), 2000)).to.equal(undefined)
    expect(bytesOver('x'.repeat(2000), 2000)).to.equal(undefined)
    expect(bytesOver('x'.repeat(2001), 0)).to.equal(undefined)
  })

  it('joins to what JSON.stringify writes, with newlines around the slices of long arrays', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const value = sample(seed)
      const pieces = stringifyInPieces(value)
      expect(pieces.length).to.be.greaterThan(10)
      const joined = pieces.join('')
      // JSON.stringify escapes newlines in strings: every newline here is one of the slices' marks.
      expect(joined.replace(/\n/g, '')).to.equal(JSON.stringify(value))
      expect(joined).to.include('[\n').and.include(',\n').and.include('\n]')
      expect(JSON.parse(joined)).to.deep.equal(JSON.parse(JSON.stringify(value)))
      expect(textLength(pieces)).to.equal(joined.length)
    }
    for (const value of [[], {}, null, 'text', 1, [undefined], { a: undefined }]) expect(joinText(stringifyInPieces(value))).to.equal(JSON.stringify(value))
  })

  it('tags what JSON would lose exactly as encode does, wherever it is', () => {
    class Id {
      constructor(readonly id: string) {}
      toJSON() {
        return `id:${this.id}`
      }
    }
    for (let seed = 1; seed <= 5; seed++) {
      const value = sample(seed) as any
      value.list[10].at = new Date(10)
      value.list[700].blob = Buffer.from('bytes')
      value.list[900].n = Infinity
      value.nested[0][5] = { $t: 'user field', v: 1 }
      value.sparse[500] = new Float32Array([1.5])
      value.top = new Id('x')
      value.when = new Date(0)
      expect(stringifyInPieces(value).join('').replace(/\n/g, '')).to.equal(JSON.stringify(encode(value)))
    }
  })

  it('writes boxed primitives and arrays with a toJSON as JSON does, tagged or not', () => {
    const withToJSON = Object.assign([1, 2], { toJSON: () => 7 })
    for (const tagged of [false, true]) {
      const value = sample(3) as any
      value.boxed = { s: new String('ab'), n: new Number(5), b: new Boolean(false), list: [new String('x')] }
      value.arr = withToJSON
      value.list[20].deep = { a: { b: { c: new String('deep') } } }
      if (tagged) value.list[30].at = new Date(30)
      const expected = JSON.stringify(value)
      expect(stringifyInPieces(value).join('').replace(/\n/g, '')).to.equal(tagged ? JSON.stringify(encode(value)) : expected)
      // The tags aside, encode agrees with JSON on these values.
      expect(JSON.parse(JSON.stringify(encode(value))).boxed).to.deep.equal({ s: 'ab', n: 5, b: false, list: ['x'] })
      expect(JSON.parse(JSON.stringify(encode(value))).arr).to.equal(7)
    }
    expect(() => encode({ big: Object(1n) })).to.throw(EncodeError)
  })

  it('refuses functions, BigInt and cycles with EncodeError, as encode does', () => {
    const big = () => ({ list: Array.from({ length: 3000 }, (_, i) => ({ i })) }) as any
    const withFunction = big()
    withFunction.list[2000].f = () => 1
    const withBigInt = big()
    withBigInt.deep = { a: { b: { c: { d: { e: 1n } } } } }
    const withCycle = big()
    withCycle.list[1500].parent = withCycle
    const deepCycle: any = { a: { b: { c: { d: { e: {} } } } } }
    deepCycle.a.b.c.d.e.back = deepCycle.a
    for (const value of [withFunction, withBigInt, withCycle, deepCycle]) expect(() => stringifyInPieces(value)).to.throw(EncodeError)
  })

  it('serializes large messages in pieces, small ones whole, with the same value on arrival', () => {
    const small = { ok: true, result: { id: 1, at: new Date(5) } }
    expect(typeof serialize(small)).to.equal('string')
    const large = { ok: true, result: Array.from({ length: 3000 }, (_, i) => ({ i, at: new Date(i), blob: i % 1000 === 0 ? Buffer.from([i % 256]) : undefined })) }
    const text = serialize(large)
    expect(Array.isArray(text)).to.equal(true)
    const back = deserialize(joinText(text)) as any
    expect(back.result).to.have.length(3000)
    expect(back.result[2999].at).to.be.instanceOf(Date)
    expect(back.result[1000].blob).to.deep.equal(Buffer.from([1000 % 256]))
    expect(joinText(text).replace(/\n/g, '')).to.equal(JSON.stringify(encode(large)))
  })

  it('frames and seals text pieces as the joined text', () => {
    const pieces = stringifyInPieces(sample(7))
    const joined = pieces.join('')
    const expected = JSON.parse(joined)
    expect(encodeFrame(['topic', pieces]).equals(encodeFrame(['topic', joined]))).to.equal(true)
    const reader = new FrameReader(2 ** 31 - 1)
    let got: unknown
    reader.push(encodeFrame(['topic', pieces]), (parts) => void (got = parts[1]))
    // Over 128 KB and marked in slices: it arrives as its slices (sliced-text.test.ts).
    expect(got).to.be.instanceOf(SlicedText)
    expect(deserialize(got)).to.deep.equal(expected)
    const a = createSealer(['a-secret-long-enough-0123456789'], 'default', 'app-a')
    const b = createSealer(['a-secret-long-enough-0123456789'], 'default', 'app-b')
    const opened = b.open(Buffer.concat(a.seal(pieces, 'app-b')), 'app-b')
    expect(opened).to.include({ ok: true, from: 'app-a' })
    expect(deserialize((opened as { text: unknown }).text)).to.deep.equal(expected)
    const small = stringifyInPieces({ list: Array.from({ length: 300 }, (_, i) => i) })
    expect(b.open(Buffer.concat(a.seal(small, 'app-b')), 'app-b')).to.deep.equal({ ok: true, text: small.join(''), from: 'app-a' })
  })
})
