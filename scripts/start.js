#!/usr/bin/env node
'use strict'
/**
 * `npm start`: the API gateway and two todos replicas, each its own node process, discovering each
 * other over the loopback broadcast address only (nothing leaves the machine).
 *
 * Environment:
 *   PORT           gateway HTTP port (default 3030); the replicas take PORT+1 and PORT+2
 *   COTE_PORT      UDP discovery port shared by the three apps (default 48000)
 *   START_TIMEOUT  ms to wait for the gateway to see both replicas (default 30000)
 * COTE_BROADCAST_ADDRESS is always set to the loopback broadcast address for the children.
 *
 * The mesh is sealed: a random secret is drawn for each run and given to the three children as
 * FEATHERS_MESH_SECRET (feathers-mesh reads it), so a process without it cannot join, call or
 * listen. It is never printed, and it dies with the run.
 */
const { randomBytes } = require('crypto')
const { spawn } = require('child_process')
const path = require('path')
const readline = require('readline')

const BUILD = path.join(__dirname, '..', 'build', 'example')
let common
try {
  common = require(path.join(BUILD, 'common.js'))
} catch {
  console.error('[start] build/example is missing: run `npx tsc -p tsconfig.test.json` (npm start does it)')
  process.exit(1)
}
const { DEMO_USER, LOOPBACK_BROADCAST, DEFAULT_COTE_PORT } = common

const port = integer('PORT', 3030)
const cotePort = integer('COTE_PORT', DEFAULT_COTE_PORT)
const startTimeout = integer('START_TIMEOUT', 30000)
const TODOS_KEY = 'todos'
const HEALTHCHECK = `http://127.0.0.1:${port}/distribution/healthcheck/${TODOS_KEY}`

const APPS = [
  { name: 'gateway', script: 'gateway/index.js', env: { PORT: port, MESH_KEY: 'gateway' } },
  { name: 'replica-1', script: 'service/index.js', env: { PORT: port + 1, MESH_KEY: TODOS_KEY, REPLICA: 'replica-1' } },
  { name: 'replica-2', script: 'service/index.js', env: { PORT: port + 2, MESH_KEY: TODOS_KEY, REPLICA: 'replica-2' } }
]
const REPLICAS = APPS.filter((app) => app.env.REPLICA).length
/** A development secret for this run only (the same for the three apps, as a mesh needs). */
const MESH_SECRET = randomBytes(32).toString('base64')

function integer(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    console.error(`[start] ${name} must be a non-negative integer, got "${raw}"`)
    process.exit(1)
  }
  return value
}

/** The children's environment: discovery pinned to loopback whatever the caller's shell says. */
function childEnv(own) {
  const env = { ...process.env }
  // Multicast or a discovery plugin (COTE_DISCOVERY_REDIS_...) would take traffic off the machine.
  for (const name of Object.keys(env)) {
    if (name === 'COTE_MULTICAST_ADDRESS' || name.startsWith('COTE_DISCOVERY_')) delete env[name]
  }
  delete env.REPLICA
  // An address to advertise (left from a Kubernetes or several-hosts set-up) would send peers off the machine.
  delete env.DISCOVERY_HOSTNAME
  // This run's secret, whatever the caller's shell holds (the variable wins over a secret file anyway).
  delete env.FEATHERS_MESH_SECRET_FILE
  return { ...env, COTE_BROADCAST_ADDRESS: LOOPBACK_BROADCAST, COTE_PORT: String(cotePort), FEATHERS_MESH_SECRET: MESH_SECRET, ...stringValues(own) }
}

function stringValues(object) {
  return Object.fromEntries(Object.entries(object).map(([name, value]) => [name, String(value)]))
}

function prefix(stream, name, write) {
  readline.createInterface({ input: stream }).on('line', (line) => write(`[${name}] ${line}`))
}

const children = []
let stopping = false

