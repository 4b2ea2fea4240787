/**
 * A parser for the YAML subset docker-compose.yml uses, so the compose test needs no dependency:
 * block mappings, block sequences (of scalars or of mappings), plain, 'single' and "double"
 * quoted scalars, full-line comments. Scalars stay strings (empty values are null). Anything
 * else (flow collections, anchors, block scalars, tags, tabs) is refused with its line number,
 * so a compose edit outside the subset fails loudly instead of being misread.
 */
interface Line {
  indent: number
  text: string
  no: number
}

const KEY = /^([A-Za-z0-9_.\-/]+|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'):(?:\s+(.*))?$/

export function parseYaml(source: string): unknown {
  const lines: Line[] = []
  source.split(/\r?\n/).forEach((raw, index) => {
    const text = raw.trimEnd()
    const indent = text.length - text.trimStart().length
    if (text.trim() === '' || text.trim().startsWith('#')) return
    if (/^\s*\t/.test(raw)) fail(index + 1, 'tabs are not allowed in indentation')
    lines.push({ indent, text: text.trimStart(), no: index + 1 })
  })
  let pos = 0
  if (lines.length === 0) return null
  const isItem = (line: Line) => line.text === '-' || line.text.startsWith('- ')

  function node(indent: number): unknown {
    return isItem(lines[pos]) ? sequence(indent) : mapping(indent)
  }

  /** The value of `key:` with nothing after the colon: a deeper block, a sequence at the key's indent, or null. */
  function child(parentIndent: number): unknown {
    const next = lines[pos]
    if (next && next.indent > parentIndent) return node(next.indent)
    if (next && next.indent === parentIndent && isItem(next)) return sequence(parentIndent)
    return null
  }

  function mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    while (pos < lines.length && lines[pos].indent === indent && !isItem(lines[pos])) {
      const line = lines[pos++]
      const match = KEY.exec(line.text)
      if (!match) fail(line.no, `expected "key: value", got "${line.text}"`)
      const key = scalar(match[1], line.no) as string
      if (Object.prototype.hasOwnProperty.call(out, key)) fail(line.no, `duplicate key "${key}"`)
      out[key] = match[2] === undefined || match[2].trim() === '' ? child(indent) : scalar(match[2], line.no)
    }
    if (pos < lines.length && lines[pos].indent > indent) fail(lines[pos].no, 'unexpected indentation')
    return out
  }

  function sequence(indent: number): unknown[] {
    const out: unknown[] = []
    while (pos < lines.length && lines[pos].indent === indent && isItem(lines[pos])) {
      const line = lines[pos]
      const rest = line.text.slice(1).trimStart()
      if (rest === '') {
        pos++
        out.push(child(indent))
      } else if (KEY.test(rest)) {
        // "- key: value": a mapping whose first line starts where `key` does.
        lines[pos] = { indent: indent + (line.text.length - rest.length), text: rest, no: line.no }
        out.push(mapping(lines[pos].indent))
      } else {
        pos++
        out.push(scalar(rest, line.no))
      }
    }
    if (pos < lines.length && lines[pos].indent > indent) fail(lines[pos].no, 'unexpected indentation')
    return out
  }

  const result = node(lines[0].indent)
  if (pos < lines.length) fail(lines[pos].no, 'unexpected content after the document')
  return result
}

function scalar(text: string, no: number): string {
  const value = text.trim()
  if (value.startsWith('"')) {
    try {
      return JSON.parse(value)
    } catch {
      fail(no, `unsupported double-quoted scalar ${value}`)
    }
  }
  if (value.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(value)) fail(no, `unsupported single-quoted scalar ${value}`)
    return value.slice(1, -1).replace(/''/g, "'")
  }
  if (/^[[{&*!|>%@`]/.test(value)) fail(no, `"${value[0]}" starts YAML syntax this parser does not support`)
  const comment = value.search(/\s#/)
  return (comment === -1 ? value : value.slice(0, comment)).trim()
}

function fail(no: number, message: string): never {
  throw new Error(`docker-compose.yml line ${no}: ${message} (test/example/yaml-subset.ts reads a subset of YAML)`)
}
