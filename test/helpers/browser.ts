/** Headless Chromium for the end-to-end tests, launched so that nothing can leave the machine. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

/**
 * No background services, no QUIC, and every host name other than 127.0.0.1 resolves to nothing
 * (pages are loaded from 127.0.0.1 itself).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'
]

/** A browser context that aborts every request off 127.0.0.1, noting its URL in `offMachine` (tests expect it empty). */
export async function loopbackContext(browser: import('playwright-core').Browser, offMachine: string[], options: import('playwright-core').BrowserContextOptions = {}, label = '') {
  const context = await browser.newContext(options)
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => {
      offMachine.push(`${label}${route.request().url()}`)
      return route.abort('blockedbyclient')
    }
  )
  return context
}
