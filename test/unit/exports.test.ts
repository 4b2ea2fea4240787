import { expect } from 'chai'
import { execFileSync } from 'child_process'
import fs from 'fs'
import path from 'path'
import distribution, { distribution as named, finalize } from '../../src'

const root = path.join(__dirname, '..', '..', '..')

describe('package exports', () => {
  it('has a default export and named exports', () => {
    expect(distribution).to.equal(named)
    expect(typeof finalize).to.equal('function')
  })

  it("works with require('feathers-mesh') on the compiled package", () => {
    const lib = path.join(root, 'lib', 'index.js')
    const mesh = require(lib)
    expect(typeof mesh).to.equal('function')
    expect(mesh.distribution).to.equal(mesh)
    expect(mesh.default).to.equal(mesh)
    expect(typeof mesh.finalize).to.equal('function')
    expect(typeof mesh.unavailableError).to.equal('function')
  })

  it('works with import from an ES module: the default export and every named one require() has', function () {
    this.timeout(20000)
    const lib = path.join(root, 'lib', 'index.js')
    const names = Object.keys(require(lib)).filter((name) => name !== 'default')
    expect(names).to.include.members(['distribution', 'finalize', 'RemoteService', 'unavailableError', 'DEFAULT_KEY'])
    // Node finds a CommonJS module's named exports by reading its code: each must be found, with the value require() gives.
    const script = `import main, { ${names.join(', ')} } from ${JSON.stringify(lib)}
import { createRequire } from 'module'
const cjs = createRequire(import.meta.url)(${JSON.stringify(lib)})
const named = { ${names.join(', ')} }
console.log(JSON.stringify([typeof main, main === cjs, Object.keys(named).filter((name) => named[name] !== cjs[name])]))`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(JSON.parse(out)).to.deep.equal(['function', true, []])
  })

  it('compiles typical user code against the declarations', function () {
    this.timeout(60000)
    // Inside the repository, so the user code resolves @feathersjs/* from our node_modules.
    fs.mkdirSync(path.join(root, 'build'), { recursive: true })
    const dir = fs.mkdtempSync(path.join(root, 'build', 'types-check-'))
    try {
      fs.writeFileSync(
        path.join(dir, 'user.ts'),
        `import { feathers } from '@feathersjs/feathers'
import express from '@feathersjs/express'
import distribution, { finalize, type DistributionOptions, type RemoteServiceEvent } from '../../lib'
const options: DistributionOptions = { key: 'todos', timeout: 0, cote: { broadcast: '127.255.255.255' } }
const app = express(feathers())
app.configure(distribution(options))
app.use('things', { async find() { return [] } }, { methods: ['find'], distributedEvents: ['custom'], distributedMethods: ['find'] })
app.on('service', (event: RemoteServiceEvent) => app.service(event.path) && event.remotePath + event.localPath)
async function main() {
  await app.distribution.ready
  const service = await app.distribution.waitForService('todos', { timeout: 1000 })
  const uuid: string = app.distribution.uuid
  const fromRemote: boolean | undefined = ({} as import('@feathersjs/feathers').Params).fromRemote
  await finalize(app)
  return [service, uuid, fromRemote]
}
void main
`
      )
      // The forms the README shows, each as its kind of project compiles it: an ES module's default
      // import, `import = require`, and plain JavaScript checked by TypeScript.
      fs.writeFileSync(
        path.join(dir, 'esm.mts'),
        `import { feathers, type HookContext, type Application } from '@feathersjs/feathers'
import distribution, { finalize, type MeshStatus } from '../../lib/index.js'
type App = Application<{ todos: { find(): Promise<string[]> } }>
const app: App = feathers()
// Hooks typed for the app's own type, null for a default, predicates reading their arguments.
const audit = async (context: HookContext<App>) => { context.params.sync = false }
app.configure(distribution({ key: 'todos', timeout: null, secret: process.env.NO_SUCH_SECRET, hooks: { before: { all: [audit] } }, distributedEvents: (event, data: { id: number }, context) => event === 'created' && data.id > 0 && context.method === 'create' }))
const todos = await app.distribution.waitForService<{ find(): Promise<string[]> }>('todos')
const titles: string[] = await todos.find()
const params: import('@feathersjs/feathers').Params = { sync: false }
const status: MeshStatus = app.distribution.status()
await finalize(app)
export { titles, status, params }
`
      )
      fs.writeFileSync(
        path.join(dir, 'cjs.ts'),
        `import distribution = require('../../lib')
import { feathers } from '@feathersjs/feathers'
const app = feathers()
app.configure(distribution({ key: 'todos' }))
void distribution.finalize(app)
const options: distribution.DistributionOptions = { key: null }
export { options }
`
      )
      fs.writeFileSync(
        path.join(dir, 'plain.js'),
        `// @ts-check
const distribution = require('../../lib')
const { feathers } = require('@feathersjs/feathers')
const app = feathers()
app.configure(distribution({ key: 'todos' }))
void distribution.finalize(app)
`
      )
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', skipLibCheck: true, allowJs: true, checkJs: true, types: ['node']}, files: ['user.ts', 'esm.mts', 'cjs.ts', 'plain.js'] }))
      execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', dir], { stdio: 'pipe' })
    } catch (error: any) {
      throw new Error(`user code does not compile:\n${error.stdout?.toString() ?? error.message}`)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
