/**
 * An app with `services` in-memory services, with or without feathers-mesh, that does nothing: the
 * idle-cost figure runs many of them. BENCH_CHILD JSON: { mesh: boolean, options, services, prefix }.
 * It counts the cote components it starts (by their discovery) and reports them with `components`.
 * Commands: peers, services, components.
 */
import { config, requireGuard, serve } from './common'

requireGuard()

// Each cote component starts one discovery (one UDP socket): count them by type before any exists.
const components: Record<string, number> = {}
const Component = require('cote/src/components/component.js')
const startDiscovery = Component.prototype.startDiscovery
Component.prototype.startDiscovery = function (this: { type: string }, ...args: unknown[]) {
  components[this.type] = (components[this.type] ?? 0) + 1
  return startDiscovery.apply(this, args)
}

const { feathers } = require('@feathersjs/feathers')
const express = require('@feathersjs/express')
const { TodoService } = require('../../test/fixtures/services')

const app: any = express.default(feathers())
app.use(express.json())
app.configure(express.rest())
if (config.mesh) app.configure(require('../../src').distribution(config.options ?? {}))
// Paths of the app's own (as distinct microservices have): with the mesh, every app mounts a proxy for each other app's.
for (let i = 0; i < (config.services ?? 10); i++) app.use(`${config.prefix ?? 'service'}${i}`, new TodoService(config.name))
app.use(express.errorHandler({ logger: false }))

serve(
  {
    peers: () => (config.mesh ? app.distribution.peers().length : 0),
    services: () => Object.keys(app.services).length,
    components: () => components
  },
  async () => {
    if (config.mesh) await require('../../src').finalize(app)
    await app.teardown().catch(() => undefined)
  }
)

app.listen(0, '127.0.0.1').then(async (server: any) => {
  if (config.mesh) await app.distribution.ready
  process.send?.({ type: 'ready', pid: process.pid, httpPort: server.address().port })
})