function alive(child) {
  return child.exitCode === null && child.signalCode === null
}

function startApp(app) {
  // execArgv too (but not a debugger port, which would clash), so `node -r something scripts/start.js` preloads it in every app as well.
  const child = spawn(process.execPath, [...process.execArgv.filter((arg) => !arg.startsWith('--inspect')), path.join(BUILD, app.script)], { env: childEnv(app.env), stdio: ['ignore', 'pipe', 'pipe'] })
  const entry = { name: app.name, child, exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`))) }
  prefix(child.stdout, app.name, (line) => console.log(line))
  prefix(child.stderr, app.name, (line) => console.error(line))
  console.log(`[start] ${app.name} started (pid ${child.pid}, http port ${app.env.PORT})`)
  child.once('exit', (code, signal) => {
    if (stopping) return
    // Reported, not fatal: the mesh keeps working with the apps that are left (stop a replica to see it).
    const how = signal ? `killed by ${signal}` : `exit code ${code}`
    console.error(`[start] ${app.name} (pid ${child.pid}) ${code === 0 ? 'exited' : 'died'} (${how})`)
    if (children.every((other) => !alive(other.child))) {
      console.error('[start] every app has exited')
      process.exit(1)
    }
  })
  children.push(entry)
}

/** Ends every child by its PID (SIGTERM, then SIGKILL after 5 s) and exits once all are gone. */
async function stop(reason, code) {
  if (stopping) return
  stopping = true
  console.log(`[start] ${reason}: stopping ${children.length} apps`)
  await Promise.all(
    children.map(async ({ name, child, exited }) => {
      if (alive(child)) child.kill('SIGTERM')
      const timer = setTimeout(() => alive(child) && child.kill('SIGKILL'), 5000)
      const how = await exited
      clearTimeout(timer)
      console.log(`[start] ${name} (pid ${child.pid}) stopped (${how})`)
    })
  )
  console.log('[start] all apps stopped')
  process.exit(code)
}

/** Polls the gateway's healthcheck until it sees every replica answering, or the deadline passes. */
async function waitForMesh() {
  const deadline = Date.now() + startTimeout
  let last = 'no answer yet'
  const gateway = children[0].child
  while (Date.now() < deadline && !stopping && alive(gateway)) {
    try {
      const response = await fetch(HEALTHCHECK, { signal: AbortSignal.timeout(3000) })
      const body = await response.json()
      const replicas = body.services?.[TODOS_KEY]?.length ?? 0
      if (response.status === 200 && replicas >= REPLICAS) return true
      last = `${response.status} ${JSON.stringify(body)}`
    } catch (error) {
      last = error.message
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  if (stopping) return false
  if (!alive(gateway)) console.error('[start] the gateway exited before the mesh was up')
  else console.error(`[start] the gateway did not see ${REPLICAS} todos replicas within ${startTimeout} ms; last healthcheck: ${last}`)
  return false
}

// SIGHUP too: a closing terminal or a supervisor may signal this process only. A second signal
// (Ctrl-C again) does not wait for the apps' goodbyes: whatever still runs is killed.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (!stopping) return stop(signal, 0)
    for (const { child } of children) if (alive(child)) child.kill('SIGKILL')
  })
}

console.log(`[start] discovery on UDP port ${cotePort}, broadcast ${LOOPBACK_BROADCAST}`)
console.log('[start] the mesh is sealed with a random secret drawn for this run (FEATHERS_MESH_SECRET, not printed)')
for (const app of APPS) startApp(app)
waitForMesh().then((ok) => {
  if (stopping) return
  if (!ok) return stop('start failed', 1)
  // Credentials first: whoever waits for the ready line has everything it needs once it sees it.
  console.log(`[start] sign in as ${DEMO_USER.email} / ${DEMO_USER.password}`)
  console.log(`[start] ready: open http://localhost:${port}/`)
  console.log('[start] Ctrl-C stops every app')
})
