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
import { READY_PATH, discovery, numberSetting, setting, stopOnSignals } from '../common'

const port = numberSetting('PORT', 3031)
const replica = setting('REPLICA', `replica-${process.pid}`)
const key = setting('MESH_KEY', 'todos')
let ready = false

// An express app even though nothing public calls it: it carries the mesh healthcheck and READY_PATH.
const app: any = express(feathers())
app.use(json())
app.configure(rest())
app.configure(distribution({ key, remoteServices: () => false, cote: discovery() }))

app.use('todos', new MemoryService())
app.service('todos').hooks({
  before: {
    // Calls arrive from the gateway on behalf of browsers: keep only the fields a TODO has.
    create: [
      async (context: HookContext) => {
        const title = typeof context.data?.title === 'string' ? context.data.title.trim() : ''
        if (!title || title.length > 200) throw new BadRequest('A TODO needs a title of 1 to 200 characters', { field: 'title' })
        context.data = { title, done: false, createdOn: replica }
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
  res.status(ready ? 200 : 503).json({ key, replica, ready })
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
