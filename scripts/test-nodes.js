#!/usr/bin/env node
'use strict'
/**
 * `npm run test:nodes`: the tests on the other Node versions users run, beside the one running npm.
 * Each version's binary comes from the npm registry (the `node-<platform>-<arch>` packages, checked
 * against the registry's integrity like any package), pinned below and cached in `.cache/node/`.
 *
 * By default, for each version: the unit tests; then one mesh test with an app on each version
 * and a gateway on this one (test/versions/node-versions.spec.ts), with and without a secret.
 * With `--full`: the whole suite (`npm test`'s mocha configuration) on each version instead.
 * Run `npm test` first, or let npm's `pretest` step build: this script runs the built tests.
 */
const { execFileSync, spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')

/** The versions tested, newest last; the versions of Node 20 come from the machine. */
const VERSIONS = ['22.23.5', '24.22.3']
const ROOT = path.join(__dirname, '..')
const CACHE = path.join(ROOT, '.cache', 'node')
const MOCHA = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js')
const GUARD = path.join(ROOT, 'build', 'test', 'helpers', 'guard.js')

/** The `node` binary of `version`, fetched from the registry when not cached. */
function nodeBinary(version) {
  const name = `node-${process.platform}-${process.arch}`
  const dir = path.join(CACHE, `${name}-${version}`)
  const binary = path.join(dir, 'package', 'bin', 'node')
  if (fs.existsSync(binary)) return binary
  fs.mkdirSync(dir, { recursive: true })
  console.log(`[test:nodes] fetching ${name}@${version} from the npm registry`)
  const packed = execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', dir, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()
  const archive = path.join(dir, packed)
  execFileSync('tar', ['xzf', archive, '-C', dir])
  fs.rmSync(archive)
  if (!fs.existsSync(binary)) throw new Error(`${name}@${version} holds no bin/node`)
  return binary
}

/** Runs mocha under `binary`; exits with its status when it fails. */
function mocha(binary, args, env = {}) {
  const result = spawnSync(binary, [MOCHA, ...args], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } })
  if (result.status !== 0) {
    console.error(`[test:nodes] mocha under ${binary} failed (${result.signal ?? `exit ${result.status}`})`)
    process.exit(result.status || 1)
  }
}

function main() {
  if (!fs.existsSync(GUARD)) {
    console.error('[test:nodes] build/test is missing: run `npm test` (or `npx tsc -p tsconfig.test.json`) first')
    process.exit(1)
  }
  const full = process.argv.includes('--full')
  const binaries = VERSIONS.map(nodeBinary)
  for (const binary of binaries) {
    const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()
    console.log(`\n[test:nodes] ${full ? 'the whole suite' : 'unit tests'} on Node ${version}`)
    if (full) mocha(binary, [])
    else mocha(binary, ['--no-config', '--require', GUARD, '--timeout', '20000', 'build/test/unit/*.test.js'])
  }
  console.log(`\n[test:nodes] one mesh across Node ${process.version} and ${VERSIONS.join(', ')}`)
  mocha(process.execPath, ['--no-config', '--require', GUARD, '--timeout', '20000', 'build/test/versions/node-versions.spec.js'], { FEATHERS_MESH_TEST_NODES: binaries.join(',') })
}

main()
