import { expect } from 'chai'
import fs from 'fs'
import path from 'path'

// From build/test/unit (compiled) or test/unit (ts-node) alike: the repository root holds package.json.
const ROOT = [path.join(__dirname, '..', '..'), path.join(__dirname, '..', '..', '..')].find((dir) => fs.existsSync(path.join(dir, 'README.md')))!

describe('README against the code', () => {
  it("the Debugging section's table names every debug namespace the code logs to, and no other", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('\n## Debugging'), readme.indexOf('\n## ', readme.indexOf('\n## Debugging') + 1))
    const documented = [...section.matchAll(/^\| `(feathers-mesh:[a-z-]+)` \|/gm)].map((match) => match[1]).sort()
    const src = path.join(ROOT, 'src')
    const used = fs
      .readdirSync(src)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [...fs.readFileSync(path.join(src, file), 'utf8').matchAll(/createDebug\('([^']+)'\)/g)].map((match) => match[1]))
      .sort()
    expect(used.length, 'namespaces found in src').to.be.greaterThan(10)
    expect(documented).to.deep.equal(used)
  })
})
