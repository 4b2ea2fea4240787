/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: by function (self and
 * inclusive) and by package. Used by `npm run bench -- --profile`; also runs alone:
 *   node build/bench/profile-summary.js bench-results/profiles/consumer.cpuprofile [--top 25]
 */
import fs from 'fs'
import path from 'path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface Entry {
  name: string
  ms: number
  percent: number
  /** µs per call, when the number of calls in the window is known. */
  usPerCall?: number
}

export interface ProfileSummary {
  file: string
  /** Sampled time, ms, and the part of it that was not idle. */
  totalMs: number
  busyMs: number
  /** Calls made in the window, if given: entries then carry µs per call. */
  calls?: number
  self: Entry[]
  inclusive: Entry[]
  packages: Entry[]
}

function where(url: string): string {
  if (!url) return ''
  const clean = url.replace(/^file:\/\//, '')
  const modules = clean.lastIndexOf('node_modules/')
  if (modules >= 0) return clean.slice(modules + 'node_modules/'.length)
  const build = clean.indexOf('/build/')
  if (build >= 0) return clean.slice(build + '/build/'.length)
  return clean
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const place = where(url)
  return `${functionName || '(anonymous)'}${place ? ` ${place}:${lineNumber + 1}` : ''}`
}

function packageOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return 'node core'
  const clean = url.replace(/^file:\/\//, '')
  const modules = clean.lastIndexOf('node_modules/')
  if (modules >= 0) {
    const parts = clean.slice(modules + 'node_modules/'.length).split('/')
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  if (clean.includes('/build/src/')) return 'feathers-mesh (src)'
  if (clean.includes('/build/test/')) return 'test fixture'
  if (clean.includes('/build/bench/')) return 'bench harness'
  return clean
}

const IDLE = new Set(['(idle)'])

/**
 * `window` ([start, end] µs on CLOCK_MONOTONIC, as process.hrtime) keeps only the samples taken in
 * it: V8 stamps samples with the same clock, so start-up and shutdown can be left out.
 */
export function summarizeProfile(file: string, top = 20, window?: [number, number], calls?: number): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const packages = new Map<string, number>()
  let totalUs = 0
  let idleUs = 0
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0
    // timeDeltas[i + 1] is the time from sample i to the next: it belongs to sample i.
    const delta = profile.timeDeltas[i + 1] ?? 0
    if (window && (at < window[0] || at > window[1])) continue
    const node = byId.get(profile.samples[i])
    if (!node) continue
    totalUs += delta
    if (IDLE.has(node.callFrame.functionName)) {
      idleUs += delta
      continue
    }
    const name = label(node)
    self.set(name, (self.get(name) ?? 0) + delta)
    const pkg = packageOf(node)
    packages.set(pkg, (packages.get(pkg) ?? 0) + delta)
    // Every distinct function on the stack gets the sample once (recursion counted once).
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!
      if (frame.callFrame.functionName === '(root)') continue
      const key = label(frame)
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + delta)
    }
  }
  const busyUs = totalUs - idleUs
  const list = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: busyUs > 0 ? (100 * us) / busyUs : 0, ...(calls ? { usPerCall: us / calls } : {}) }))
  return { file, totalMs: totalUs / 1000, busyMs: busyUs / 1000, ...(calls ? { calls } : {}), self: list(self, top), inclusive: list(inclusive, top), packages: list(packages, 15) }
}

export function formatSummary(summary: ProfileSummary): string {
  const perCall = summary.calls ? `, ${summary.calls} calls: ${((1000 * summary.busyMs) / summary.calls).toFixed(1)} µs busy per call` : ''
  const lines = [`${path.basename(summary.file)}: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy${perCall} (percentages of busy time)`]
  const section = (title: string, entries: Entry[]) => {
    lines.push(`  ${title}`)
    for (const entry of entries) {
      const us = entry.usPerCall === undefined ? '' : `${entry.usPerCall.toFixed(1).padStart(6)} µs/call  `
      lines.push(`    ${entry.percent.toFixed(1).padStart(5)}%  ${entry.ms.toFixed(0).padStart(6)} ms  ${us}${entry.name}`)
    }
  }
  section('by package (self time)', summary.packages)
  section('by function, self time', summary.self)
  section('by function, inclusive time', summary.inclusive)
  return lines.join('\n')
}

if (require.main === module) {
  const args = process.argv.slice(2)
  const topIndex = args.indexOf('--top')
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25
  const files = args.filter((arg, i) => !arg.startsWith('--') && (topIndex < 0 || i !== topIndex + 1))
  for (const file of files) console.log(formatSummary(summarizeProfile(file, top)) + '\n')
}
