/**
 * The API gateway: the only app the outside world talks to. It exposes none of its own services
 * to the mesh, consumes every remote one, and requires a JWT on every proxy, so the microservices
 * behind it need no authentication of their own.
 */
import fs from 'fs'
import path from 'path'
import { feathers } from '@feathersjs/feathers'
import express, { rest, json, urlencoded, serveStatic, notFound, errorHandler } from '@feathersjs/express'
import socketio from '@feathersjs/socketio'
import { AuthenticationService, JWTStrategy, authenticate } from '@feathersjs/authentication'
import { LocalStrategy, hooks as localHooks } from '@feathersjs/authentication-local'
import { MemoryService } from '@feathersjs/memory'
import { distribution } from '../../src'
import { DEMO_USER, discovery, numberSetting, setting, stopOnSignals } from '../common'

const port = numberSetting('PORT', 3030)
// The page lives in example/public: next to this file when run from source, three levels up from build/example/gateway.
const publicDir = [path.join(__dirname, '..', 'public'), path.join(__dirname, '..', '..', '..', 'example', 'public')].find((dir) => fs.existsSync(dir))

const app: any = express(feathers())
app.use(json())
app.use(urlencoded({ extended: true }))
app.configure(rest())
app.configure(socketio())

app.set('authentication', {
  secret: setting('JWT_SECRET', 'feathers-mesh-example-dev-secret-change-me'),
  entity: 'user',
  service: 'users',
  authStrategies: ['jwt', 'local'],
  jwtOptions: { expiresIn: '1d' },
  local: { usernameField: 'email', passwordField: 'password' }
})
const authentication = new AuthenticationService(app)
authentication.register('jwt', new JWTStrategy())
authentication.register('local', new LocalStrategy())
app.use('authentication', authentication)

// Users are only for signing in: no transport serves them (`methods: []`), the strategies call them internally.
app.use('users', new MemoryService(), { methods: [] })
app.service('users').hooks({
  before: { create: [localHooks.hashPassword('password')] },
  after: { all: [localHooks.protect('password')] }
})

app.configure(
  distribution({
    key: setting('MESH_KEY', 'gateway'),
    services: () => false,
    hooks: { before: { all: [authenticate('jwt')] } },
    statusPage: true, // the mesh page at /distribution/status/page
    cote: discovery()
  })
)
// The status JSON needs a JWT too. The page itself is static: open it as
// /distribution/status/page?token=<accessToken> and its requests carry `Authorization: Bearer <token>`.
app.service('distribution/status').hooks({ before: { all: [authenticate('jwt')] } })

// Only signed-in connections hear service events, including those the mesh relays from replicas.
app.on('connection', (connection: any) => app.channel('anonymous').join(connection))
app.on('login', (_result: unknown, params: any) => {
  if (!params.connection) return
  app.channel('anonymous').leave(params.connection)
  app.channel('authenticated').join(params.connection)
})
app.publish(() => app.channel('authenticated'))

if (publicDir) app.use(serveStatic(publicDir))
app.use(notFound())
app.use(errorHandler({ logger: false as any }))

async function main() {
  await app.listen(port)
  await app.service('users').create(DEMO_USER)
  stopOnSignals(app, 'gateway')
  console.log(`gateway listening on http://localhost:${port}/ (mesh key ${app.distribution.key})`)
  if (!publicDir) console.warn('gateway: example/public was not found, the page is not served')
}

main().catch((error) => {
  console.error('gateway failed to start', error)
  process.exit(1)
})
