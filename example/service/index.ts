/**
 * A todos microservice: one replica of key 'todos'. Run several (REPLICA, PORT differ) and the
 * gateway balances calls between them. Each replica keeps its own memory store, so each answers
 * with its own TODOs, tagged `servedBy` so the caller sees who answered.
 */
import { feathers } from '@feathersjs/feathers'
import type { HookContext } from '@feathersjs/feathers'
import express, { rest, json, notFound, errorHandler } from '@feathersjs/express'
import { MemoryService } from '@feathersjs/memory'
import { BadRequest } from '@feathersjs/errors'
import { distribution } from '../../src'
import { LIVE_PATH, READY_PATH, discovery, numberSetting, setting, stopOnSignals } from '../common'

const port = numberSetting('PORT', 3031)
const replica = setting('REPLICA', `replica-${process.pid}`)
const key = setting('MESH_KEY', 'todos')
let ready = false

// An express app even though nothing public calls it: it carries the mesh healthcheck, READY_PATH and LIVE_PATH.
const app: any = express(feathers())
app.use(json())
app.configure(rest())
app.configure(distribution({ key, remoteServices: () => false, cote: discovery() }))

function titleOf(data: any): string {
  const title = typeof data?.title === 'string' ? data.title.trim() : ''
  if (!title || title.length > 200) throw new BadRequest('A TODO needs a title of 1 to 200 characters', { field: 'title' })
  return title
}

function doneOf(data: any): boolean {
  if (data?.done !== undefined && typeof data.done !== 'boolean') throw new BadRequest('done is true or false', { field: 'done' })
  return data?.done === true
}

app.use('todos', new MemoryService())
app.service('todos').hooks({
  before: {
    // Calls arrive from the gateway on behalf of browsers: keep only the fields a TODO has.
    create: [
      async (context: HookContext) => {
        context.data = { title: titleOf(context.data), done: false, createdOn: replica }
      }
    ],
    update: [
      async (context: HookContext) => {
        const { createdOn } = await context.service.get(context.id!)
        context.data = { title: titleOf(context.data), done: doneOf(context.data), createdOn }
      }
    ],
    patch: [
      async (context: HookContext) => {
        const data = context.data ?? {}
        const unknown = Object.keys(data).filter((field) => field !== 'title' && field !== 'done')
        if (unknown.length > 0) throw new BadRequest(`A TODO has no field ${unknown.join(', ')}`, { fields: unknown })
        context.data = { ...('title' in data ? { title: titleOf(data) } : {}), ...('done' in data ? { done: doneOf(data) } : {}) }
      }
    ]
  },
  after: {
    all: [
      async (context: HookContext) => {
        const tag = (item: any) => ({ ...item, servedBy: replica })
        context.result = Array.isArray(context.result) ? context.result.map(tag) : tag(context.result)
      }
    ]
  }
})

app.get(READY_PATH, (_req: any, res: any) => {
  const discovery = app.distribution.status().app.discovery
  const joined = ready && discovery.connected
  res.status(joined ? 200 : 503).json({ key, replica, ready: joined, discovery: { mode: discovery.mode, connected: discovery.connected } })
})
app.get(LIVE_PATH, (_req: any, res: any) => {
  res.status(200).json({ key, replica })
})
app.use(notFound())
app.use(errorHandler({ logger: false as any }))

async function main() {
  await app.listen(port)
  await app.service('todos').create({ title: `Seeded by ${replica}` })
  stopOnSignals(app, replica)
  await app.distribution.ready
  ready = true
  console.log(`${replica} (mesh key ${key}) ready on http://localhost:${port}${READY_PATH}`)
}

main().catch((error) => {
  console.error(`${replica} failed to start`, error)
  process.exit(1)
})
