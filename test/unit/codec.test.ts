import { expect } from 'chai'
import { decode, encode, EncodeError } from '../../src/codec'

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

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { a: 1 }
    expect(roundTrip({ x: shared, y: shared })).to.deep.equal({ x: { a: 1 }, y: { a: 1 } })
  })
})
