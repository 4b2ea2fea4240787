import { expect } from 'chai'
import { execFile } from 'child_process'
import fs from 'fs'
import { builtinModules } from 'module'
import path from 'path'
import { promisify } from 'util'
import { coteOptions, discoveryPort, GUARD } from '../helpers/mesh'

const run = promisify(execFile)
const ROOT = path.join(__dirname, '..', '..', '..')

/**
 * What a user installs: the tarball `npm pack` makes, unpacked as node_modules/feathers-mesh of a
 * project of its own. Its dependencies resolve from the repository's node_modules, above it.
 */
describe('the packed package', function () {
  this.timeout(120_000)
  let project: string
  let files: string[]

  before(async () => {
    fs.mkdirSync(path.join(ROOT, 'build'), { recursive: true })
    project = fs.mkdtempSync(path.join(ROOT, 'build', 'packed-'))
    // lib/ is built by `npm test`'s pretest; packing without scripts does not build it again.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], { cwd: ROOT })
    const [packed] = JSON.parse(stdout)
    files = packed.files.map((file: { path: string }) => file.path)
    const installed = path.join(project, 'node_modules', 'feathers-mesh')
    fs.mkdirSync(installed, { recursive: true })
    await run('tar', ['-xzf', path.join(project, packed.filename), '-C', installed, '--strip-components=1'])
  })
  after(() => fs.rmSync(project, { recursive: true, force: true }))

  it('holds the compiled code, its declarations, the README, the changelog and the licence, and no sources or tests', () => {
    for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'lib/index.js', 'lib/index.d.ts', 'lib/cli.js', 'lib/poly1305-wasm.js']) expect(files, file).to.include(file)
    expect(files.filter((file) => !/^(lib\/|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE$)/.test(file))).to.deep.equal([])
    // Source maps carry their sources: src/ is not published, so a map pointing at it alone would lead nowhere.
    const maps = files.filter((name) => name.endsWith('.js.map'))
    expect(maps).to.include('lib/index.js.map')
    for (const file of maps) {
      const map = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'feathers-mesh', file), 'utf8'))
      expect(map.sourcesContent?.length, `${file} holds its sources`).to.equal(map.sources.length)
    }
    // Every module the compiled code requires is in the package, a built-in module or a dependency
    // (here, devDependencies resolve too: the package's own list must name them).
    const { dependencies } = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'feathers-mesh', 'package.json'), 'utf8'))
    for (const file of files.filter((name) => name.startsWith('lib/') && name.endsWith('.js'))) {
      const text = fs.readFileSync(path.join(project, 'node_modules', 'feathers-mesh', file), 'utf8')
      for (const [, required] of text.matchAll(/require\("([^"]+)"\)/g)) {
        if (required.startsWith('./')) expect(files, `${file} requires ${required}`).to.include(`lib/${required.slice(2)}.js`)
        else {
          const name = required.startsWith('@') ? required.split('/').slice(0, 2).join('/') : required.split('/')[0]
          expect(builtinModules.includes(name.replace(/^node:/, '')) || name in dependencies, `${file} requires ${required}`).to.equal(true)
        }
      }
    }
  })

  it("runs a mesh of two apps from require('feathers-mesh'): a remote call, with a secret", async () => {
    const script = `
const { feathers } = require('@feathersjs/feathers')
const distribution = require('feathers-mesh')
const cote = ${JSON.stringify(coteOptions(discoveryPort(__filename)))}
const secret = 'packed-package-secret-0123456789'
async function main() {
  const provider = feathers()
  provider.configure(distribution({ key: 'provider', cote, secret }))
  provider.use('echo', { async get(id) { return { id, from: 'provider' } } })
  const consumer = feathers()
  consumer.configure(distribution.default({ key: 'consumer', cote, secret }))
  await Promise.all([provider.distribution.ready, consumer.distribution.ready])
  const echo = await consumer.distribution.waitForService('echo', { timeout: 20000 })
  const answer = await echo.get(7)
  await Promise.all([distribution.finalize(consumer), distribution.finalize(provider)])
  console.log(JSON.stringify(answer))
}
main().catch((error) => { console.error(error); process.exit(1) })
`
    fs.writeFileSync(path.join(project, 'mesh.js'), script)
    const { stdout } = await run(process.execPath, ['-r', GUARD, 'mesh.js'], { cwd: project, timeout: 60_000 })
    expect(JSON.parse(stdout)).to.deep.equal({ id: 7, from: 'provider' })
  })

  it('runs its command line tool from the package', async () => {
    const { stdout } = await run(process.execPath, ['-r', GUARD, path.join('node_modules', 'feathers-mesh', 'lib', 'cli.js'), '--help'], { cwd: project })
    expect(stdout).to.match(/^Usage: feathers-mesh status/m)
  })
})
