import { expect } from 'chai'
import { deserialize, serialize } from '../../src/frames'
import { joinText } from '../../src/json-pieces'
import { readText, SLICED_FROM, SLICED_UP_TO, SlicedText } from '../../src/sliced-text'
import { createGate } from '../../src/gate'
import { Drops } from '../../src/drops'
import { createSealer } from '../../src/security'

const records = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({ id: from + i, name: `item ${from + i} ü €`, text: 'a line\nand "another" [1],\n]', done: i % 2 === 0 }))

/** The bytes a peer would send for `value`, and the text part as the wire reads it back. */
function roundTrip(value: unknown) {
  const bytes = Buffer.from(joinText(serialize(value)))
  return { bytes, read: readText(bytes) }
}

describe('Large texts read a slice at a time', () => {
  it('reads a large reply as slices, and gives the value JSON.parse would', () => {
    const value = { ok: true, value: { total: 5000, data: records(5000) } }
    const { bytes, read } = roundTrip(value)
    expect(bytes.length).to.be.greaterThan(SLICED_FROM)
    expect(read).to.be.instanceOf(SlicedText)
    const sliced = read as SlicedText
    expect(sliced.arrays).to.have.length(1)
    expect(sliced.arrays[0]).to.have.length(Math.ceil(5000 / 256))
    // No slice near V8's limit for young strings: that is what reading in slices is for.
    for (const slice of sliced.arrays[0]) expect(slice.length).to.be.lessThan(SLICED_FROM / 2)
    expect(deserialize(read)).to.deep.equal(JSON.parse(bytes.toString()))
    expect(deserialize(readText(bytes))).to.deep.equal(value)
  })

  it('puts back several sliced arrays, wherever they are, with tagged values in slices and skeleton', () => {
    const value = {
      first: records(600),
      2: { nested: [records(300, 10_000), 'tail'] }, // integer keys come first in JSON.parse's objects
      when: new Date(7),
      tagged: records(700).map((r, i) => ({ ...r, at: new Date(i), blob: i % 100 === 0 ? Buffer.from([i % 256]) : undefined })),
      last: records(1000, 50_000)
    }
    Object.defineProperty(value, '__proto__', { value: records(400), enumerable: true })
    const { read } = roundTrip(value)
    expect(read).to.be.instanceOf(SlicedText)
    expect((read as SlicedText).arrays).to.have.length(5)
    const back = deserialize(read) as any
    expect(back.first).to.deep.equal(value.first)
    expect(back[2].nested[0]).to.deep.equal(value[2].nested[0])
    expect(back[2].nested[1]).to.equal('tail')
    expect(back.when).to.be.instanceOf(Date)
    expect(back.tagged[699].at).to.deep.equal(new Date(699))
    expect(back.tagged[600].blob).to.deep.equal(Buffer.from([600 % 256]))
    expect(back.last).to.have.length(1000)
    expect(Object.getPrototypeOf(back)).to.equal(Object.prototype)
    // A sliced array under a `__proto__` key stays data: the prototype is untouched.
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).to.deep.equal(records(400))
    const list = records(3000)
    expect(deserialize(roundTrip(list).read)).to.deep.equal(list) // the message itself a sliced array
  })

  it('reads small texts, very large ones and large ones without slices as one string', () => {
    const huge = roundTrip({ list: records(60_000) })
    expect(huge.bytes.length).to.be.greaterThan(SLICED_UP_TO)
    expect(huge.read).to.be.a('string')
    expect(deserialize(huge.read)).to.deep.equal(JSON.parse(huge.bytes.toString()))
    const small = Buffer.from(joinText(serialize({ list: records(300) })))
    expect(small.length).to.be.lessThan(SLICED_FROM)
    expect(readText(small)).to.be.a('string')
    const unsliced = Buffer.from(JSON.stringify({ list: records(3000) })) // no marks: written whole
    expect(readText(unsliced)).to.equal(unsliced.toString())
    const ascii = Buffer.from(JSON.stringify({ list: records(3000) }).replace(/[ü€]/g, 'u'))
    expect(readText(ascii)).to.equal(ascii.toString())
  })

  it('reads any other layout of newlines whole, or parses it whole when its slices do not parse: a bad text fails as JSON.parse fails, a valid one parses the same', () => {
    const good = joinText(serialize({ list: records(2000) }))
    const cases: Array<[string, string]> = [
      ['a newline outside an array', good.replace('{"list":[\n', '{"list":\n[\n')],
      ['a separator without its comma', good.replace(',\n', '\n,')],
      ['an empty slice', good.replace(',\n', ',\n,\n')],
      ['a slice that is not a list of elements', good.replace(',\n', '],[\n')],
      ['an array never closed', good.slice(0, good.lastIndexOf('\n]'))],
      ['a newline inside a slice', good.replace('},{', '},\n\n{')],
      ['a newline after a comma inside an element', good.replace('},{', '},{"x":[1,\n2]},{')],
      ['a newline before a bracket inside an element', good.replace('},{', '},{"x":[[1,2],\n3\n]},{')],
      ['whitespace around a separator', good.replace(',\n', ' ,\n\r')],
      ['a slice of whitespace only', good.replace(',\n', ',\n ,\n')],
      ['a last slice of whitespace only', good.replace('\n]', ',\n\t\n]')]
    ]
    for (const [name, text] of cases) {
      const read = readText(Buffer.from(text))
      let expected: unknown
      let expectedError: string | undefined
      try {
        expected = JSON.parse(text)
      } catch (error) {
        expectedError = (error as Error).name
      }
      let got: unknown
      let gotError: string | undefined
      try {
        got = deserialize(read)
      } catch (error) {
        gotError = (error as Error).name
      }
      expect(gotError, name).to.equal(expectedError)
      if (!expectedError) expect(got, name).to.deep.equal(expected)
    }
  })

  it('reads a text of tiny slices (from no writer of ours) whole, and joins thousands of slices', () => {
    const tiny = `{"list":[\n${'1,\n'.repeat(999_999)}1\n]}`
    expect(readText(Buffer.from(tiny))).to.equal(tiny) // not a million parses of two bytes
    const count = 3500
    const element = `"${'x'.repeat(1100)}"`
    const many = `{"list":[\n${`${element},\n`.repeat(count - 1)}${element}\n]}`
    const read = readText(Buffer.from(many))
    expect(read).to.be.instanceOf(SlicedText)
    expect((read as SlicedText).arrays[0]).to.have.length(count)
    const back = deserialize(read) as { list: string[] }
    expect(back.list).to.have.length(count)
    expect(back.list.every((s) => s.length === 1100)).to.equal(true)
  })

  it('decodes every piece when any holds a tag, as the whole text would be decoded', () => {
    // An escaped `$t` key is no tag to the search: the whole text is decoded or not as one.
    const escaped = '{"\\u0024t":"d","v":5}'
    for (const [name, text] of [
      ['tag in the skeleton', `{"t":{"$t":"d","v":1},"p":"${'x'.repeat(140_000)}","a":[\n${escaped}\n]}`],
      ['tag in a slice', `{"t":${escaped},"p":"${'x'.repeat(140_000)}","a":[\n{"$t":"d","v":1}\n]}`],
      ['no tag', `{"p":"${'x'.repeat(140_000)}","a":[\n${escaped}\n]}`]
    ]) {
      const read = readText(Buffer.from(text))
      expect(read, name).to.be.instanceOf(SlicedText)
      expect(deserialize(read), name).to.deep.equal(deserialize(text))
    }
  })

  it('walks a skeleton holding a long array written whole (deeper than slicing goes) by index', () => {
    const value = { a: { b: { c: { ids: Array.from({ length: 60_000 }, (_, i) => i) } } }, list: records(3000) }
    const read = readText(Buffer.from(joinText(serialize(value))))
    expect(read).to.be.instanceOf(SlicedText)
    expect((read as SlicedText).arrays).to.have.length(1)
    expect(deserialize(read)).to.deep.equal(value)
  })

  it('an app with a secret refuses a large unsealed message read in slices, naming who it claims to be', () => {
    const refused: string[][] = []
    const gate = createGate(createSealer(['a-secret-long-enough-0123456789'], 'default', 'me'), 'me', new Drops('me'), {}, (...args) => void refused.push(args), () => undefined)
    const read = roundTrip({ type: 'call', from: 'intruder-uuid', key: 'intruder', args: [records(3000)] }).read
    expect(read).to.be.instanceOf(SlicedText)
    expect(gate.open(read, 'me', 'a requester', 'calls')).to.equal(undefined)
    expect(refused).to.deep.equal([['intruder-uuid', 'intruder', 'sends unsealed messages (it has no mesh secret)']])
  })

  it('takes no string a peer sends for the mark of a sliced array', () => {
    const lookalike = ['\u0000slices:0123456789abcdef:0']
    const value = { list: records(2000), lookalike, also: { lookalike } }
    const back = deserialize(readText(Buffer.from(joinText(serialize(value))))) as any
    expect(back.lookalike).to.deep.equal(lookalike)
    expect(back.also.lookalike).to.deep.equal(lookalike)
    expect(back.list).to.have.length(2000)
  })
})
