/**
 * The mesh page served at `GET {statusPath}/page` with `statusPage: true`: one static HTML file,
 * inline CSS and JS, no framework and nothing loaded from anywhere else. Every second it fetches
 * `{statusPath}` (same origin) and draws the MeshStatus: apps as boxes grouped by key, the services
 * in them, each proxy's replicas, calls per second (from successive counters) and p99.
 *
 * A token given as `?token=` is sent as `Authorization: Bearer <token>` on every fetch (and kept in
 * sessionStorage, out of the address bar). Data from peers is only ever written with textContent.
 *
 * Stable hooks for tests: `#mesh[data-refreshes]`, `.group[data-key]`, `.app[data-uuid][data-key]
 * [data-state]` (state `self` for this app), `tr.service[data-path][data-health]` with
 * `.replicas[data-count]`, `.rate[data-rate]` and `.p99[data-p99]`, `#rate[data-rate]`, `#status`.
 */
import { createHash } from 'crypto'
import { STATUS_PAGE_SCRIPT as SCRIPT } from './status-page-script'

const STYLE = `
:root { --ok: #1e8e3e; --warn: #e37400; --off: #80868b; --bad: #d93025; --ink: #202124; --muted: #5f6368; --line: #dadce0 }
* { box-sizing: border-box }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f8f9fa }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 20px; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line) }
h1 { font-size: 18px; margin: 0 }
#summary { color: var(--muted) }
#status { margin-left: auto; font-size: 12px; color: var(--muted) }
#status.error { color: var(--bad); font-weight: 600 }
#legend { list-style: none; display: flex; flex-wrap: wrap; gap: 14px; margin: 0; padding: 8px 20px 0; font-size: 12px; color: var(--muted) }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px; background: var(--c) }
main { display: flex; flex-wrap: wrap; gap: 16px; padding: 10px 20px 20px; align-items: flex-start }
body.stale main { opacity: .45 }
.group { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; min-width: 250px }
.group h2 { font-size: 15px; margin: 0 0 6px }
.group h2 small { font-weight: normal; color: var(--muted); margin-left: 6px }
table { border-collapse: collapse; font-size: 12px; margin-bottom: 8px; width: 100% }
th { text-align: left; font-weight: 600; color: var(--muted); padding: 2px 10px 2px 0 }
td { padding: 2px 10px 2px 0; white-space: nowrap }
td.rate, td.p99 { font-variant-numeric: tabular-nums }
tr[data-health=ok] { --c: var(--ok) } tr[data-health=warn] { --c: var(--warn) } tr[data-health=down] { --c: var(--bad) }
.replicas .dot { width: 8px; height: 8px; margin: 0 2px 0 0 }
.apps { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start }
.app { --c: var(--off); width: 190px; border: 1px solid var(--c); border-left-width: 6px; border-radius: 8px; padding: 6px 8px; background: #fff }
.app[data-state=self], .app[data-state=admitted] { --c: var(--ok) }
.app[data-state=self] { box-shadow: 0 0 0 2px #e6f4ea }
.app[data-state=suspect] { --c: var(--warn); background: #fef7e0 }
.app[data-state=refused] { --c: var(--bad); background: #fce8e6 }
.app[data-state=leaving], .app[data-state=gone] { background: #f1f3f4; color: var(--muted) }
.app .id { font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 600 }
.app .state { float: right; font-size: 11px; font-weight: 700; text-transform: uppercase; color: var(--c) }
.app .detail { font-size: 12px; color: var(--muted); overflow-wrap: anywhere }
.app ul { list-style: none; margin: 4px 0 0; padding: 0; font-size: 12px }
.app li { overflow-wrap: anywhere }
.app li::before { content: "\\25A1  "; color: var(--muted) }
.app li.replica::before { content: "\\25A0  "; color: var(--c) }
.app li.proxy::before { content: "" }
.empty { color: var(--muted) }
`

const LEGEND = [
  ['ok', 'healthy (admitted)'],
  ['warn', 'suspect (silent)'],
  ['off', 'leaving / gone'],
  ['bad', 'refused']
]
  .map(([colour, label]) => `<li><span class="dot legend-${colour}"></span>${label}</li>`)
  .join('')
const LEGEND_STYLE = ['ok', 'warn', 'off', 'bad'].map((c) => `.legend-${c} { --c: var(--${c}) }`).join('\n')

const style = STYLE + LEGEND_STYLE + '\n'

/** The whole page. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>feathers-mesh</title>
<style>${style}</style>
</head>
<body>
<header><h1>feathers-mesh <span id="self"></span></h1><div id="summary">Loading&hellip;</div><div id="status">Connecting&hellip;</div></header>
<ul id="legend">${LEGEND}<li>&#9632; a replica this app calls</li></ul>
<main id="mesh" data-refreshes="0"></main>
<script>${SCRIPT}</script>
</body>
</html>
`

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`

/** Response headers of the page: its CSP allows its own inline style and script and same-origin fetches only. */
export const STATUS_PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(style)}; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache'
}
