import { expect } from 'chai'
import { decode, encode, EncodeError, MAX_DEPTH } from '../../src/codec'
import { deserialize, serialize } from '../../src/frames'
import { joinText } from '../../src/json-pieces'

const roundTrip = (value: unknown) => decode(JSON.parse(JSON.stringify(encode(value))))

describe('codec', () => {
  it('keeps Date, Buffer, Uint8Array and non-finite numbers', () => {
    const value = { d: new Date(5), b: Buffer.from('hi'), u: new Uint8Array([1, 2]), n: [NaN, Infinity, -Infinity] }
    const back: any = roundTrip(value)
    expect(back.d).to.be.instanceOf(Date)
    expect(back.d.getTime()).to.equal(5)
    expect(Buffer.isBuffer(back.b) && back.b.toString()).to.equal('hi')
    expect(back.u).to.be.instanceOf(Uint8Array)
    expect([...back.u]).to.deep.equal([1, 2])
    expect(Number.isNaN(back.n[0])).to.equal(true)
    expect(back.n.slice(1)).to.deep.equal([Infinity, -Infinity])
  })

  it('keeps every typed array type and its values', () => {
    const back: any = roundTrip({ f: new Float32Array([1.5, -2]), i: new Int16Array([-3, 4]), d: new Float64Array([Math.PI]) })
    expect(back.f).to.be.instanceOf(Float32Array)
    expect([...back.f]).to.deep.equal([1.5, -2])
    expect(back.i).to.be.instanceOf(Int16Array)
    expect([...back.i]).to.deep.equal([-3, 4])
    expect(back.d[0]).to.equal(Math.PI)
    const bigs: any = roundTrip({ b: new BigInt64Array([-(2n ** 63n), 42n]), u: new BigUint64Array([2n ** 64n - 1n]) })
    expect(bigs.b).to.be.instanceOf(BigInt64Array)
    expect([...bigs.b]).to.deep.equal([-(2n ** 63n), 42n])
    expect(bigs.u).to.be.instanceOf(BigUint64Array)
    expect([...bigs.u]).to.deep.equal([2n ** 64n - 1n])
  })

  it('leaves user objects with a $t field unchanged', () => {
    expect(roundTrip({ $t: 'd', v: 1, nested: { $t: 'b' } })).to.deep.equal({ $t: 'd', v: 1, nested: { $t: 'b' } })
  })

  it('keeps a __proto__ key as data, never as a prototype', () => {
    const back: any = decode(JSON.parse('{"__proto__": {"polluted": true}}'))
    expect(({} as any).polluted).to.equal(undefined)
    expect(Object.getPrototypeOf(back)).to.equal(Object.prototype)
    expect(Object.keys(back)).to.deep.equal(['__proto__'])
    // ...on the way out too, next to a tagged value (which sends the value through encode).
    const own = Object.defineProperty({ at: new Date(1) }, '__proto__', { value: { kept: true }, enumerable: true })
    const sent: any = roundTrip(own)
    expect(Object.getPrototypeOf(sent)).to.equal(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(sent, '__proto__')?.value).to.deep.equal({ kept: true })
    expect(sent.at).to.deep.equal(new Date(1))
  })

  it('uses toJSON of class instances and drops undefined fields as JSON does', () => {
    class Id {
      toJSON() {
        return 'id-1'
      }
    }
    expect(roundTrip({ id: new Id(), gone: undefined, list: [undefined] })).to.deep.equal({ id: 'id-1', list: [null] })
  })

  it('refuses circular values, functions and BigInt with EncodeError, wherever they are', () => {
    const cyclic: any = {}
    cyclic.self = cyclic
    expect(() => encode(cyclic)).to.throw(EncodeError, /circular/)
    expect(() => encode(() => 1)).to.throw(EncodeError, /function/)
    expect(() => encode({ deep: [{ fn: () => 1 }] })).to.throw(EncodeError, /function/)
    expect(() => encode({ n: 1n })).to.throw(EncodeError, /bigint/)
    expect(() => encode({ deep: [Symbol('s')] })).to.throw(EncodeError, /symbol/)
  })

  it(`refuses a value nested more than ${MAX_DEPTH} levels deep with EncodeError, and decodes one as deep`, () => {
    // `levels` objects, one in the other, around a Date: a tag at the bottom, which the receiver has to walk down to.
    const nested = (levels: number) => {
      let value: unknown = new Date(1)
      for (let i = 0; i < levels; i++) value = { o: value }
      return value
    }
    const deepest: any = decode(JSON.parse(JSON.stringify(encode(nested(MAX_DEPTH)))))
    let bottom = deepest
    for (let i = 0; i < MAX_DEPTH; i++) bottom = bottom.o
    expect(bottom).to.be.instanceOf(Date)
    expect(() => encode(nested(MAX_DEPTH + 1))).to.throw(EncodeError, 'cannot send a value nested more than 1000 levels deep over the mesh')
    // Through the message path too (plain JSON until depth 64, then the tagged walk), and deeper than the stack allows.
    expect(() => serialize({ query: nested(3000) })).to.throw(EncodeError, /nested more than 1000 levels/)
    // A peer's value deeper than any sender writes is refused with an error, not a stack overflow.
    let hostile = '{"$t":"d","v":1}'
    for (let i = 0; i < 5000; i++) hostile = `{"o":${hostile}}`
    expect(() => decode(JSON.parse(hostile))).to.throw(RangeError, /nested more than 1064 levels deep/)
  })

  it('keeps an invalid Date invalid (it was decoded as 1970)', () => {
    const back: any = roundTrip({ d: new Date(NaN) })
    expect(back.d).to.be.instanceOf(Date)
    expect(Number.isNaN(back.d.getTime())).to.equal(true)
  })

  it("follows an array's own toJSON, as for an object: a record it gives is never taken for a tag", () => {
    const list = Object.assign([1, 2], { toJSON: () => ({ $t: 'd', v: 7 }) })
    const dated = Object.assign([1], { toJSON: () => new Date(9) })
    // As frames carry them: the check of what a value needs must see the toJSON too.
    expect(deserialize(joinText(serialize({ a: list, b: dated })))).to.deep.equal({ a: { $t: 'd', v: 7 }, b: new Date(9) })
    expect(roundTrip({ a: list, b: dated })).to.deep.equal({ a: { $t: 'd', v: 7 }, b: new Date(9) })
  })

  it('leaves out a field whose toJSON gives undefined (an item of an array: null), as JSON.stringify does, on every path', () => {
    const nothing = { toJSON: () => undefined }
    const value = { kept: 1, gone: nothing, list: [nothing, 2], at: new Date(3) }
    expect(roundTrip(value)).to.deep.equal({ kept: 1, list: [null, 2], at: new Date(3) })
    const large = { rows: Array.from({ length: 3000 }, (_, i) => ({ i, gone: nothing, at: new Date(i) })), gone: nothing }
    const text = serialize(large)
    expect(typeof text).to.not.equal('string') // the pieces path
    expect(deserialize(joinText(text))).to.deep.equal({ rows: Array.from({ length: 3000 }, (_, i) => ({ i, at: new Date(i) })) })
  })

  it('sends Array subclasses as arrays, with tags and in slices (their constructor is never called)', () => {
    class List<T> extends Array<T> {
      constructor(items: T[]) {
        super(...items)
      }
    }
    expect(roundTrip({ value: new List([{ at: new Date(5) }]) })).to.deep.equal({ value: [{ at: new Date(5) }] })
    const large = new List(Array.from({ length: 3000 }, (_, i) => ({ i, at: new Date(i) })))
    const text = serialize({ large })
    expect(typeof text).to.not.equal('string') // the pieces path
    expect((deserialize(joinText(text)) as any).large).to.deep.equal(Array.from({ length: 3000 }, (_, i) => ({ i, at: new Date(i) })))
  })

  it('sends a typed array subclass as the built-in class it extends, and reads an unknown class name as bytes', () => {
    class Floats extends Float32Array {}
    const back: any = roundTrip({ f: new Floats([1.5, 2.5]) })
    expect(back.f.constructor).to.equal(Float32Array)
    expect([...back.f]).to.deep.equal([1.5, 2.5])
    for (const c of ['toString', '__proto__', 'NoSuchArray']) {
      const bytes: any = decode({ $t: 'u', c, v: Buffer.from([1, 2]).toString('base64') })
      expect(bytes.constructor, c).to.equal(Uint8Array)
      expect([...bytes]).to.deep.equal([1, 2])
    }
  })

  it('tags a boxed NaN as NaN, and refuses a boxed BigInt with EncodeError, as the unboxed ones', () => {
    const back: any = deserialize(joinText(serialize({ n: new Number(NaN) })))
    expect(Number.isNaN(back.n)).to.equal(true)
    expect(() => serialize({ n: Object(1n) })).to.throw(EncodeError)
  })

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { a: 1 }
    expect(roundTrip({ x: shared, y: shared })).to.deep.equal({ x: { a: 1 }, y: { a: 1 } })
  })
})
