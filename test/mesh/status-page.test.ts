/**
 * The mesh page (`statusPage: true`, `GET {statusPath}/page`): first the route itself, then the page
 * in headless Chromium against a gateway, two replicas of `todos` and an intruder with another
 * secret (claiming the key `constructor`). It must show the replicas healthy, the intruder refused in red, calls per second and p99,
 * and a SIGKILLed replica turn gone within the heartbeat timeout (plus one page refresh).
 *
 * Needs Chromium at /usr/bin/chromium (or CHROMIUM_PATH); without it the test fails, it does not skip.
 * Every run saves test-output/status-page.png; UPDATE_SCREENSHOT=1 also saves docs/status-page.png.
 */
import fs from 'fs'
import path from 'path'
import { expect } from 'chai'
import { NotAuthenticated } from '@feathersjs/errors'
import { feathers } from '@feathersjs/feathers'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { distribution, finalize } from '../../src'
import { Mesh, waitFor } from '../helpers/mesh'
import type { ChildApp } from '../helpers/mesh'
import { CHROMIUM, CHROMIUM_ARGS, loopbackContext } from '../helpers/browser'

const ROOT = path.join(__dirname, '..', '..', '..') // build/test/mesh → repository root
const OUTPUT_DIR = path.join(ROOT, 'test-output')
const SCREENSHOT = path.join(ROOT, 'docs', 'status-page.png')
const HEARTBEAT = 200 // ms; the gateway drops a silent peer after 3 × HEARTBEAT
const REFRESH = 1000 // ms, the page's poll period
const SECRET = 'status-page-test-secret-1'
const OTHER_SECRET = 'status-page-test-secret-2'
const TOKEN = 'page-test-token'

