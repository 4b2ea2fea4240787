import { expect } from 'chai'
import { execFile } from 'child_process'
import { randomBytes } from 'crypto'
import path from 'path'
import { createPoly1305 } from '../../src/poly1305'
import { referencePoly1305 as referenceTag } from '../helpers/sealing'

describe('Poly1305 in WebAssembly', () => {
  const poly = createPoly1305()
  const tagOf = (key: Buffer, message: Buffer) => {
    key.copy(poly.memory, 0)
    message.copy(poly.memory, 64)
    poly.tag(0, 64, message.length, 32)
    return Buffer.from(poly.memory.subarray(32, 48))
  }

  it('gives the tag of RFC 8439, section 2.5.2', () => {
    const key = Buffer.from('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b', 'hex')
    expect(tagOf(key, Buffer.from('Cryptographic Forum Research Group')).toString('hex')).to.equal('a8061dc1305136c6c22b8baf0c0127a9')
  })

  it('agrees with the RFC read with BigInt, on random keys and messages of every length, and on all-ones ones (the largest carries)', () => {
    for (let i = 0; i < 3000; i++) {
      const ones = i % 10 === 0
      const key = ones ? Buffer.alloc(32, 0xff) : randomBytes(32)
      const message = ones ? Buffer.alloc(i % 700, 0xff) : randomBytes(i % 700)
      const tag = tagOf(key, message)
      if (!tag.equals(referenceTag(key, message))) expect.fail(`tag ${i} (${message.length} bytes) differs`)
    }
  })

  it('each instance has its own memory', () => {
    const other = createPoly1305()
    other.memory.fill(7, 0, 64)
    expect(poly.memory.subarray(0, 64).equals(other.memory.subarray(0, 64))).to.equal(false)
  })

  it('is built from src/poly1305.wat as committed (scripts/wasm.js --check)', async function () {
    this.timeout(30000)
    const root = path.join(__dirname, '..', '..', '..')
    const code = await new Promise<number>((resolve) => execFile(process.execPath, [path.join(root, 'scripts', 'wasm.js'), '--check'], (error) => resolve(error ? ((error as { code?: number }).code ?? 1) : 0)))
    expect(code).to.equal(0)
  })
})
