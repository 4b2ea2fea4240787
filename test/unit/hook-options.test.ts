import { expect } from 'chai'
import { hooksFor, registerProxyHooks } from '../../src/hook-options'

describe('hooks option on proxies', () => {
  const hook = async () => undefined

  it('leaves out of a map of methods those the proxy lacks, and hands every other form on as it is', () => {
    expect(hooksFor({ find: [hook], create: [hook], custom: [hook] }, ['find', 'custom'])).to.deep.equal({ find: [hook], custom: [hook] })
    const typed = { before: { create: [hook] } }
    expect(hooksFor(typed, ['find'])).to.equal(typed)
    const around = [hook]
    expect(hooksFor(around, ['find'])).to.equal(around)
  })

  it('fails closed: hooks Feathers refuses make the proxy fail every call, said once on stderr', () => {
    const proxy: any = { methods: ['find'], refusal: undefined }
    const errors: string[] = []
    const consoleError = console.error
    console.error = (...args: unknown[]) => void errors.push(args.join(' '))
    try {
      registerProxyHooks({ hooks: () => { throw new Error('not a valid hook type') } }, { before: { all: [hook] } }, proxy, 'todos')
    } finally {
      console.error = consoleError
    }
    expect(proxy.refusal?.name).to.equal('GeneralError')
    expect(proxy.refusal?.code).to.equal(500)
    expect(proxy.refusal?.message).to.equal('feathers-mesh: the hooks option could not be registered on the proxy of todos (not a valid hook type): it fails every call')
    expect(errors).to.deep.equal([proxy.refusal.message])
    const registered: unknown[] = []
    const fine: any = { methods: ['find'], refusal: undefined }
    registerProxyHooks({ hooks: (hooks: unknown) => registered.push(hooks) }, { find: [hook], create: [hook] }, fine, 'todos')
    expect(fine.refusal).to.equal(undefined)
    expect(registered).to.deep.equal([{ find: [hook] }])
  })
})
