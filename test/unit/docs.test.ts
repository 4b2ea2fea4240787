import { expect } from 'chai'
import fs from 'fs'
import path from 'path'
import { optionNames } from '../../src/option-names'

// From build/test/unit (compiled) or test/unit (ts-node) alike: the repository root holds package.json.
const ROOT = [path.join(__dirname, '..', '..'), path.join(__dirname, '..', '..', '..')].find((dir) => fs.existsSync(path.join(dir, 'README.md')))!

const readme = () => fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')

/** The text under `heading` (a whole line of the README), up to the next heading of any level. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`)
  expect(start, heading).to.be.greaterThan(-1)
  const next = /\n#+ /g
  next.lastIndex = start + heading.length + 1
  const end = next.exec(text)?.index ?? text.length
  return text.slice(start, end)
}

/** The first column of a table's rows, where it is a name in backquotes. */
const firstColumn = (text: string) => [...text.matchAll(/^\| `([A-Za-z_]+)` \|/gm)].map((match) => match[1])

const sourceFiles = () => {
  const src = path.join(ROOT, 'src')
  return fs.readdirSync(src).filter((file) => file.endsWith('.ts')).map((file) => fs.readFileSync(path.join(src, file), 'utf8'))
}

describe('README against the code', () => {
  it("the Options table names every option distribution() takes, and no other", () => {
    expect(firstColumn(section(readme(), '## Options')).sort()).to.deep.equal(optionNames().sort())
  })

  it('the Environment variables table names every variable the options are read from, and no other', () => {
    const documented = firstColumn(section(readme(), '### Environment variables')).sort()
    const read = new Set<string>()
    for (const text of sourceFiles()) {
      for (const match of text.matchAll(/env(?:Number|Boolean)\(env, '([A-Z_]+)'\)|\benv\.([A-Z][A-Z_]+)|\benv\[['"]([A-Z][A-Z_]+)['"]\]/g)) read.add(match[1] ?? match[2] ?? match[3])
    }
    // Documented elsewhere: NODE_ENV in Security (the warning without a secret), COTE_PORT in the CLI's options.
    for (const elsewhere of ['NODE_ENV', 'COTE_PORT']) {
      expect(read.has(elsewhere), elsewhere).to.equal(true)
      read.delete(elsewhere)
    }
    expect(documented).to.deep.equal([...read].sort())
  })

  it("the Debugging section's table names every debug namespace the code logs to, and no other", () => {
    const documented = [...section(readme(), '## Debugging').matchAll(/^\| `(feathers-mesh:[a-z-]+)` \|/gm)].map((match) => match[1]).sort()
    // A namespace may be shared by two modules of one concern.
    const used = [...new Set(sourceFiles().flatMap((text) => [...text.matchAll(/createDebug\('([^']+)'\)/g)].map((match) => match[1])))].sort()
    expect(used.length, 'namespaces found in src').to.be.greaterThan(10)
    expect(documented).to.deep.equal(used)
  })
})
