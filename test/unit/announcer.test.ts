import { expect } from 'chai'
import { EventEmitter } from 'events'
import { Announcer } from '../../src/announcer'
import { resolveOptions } from '../../src/resolve-options'
import { Stats } from '../../src/stats'

/** A service as Feathers mounts it: an emitter with methods. */
const service = (extra: Record<string, unknown> = {}) => Object.assign(new EventEmitter(), { async find() { return [] } }, extra)

describe('announcer', () => {
  it('a service kept private that replaces an exposed one changes the list (the app announces it)', () => {
    const options = resolveOptions({ services: (info: any) => info.service.private !== true }, {})
    const announcer = new Announcer(options, 'me', () => true, new Stats())
    expect(announcer.expose('reports', service(), {})).to.equal(true)
    const seq = announcer.state().seq
    expect(announcer.expose('reports', service({ private: true }), {}), 'the list changed').to.equal(true)
    expect(announcer.state()).to.deep.include({ seq: seq + 1, services: [] })
    // Nothing exposed there before: nothing changed.
    expect(announcer.expose('drafts', service({ private: true }), {})).to.equal(false)
  })
})
