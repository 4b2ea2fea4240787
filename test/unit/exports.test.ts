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

  it('works with import from an ES module: the default export and the named ones', function () {
    this.timeout(20000)
    const lib = path.join(root, 'lib', 'index.js')
    const script = `import distribution, { distribution as named, finalize, unavailableError } from ${JSON.stringify(lib)}
console.log(JSON.stringify([typeof distribution, named === distribution, typeof finalize, typeof unavailableError]))`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(JSON.parse(out)).to.deep.equal(['function', true, 'function', 'function'])
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
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', skipLibCheck: true, types: ['node']}, files: ['user.ts'] }))
      execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', dir], { stdio: 'pipe' })
    } catch (error: any) {
      throw new Error(`user code does not compile:\n${error.stdout?.toString() ?? error.message}`)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
