/**
 * The example in a real browser: scripts/start.js runs the gateway and both replicas (guard
 * preloaded in all of them, as `npm start` does after building), and headless Chromium drives
 * example/public/index.html loaded from 127.0.0.1: sign in, list, both replicas answering,
 * a TODO created in one window arriving live in another, and the page carrying on through the
 * remaining replica once one is killed. The steps share one running mesh and browser, in order.
 *
 * Needs Chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it) or at
 * CHROMIUM_PATH; without it the test fails, it does not skip. playwright-core only drives that
 * binary, it never downloads a browser.
 *
 * The unauthenticated REST and socket 401s are checked by start.test.ts; here only the page's
 * own "Not signed in (401)" is.
 *
 * UPDATE_SCREENSHOT=1 also saves the signed-in page to docs/gateway-example.png (for the README).
 * On a failure the pages are saved to test-output/ with the output of scripts/start.js.
 */
import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import fs from 'fs'
import path from 'path'
import { expect } from 'chai'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { DEMO_USER } from '../../example/common'
import { CHROMIUM, CHROMIUM_ARGS, loopbackContext } from '../helpers/browser'
import { deadline, poll, portIsFree, isRunning } from '../helpers/processes'

const ROOT = path.join(__dirname, '..', '..', '..') // build/test/example → repository root
const GUARD = path.join(ROOT, 'build', 'test', 'helpers', 'guard.js')
const DISCOVERY_PORT = 48600 // not start.test.ts's 48500, and outside the 42000-47999 range test files hash into
const HTTP_PORT = 31630 // gateway; replicas take +1 and +2 (start.test.ts uses 31530-31532)
const PAGE_URL = `http://127.0.0.1:${HTTP_PORT}/`
const OUTPUT_DIR = path.join(ROOT, 'test-output')
const SCREENSHOT = path.join(ROOT, 'docs', 'gateway-example.png')






interface Answer {
  text: string
  error: boolean
  replica: string
}

/** What the page says now: its status line (and whether it is an error) and the last replica that answered. */
async function read(page: Page): Promise<Answer> {
  const status = page.locator('#status')
  return {
    text: (await status.textContent()) ?? '',
    error: (await status.getAttribute('class')) === 'error',
    replica: (await page.locator('#replica').textContent()) ?? ''
  }
}

/**
 * Does something on the page and waits for the page's answer to it: the status line is blanked
 * first, and every handler of the page ends by writing it (a result or the error, in words).
 */
async function act(page: Page, action: () => Promise<void>): Promise<Answer> {
  await page.locator('#status').evaluate((element: any) => {
    element.textContent = ''
  })
  await action()
  await page.waitForFunction("document.getElementById('status').textContent !== ''", undefined, { timeout: 12000 })
  return read(page)
}

const refresh = (page: Page) => act(page, () => page.click('#refresh'))

async function listed(page: Page): Promise<Array<{ title: string; replica: string }>> {
  return page.locator('#todos li').evaluateAll((items: any[]) =>
    items.map((item) => ({ title: item.firstChild.textContent.trim(), replica: item.querySelector('.replica').textContent }))
  )
}