describe('the mesh page: the route', function () {
  this.timeout(20000)
  // A mesh of its own (its own discovery port), so these apps never show up on the page below.
  const mesh = new Mesh(path.join(__dirname, 'status-page-route'))
  after(() => mesh.close())

  it('serves one self-contained HTML page at {statusPath}/page with statusPage: true, never as get("page")', async () => {
    const app = await mesh.app({ key: 'page-on', statusPage: true })
    const response = await fetch(`${app.url}/distribution/status/page`)
    expect(response.status).to.equal(200)
    expect(response.headers.get('content-type')).to.match(/^text\/html/)
    expect(response.headers.get('content-security-policy')).to.match(/default-src 'none'.*connect-src 'self'/)
    const html = await response.text()
    expect(html).to.match(/^<!doctype html>/)
    expect(html, 'no external assets').not.to.match(/(src|href)\s*=\s*["']?(https?:)?\/\/|@import|url\(/i)
    // The JSON is still the service's find, and any other id is still no method.
    const json = await fetch(`${app.url}/distribution/status`)
    expect(json.headers.get('content-type')).to.match(/json/)
    expect(((await json.json()) as any).app.uuid).to.equal(app.distribution.uuid)
    expect((await fetch(`${app.url}/distribution/status/other`)).status).to.equal(405)
    expect((await fetch(`${app.url}/distribution/status/page`, { method: 'DELETE' })).status).to.equal(405)
  })

  it('follows a custom statusPath', async () => {
    const app = await mesh.app({ key: 'page-custom', statusPage: true, statusPath: '/ops/mesh' })
    const response = await fetch(`${app.url}/ops/mesh/page`)
    expect(response.status).to.equal(200)
    expect(response.headers.get('content-type')).to.match(/^text\/html/)
  })

  it('is not served with statusPage false (the default): get is not a method of the status service', async () => {
    const app = await mesh.app({ key: 'page-off' })
    const response = await fetch(`${app.url}/distribution/status/page`)
    expect(response.status).to.equal(405)
    expect(response.headers.get('content-type')).not.to.match(/html/)
  })

  it('leaves the status service alone on an app without Express', async () => {
    const app: any = feathers()
    app.configure(distribution(mesh.options({ key: 'page-plain', statusPage: true })))
    try {
      expect((await app.service('distribution/status').find()).app.key).to.equal('page-plain')
    } finally {
      await finalize(app)
    }
  })
})

describe('the mesh page in headless Chromium', function () {
  this.timeout(30000)
  const mesh = new Mesh(__filename)
  let gateway: any
  let one: ChildApp
  let two: ChildApp
  let intruderId: string
  let browser: Browser | undefined
  let page: Page | undefined
  const offMachine: string[] = []
  const pageErrors: string[] = []

  const box = (uuid: string) => page!.locator(`.app[data-uuid="${uuid}"]`)
  const stateOf = async (uuid: string) => ((await box(uuid).count()) === 0 ? 'absent' : await box(uuid).getAttribute('data-state'))
  const borderColour = (uuid: string) => box(uuid).evaluate((el: any) => (globalThis as any).getComputedStyle(el).borderLeftColor as string)

  /** Polls the page until `check` returns a value, or fails with what it last saw. */
  async function poll<T>(what: string, check: () => Promise<T | undefined>, timeout: number): Promise<T> {
    let last: unknown = 'nothing yet'
    const found = await waitFor(
      async () => {
        try {
          return await check()
        } catch (error) {
          last = error
          return undefined
        }
      },
      timeout,
      what,
      50
    ).catch((error) => {
      throw new Error(`${error.message} (last: ${last}; page status: ${lastStatus})`)
    })
    return found as T
  }
  let lastStatus = ''

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: this test needs it. Install it with \`apt-get install -y chromium\` or point CHROMIUM_PATH at one. Never \`npx playwright install\`.`)
    }
    // Chromium starts while the mesh forms.
    const launched = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20000 }).then(
      (started) => (browser = started),
      (error) => Promise.reject(new Error(`Chromium (${CHROMIUM}) did not start: ${error.message}`))
    )
    launched.catch(() => undefined) // awaited below; not unhandled if the mesh fails first
    const replica = (name: string) => mesh.child(name, { key: 'todos', services: ['todos'], replica: name, options: { heartbeatInterval: HEARTBEAT, secret: SECRET } })
    ;[one, two] = await Promise.all([
      replica('one'),
      replica('two'),
      // Its claimed key names a member of Object.prototype: the page must keep drawing.
      mesh.child('intruder', { key: 'constructor', services: ['echo'], options: { heartbeatInterval: HEARTBEAT, secret: OTHER_SECRET } })
    ])
    gateway = await mesh.app({ key: 'gateway', services: () => false, statusPage: true, heartbeatInterval: HEARTBEAT, secret: SECRET }, (app) => {
      // The JSON is protected (as the example protects it with authenticate('jwt')); the page is static.
      app.service('distribution/status').hooks({
        before: {
          find: [
            async (context: any) => {
              if (context.params.provider && context.params.headers?.authorization !== `Bearer ${TOKEN}`) throw new NotAuthenticated('a token is needed')
            }
          ]
        }
      })
    })
    const todos = await gateway.distribution.waitForService('todos')
    await waitFor(() => todos.replicas.size === 2, 5000, 'both replicas')
    // A sealed frame that cannot be opened names no uuid: the gateway knows the intruder by its key.
    const refused = await waitFor(() => gateway.distribution.refused().find((r: any) => r.key === 'constructor'), 5000, 'the intruder to be refused')
    intruderId = refused.uuid
    await launched
  })

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !page || page.isClosed()) return
    fs.mkdirSync(OUTPUT_DIR, { recursive: true })
    const file = path.join(OUTPUT_DIR, 'status-page-failure.png')
    await page.screenshot({ path: file, fullPage: true, timeout: 5000 }).catch((error) => console.error(`could not save ${file}: ${error.message}`))
    console.error(`    screenshot of the failure: ${file}`)
  })

  after(async function () {
    this.timeout(20000)
    await Promise.race([browser?.close(), new Promise((resolve) => setTimeout(resolve, 10000).unref())]).catch(() => undefined)
    await mesh.close()
  })

  it('the JSON needs the token, the page does not', async () => {
    expect((await fetch(`${gateway.url}/distribution/status`)).status).to.equal(401)
    expect((await fetch(`${gateway.url}/distribution/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).to.equal(200)
    expect((await fetch(`${gateway.url}/distribution/status/page`)).status).to.equal(200)
  })

  it('shows the apps by key, both replicas healthy and the intruder refused in red', async () => {
    const context = await loopbackContext(browser!, offMachine, { viewport: { width: 980, height: 470 }, deviceScaleFactor: 1 })
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('console', (message) => message.type() === 'error' && pageErrors.push(`console: ${message.text()}`))
    await page.goto(`${gateway.url}/distribution/status/page?token=${TOKEN}`)
    // The token leaves the address bar once read.
    expect(page.url()).to.equal(`${gateway.url}/distribution/status/page`)
    await poll(
      'both replicas healthy on the page',
      async () => {
        lastStatus = (await page!.locator('#status').textContent()) ?? ''
        return (await stateOf(one.uuid)) === 'admitted' && (await stateOf(two.uuid)) === 'admitted' ? true : undefined
      },
      5000
    )
    expect(await page.locator('#status').getAttribute('class')).to.equal('')
    expect(await page.locator('.group').evaluateAll((groups: any[]) => groups.map((g) => g.dataset.key))).to.deep.equal(['gateway', 'constructor', 'todos'])
    expect(await box(gateway.distribution.uuid).getAttribute('data-state')).to.equal('self')
    expect(await page.locator('.group[data-key="todos"] .app').count()).to.equal(2)
    expect(await box(one.uuid).locator('li.replica[data-path="todos"]').count()).to.equal(1)
    expect(await page.locator('tr.service[data-path="todos"] .replicas').getAttribute('data-count')).to.equal('2')
    expect(await page.locator('tr.service[data-path="todos"]').getAttribute('data-health')).to.equal('ok')
    await poll('the intruder refused on the page', async () => ((await stateOf(intruderId)) === 'refused' ? true : undefined), 3000)
    // The page redraws every second: a box read while it is being replaced has no style yet, so poll.
    const colourIs = (uuid: string, colour: string) => async () => ((await borderColour(uuid)) === colour ? true : undefined)
    await poll('a green border on a healthy replica', colourIs(one.uuid, 'rgb(30, 142, 62)'), 3000)
    await poll('a red border on the refused intruder', colourIs(intruderId, 'rgb(217, 48, 37)'), 3000)
  })

  it('shows calls per second and p99 per service after some calls', async () => {
    const todos = gateway.service('todos')
    const rate = await poll(
      'calls per second on the page',
      async () => {
        for (let i = 0; i < 5; i++) await todos.find({})
        const value = Number((await page!.locator('tr.service[data-path="todos"] .rate').getAttribute('data-rate')) || 0)
        return value > 0 ? value : undefined
      },
      2 * REFRESH + 3000
    )
    expect(rate).to.be.greaterThan(0)
    expect(Number(await page!.locator('#rate').getAttribute('data-rate'))).to.be.greaterThan(0)
    expect(Number(await page!.locator('tr.service[data-path="todos"] .p99').getAttribute('data-p99'))).to.be.greaterThan(0)
  })

  it('keeps its token across a reload (sessionStorage); a page opened without one asks for it', async () => {
    await page!.reload()
    expect(page!.url()).to.equal(`${gateway.url}/distribution/status/page`)
    await poll(
      'a refresh with the token after the reload',
      async () => (Number(await page!.locator('#mesh').getAttribute('data-refreshes')) >= 1 && (await page!.locator('#status').getAttribute('class')) === '' ? true : undefined),
      2 * REFRESH + 3000
    )
    // Another browser context has its own, empty sessionStorage.
    const context = await loopbackContext(browser!, offMachine)
    try {
      const bare = await context.newPage()
      await bare.goto(`${gateway.url}/distribution/status/page`)
      const told = await poll(
        'the page without a token to say so',
        async () => ((await bare.locator('#status').getAttribute('class')) === 'error' ? await bare.locator('#status').textContent() : undefined),
        2 * REFRESH + 3000
      )
      expect(told).to.include('(401)').and.to.include('?token=')
    } finally {
      await context.close()
    }
  })

  it('turns a SIGKILLed replica from healthy to gone within the heartbeat timeout', async () => {
    const todos = gateway.service('todos')
    let calling = true // calls keep flowing, so the screenshot shows a rate
    const caller = (async () => {
      while (calling) await Promise.all([todos.find({}).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 50))])
    })()
    try {
      expect(await stateOf(two.uuid)).to.equal('admitted')
      const killedAt = Date.now()
      two.process.kill('SIGKILL') // a crash: no goodbye
      const heartbeatTimeout = gateway.distribution.options.heartbeatTimeout
      // The gateway notices within the heartbeat timeout (and one sweep); the page shows it at its next refresh.
      const noticed = waitFor(() => gateway.distribution.status().peers.some((p: any) => p.uuid === two.uuid && p.state === 'gone'), heartbeatTimeout + HEARTBEAT, 'the gateway to see the replica gone').then(
        () => Date.now() - killedAt,
        (error: Error) => error
      )
      const state = await poll(
        'the killed replica to turn gone',
        async () => {
          const now = await stateOf(two.uuid)
          return now === 'gone' || now === 'absent' ? now : undefined
        },
        heartbeatTimeout + 2 * REFRESH + 500
      )
      const elapsed = Date.now() - killedAt
      const noticedAfter = await noticed
      if (noticedAfter instanceof Error) throw noticedAfter
      expect(state).to.equal('gone')
      expect(await borderColour(two.uuid)).to.equal('rgb(128, 134, 139)') // grey
      expect(await stateOf(one.uuid)).to.equal('admitted')
      await poll('one replica left', async () => ((await page!.locator('tr.service[data-path="todos"] .replicas').getAttribute('data-count')) === '1' ? true : undefined), 2 * REFRESH + 500)
      console.log(`      gone in the gateway ${noticedAfter} ms and on the page ${elapsed} ms after SIGKILL (heartbeat timeout ${heartbeatTimeout} ms, page refresh ${REFRESH} ms)`)
      // A refresh later, so the rate covers the calls made meanwhile.
      const refreshes = Number(await page!.locator('#mesh').getAttribute('data-refreshes'))
      await poll('one more refresh', async () => (Number(await page!.locator('#mesh').getAttribute('data-refreshes')) > refreshes ? true : undefined), 2 * REFRESH + 500)
    } finally {
      calling = false
      await caller
    }
    fs.mkdirSync(OUTPUT_DIR, { recursive: true })
    await page!.screenshot({ path: path.join(OUTPUT_DIR, 'status-page.png'), fullPage: true })
    if (process.env.UPDATE_SCREENSHOT === '1') {
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true })
      await page!.screenshot({ path: SCREENSHOT, fullPage: true })
      console.log(`      saved ${path.relative(ROOT, SCREENSHOT)}`)
    }
  })

  it('loaded nothing from off the machine and raised no errors (CSP included)', () => {
    expect(offMachine, 'requests to anything but 127.0.0.1').to.deep.equal([])
    expect(pageErrors, 'errors in the page').to.deep.equal([])
  })
})
