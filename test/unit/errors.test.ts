import { expect } from 'chai'
import * as errors from '@feathersjs/errors'
import { errorFromWire, errorToWire } from '../../src/errors'

describe('errors on the wire', () => {
  it('round-trips a Feathers error with data and errors', () => {
    const error = new errors.Unprocessable('bad', { errors: { a: 'required' }, extra: 1 })
    const back: any = errorFromWire(JSON.parse(JSON.stringify(errorToWire(error))))
    expect(back).to.be.instanceOf(errors.Unprocessable)
    expect(back.code).to.equal(422)
    expect(back.errors).to.deep.equal({ a: 'required' })
    expect(back.data).to.deep.equal({ extra: 1 })
  })

  it('keeps the code and name of an unknown FeathersError subclass', () => {
    const back: any = errorFromWire({ name: 'TeapotError', message: 'short and stout', code: 418, className: 'teapot' })
    expect(back).to.be.instanceOf(errors.FeathersError)
    expect(back.code).to.equal(418)
    expect(back.name).to.equal('TeapotError')
  })

  it('keeps name and message of plain errors, strings and objects', () => {
    const type = errorFromWire(errorToWire(new TypeError('nope')))
    expect(type.name).to.equal('TypeError')
    expect(type.message).to.equal('nope')
    expect(errorFromWire(errorToWire('text')).message).to.equal('text')
    expect(errorFromWire(errorToWire({ reason: 'x' })).message).to.equal('{"reason":"x"}')
  })

  it('leaves out data and errors that cannot be encoded (a text in their place was spread into an object of characters)', () => {
    const circular: any = { a: 1 }
    circular.self = circular
    const back: any = errorFromWire(JSON.parse(JSON.stringify(errorToWire(new errors.BadRequest('bad', { big: 1n, errors: circular })))))
    expect(back).to.be.instanceOf(errors.BadRequest)
    expect(back.message).to.equal('bad')
    expect(back.data).to.equal(undefined)
    expect(back.errors === undefined || Object.keys(back.errors).length === 0, 'no object of characters').to.equal(true)
  })

  it('puts the caller stack under the remote message', () => {
    const error = errorFromWire({ name: 'Error', message: 'remote' }, '    at caller (file.ts:1:1)')
    expect(error.stack).to.equal('Error: remote\n    at caller (file.ts:1:1)')
  })

  it('keeps message, data and errors as they came, even when data holds a message or errors field', () => {
    for (const className of ['bad-request', 'made-up']) {
      const wire = { name: className === 'bad-request' ? 'BadRequest' : 'MadeUp', className, code: 400, message: 'record invalid', data: { message: 'field note', errors: 'in data', k: 1 }, errors: { title: 'required' } }
      const error: any = errorFromWire(wire)
      expect([error.message, error.data, error.errors], className).to.deep.equal(['record invalid', { message: 'field note', errors: 'in data', k: 1 }, { title: 'required' }])
    }
  })
})