describe('example: the page in a real browser (headless Chromium)', function () {
  this.timeout(60000)
  let start: ChildProcess | undefined
  let exited: Promise<number | null>
  let output = ''
  const pids: Record<string, number> = {}
  let browser: Browser | undefined
  let first: Page // signs in first, creates the TODO
  let second: Page | undefined // another window (own context, own socket): receives it live
  const offMachine: string[] = [] // every request or websocket the pages tried to anything but 127.0.0.1
  const pageErrors: string[] = []

  /** A fresh context (own storage, own socket.io connection) whose traffic may only go to 127.0.0.1. */
  async function openPage(name: string): Promise<Page> {
    const context = await loopbackContext(browser!, offMachine, { viewport: { width: 820, height: 540 }, deviceScaleFactor: 1 }, `${name}: `)
    context.on('request', (request) => {
      if (new URL(request.url()).hostname !== '127.0.0.1') offMachine.push(`${name}: ${request.url()}`)
    })
    const page = await context.newPage()
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).hostname !== '127.0.0.1') offMachine.push(`${name}: websocket ${socket.url()}`)
    })
    page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`))
    await page.goto(PAGE_URL)
    await page.locator('#status', { hasText: 'Connected to the gateway. Not signed in.' }).waitFor({ timeout: 10000 })
    return page
  }

  async function signIn(page: Page): Promise<Answer> {
    // Signing in ends with a first list: "<n> TODOs from replica-<n>. Refresh again …".
    await page.click('#login')
    await page.locator('#status', { hasText: / TODOs from replica-[12]\./ }).waitFor({ timeout: 10000 })
    return read(page)
  }

  before(async function () {
    // Not a skip: CI installs Chromium (.ci/run), so a missing one is a broken setup and must show.
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: this test needs it. Install it with \`apt-get install -y chromium\` (.ci/run does) or point CHROMIUM_PATH at one. Never \`npx playwright install\`.`)
    }
    for (const port of [HTTP_PORT, HTTP_PORT + 1, HTTP_PORT + 2]) {
      if (!(await portIsFree(port))) throw new Error(`port ${port} is taken: the browser test needs ${HTTP_PORT}-${HTTP_PORT + 2}`)
    }
    start = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(HTTP_PORT), COTE_PORT: String(DISCOVERY_PORT), NODE_OPTIONS: `-r ${JSON.stringify(GUARD)}` },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    exited = new Promise((resolve) => start!.once('exit', (code) => resolve(code)))
    const collect = (chunk: Buffer) => {
      output += chunk
      for (const match of output.matchAll(/\[start\] (\S+) started \(pid (\d+)/g)) pids[match[1]] = Number(match[2])
    }
    start.stdout!.on('data', collect)
    start.stderr!.on('data', collect)
    // Chromium starts while the mesh forms.
    const launched = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20000 }).then(
      (launched) => (browser = launched),
      (error) => Promise.reject(new Error(`Chromium (${CHROMIUM}) did not start: ${error.message}`))
    )
    const ready = poll('the ready line of scripts/start.js', async () => (/\[start\] ready: open (http:\/\/\S+)/.test(output) ? true : undefined), 40000)
    const early = exited.then((code) => Promise.reject(new Error(`start.js exited with ${code} before it was ready`)))
    await Promise.race([ready, early]).catch((error) => {
      throw new Error(`${error.message}\n--- output ---\n${output}`)
    })
    await launched
    expect(Object.keys(pids)).to.have.members(['gateway', 'replica-1', 'replica-2'])
  })

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return
    fs.mkdirSync(OUTPUT_DIR, { recursive: true })
    const shots: Array<[Page | undefined, string]> = [
      [first, 'browser-failure.png'],
      [second, 'browser-failure-second.png']
    ]
    for (const [page, file] of shots) {
      if (!page || page.isClosed()) continue
      await page.screenshot({ path: path.join(OUTPUT_DIR, file), fullPage: true, timeout: 5000 }).catch((error) => console.error(`could not save ${file}: ${error.message}`))
    }
    fs.writeFileSync(path.join(OUTPUT_DIR, 'browser-start.log'), output)
    console.error(`    screenshots and the output of scripts/start.js are in ${OUTPUT_DIR}`)
  })

  after(async function () {
    this.timeout(30000)
    await Promise.race([browser?.close(), deadline(10000)]).catch(() => undefined)
    // End what this file started, by PID: start.js stops its apps on SIGINT.
    if (start && start.exitCode === null && start.signalCode === null) {
      start.kill('SIGINT')
      await Promise.race([exited, deadline(8000)])
      if (start.exitCode === null && start.signalCode === null) start.kill('SIGKILL')
    }
    for (const pid of Object.values(pids)) if (isRunning(pid)) process.kill(pid, 'SIGKILL')
  })

  it('loads the page from 127.0.0.1, prefilled with the seeded user, and connects', async () => {
    first = await openPage('first window')
    expect(await first.inputValue('#email')).to.equal(DEMO_USER.email)
    expect(await first.inputValue('#password')).to.equal(DEMO_USER.password)
  })

  it('says 401 before signing in, then signs in and lists the TODOs', async () => {
    const anonymous = await refresh(first)
    expect(anonymous.error).to.equal(true)
    expect(anonymous.text).to.match(/^Not signed in \(401\)/)

    const signedIn = await signIn(first)
    expect(signedIn.error).to.equal(false)
    expect(signedIn.replica).to.match(/^replica-[12]$/)
    const todos = await listed(first)
    expect(todos).to.deep.include({ title: `Seeded by ${signedIn.replica}`, replica: signedIn.replica })
  })

  it('gets answers from both replicas over a few refreshes', async () => {
    const seen = new Set<string>()
    await poll(
      'answers from both replicas',
      async () => {
        const answer = await refresh(first)
        if (answer.error) throw new Error(answer.text)
        expect(answer.text).to.match(new RegExp(`^\\d+ TODOs from ${answer.replica}\\.`))
        seen.add(answer.replica)
        return seen.size === 2 ? true : undefined
      },
      10000,
      0
    )
    expect([...seen]).to.have.members(['replica-1', 'replica-2'])
    // The page keeps each replica's answer: both seeded TODOs are listed, each with its replica.
    const todos = await listed(first)
    expect(todos).to.deep.include.members([
      { title: 'Seeded by replica-1', replica: 'replica-1' },
      { title: 'Seeded by replica-2', replica: 'replica-2' }
    ])
  })

  it('creates a TODO that a second signed-in window receives live', async () => {
    second = await openPage('second window')
    await signIn(second)
    const title = 'Created in one window, shown live in the other'
    await first.fill('#title', title)
    const created = await act(first, () => first.click('#create'))
    expect(created.error, created.text).to.equal(false)
    expect(created.text).to.match(/^Created on replica-[12]\.$/)
    expect(await first.inputValue('#title')).to.equal('')
    expect(await listed(first)).to.deep.include({ title, replica: created.replica })
    // No refresh on the second window: the gateway relays the replica's event over its socket.
    await second.locator('#todos li', { hasText: title }).waitFor({ timeout: 5000 })
    expect(await listed(second)).to.deep.include({ title, replica: created.replica })

    if (process.env.UPDATE_SCREENSHOT === '1') {
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true })
      await first.screenshot({ path: SCREENSHOT, fullPage: true })
      console.log(`    saved ${path.relative(ROOT, SCREENSHOT)}`)
    }
  })

  it('keeps working through the other replica once one is killed', async () => {
    const pid = pids['replica-2']
    process.kill(pid, 'SIGKILL') // a crash: no goodbye to the mesh
    await poll('the report of replica-2', async () => (output.includes(`replica-2 (pid ${pid}) died (killed by SIGKILL)`) ? true : undefined))
    // Until the gateway has noticed the closed connection a call may still pick replica-2 and
    // fail (503); from then on every refresh is answered by replica-1.
    const transient: string[] = []
    await poll(
      'a refresh answered by replica-1',
      async () => {
        const answer = await refresh(first)
        if (answer.error) transient.push(answer.text)
        return !answer.error && answer.replica === 'replica-1' ? true : undefined
      },
      15000
    )
    for (let call = 0; call < 4; call++) {
      const answer = await refresh(first)
      expect(answer, `refresh ${call + 1} after replica-2 died (earlier transient errors: ${JSON.stringify(transient)})`).to.deep.include({ error: false, replica: 'replica-1' })
    }
    expect(transient.every((text) => /\(503/.test(text)), `only 503s while the gateway noticed: ${JSON.stringify(transient)}`).to.equal(true)

    // Creating still works too, and still reaches the other window live.
    const title = 'Created after replica-2 died'
    await first.fill('#title', title)
    const created = await act(first, () => first.click('#create'))
    expect(created).to.deep.include({ text: 'Created on replica-1.', error: false })
    await second!.locator('#todos li', { hasText: title }).waitFor({ timeout: 5000 })
    const fromSecond = await refresh(second!)
    expect(fromSecond).to.deep.include({ error: false, replica: 'replica-1' })
  })

  it('loaded nothing from off the machine and raised no errors in the page', () => {
    expect(offMachine, 'requests to anything but 127.0.0.1').to.deep.equal([])
    expect(pageErrors, 'uncaught errors in the page').to.deep.equal([])
  })
})
