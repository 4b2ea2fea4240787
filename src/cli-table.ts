/** The report of `feathers-mesh status` and its text form (the JSON form is the report itself). */

export type ReplicaHealth = 'answering' | 'not answering'

export interface CliReport {
  /** The CLI's own mesh identity and discovery settings. */
  observer: { uuid: string; key: string; version: string; protocol: number; port?: number; broadcast?: string }
  /** ISO time of the round. */
  at: string
  /** Discovery wait before the first round, in ms. */
  waited: number
  /** true when every known replica answered: the exit code is 0. */
  ok: boolean
  /** Why `ok` is false, one line each. */
  problems: string[]
  /** Every app seen (other CLIs left out), recently departed ones included. */
  apps: Array<{ uuid: string; key: string; state: string; reason?: string; lastHeard?: number; rtt?: number; services: string[] }>
  /** Per key: its healthcheck, as services with their replicas. */
  keys: KeyReport[]
}

export interface KeyReport {
  key: string
  /** Status of the healthcheck of this key (200, 404 or 503); null when only refused apps have it. */
  status: number | null
  message?: string
  services: Array<{ path: string; replicas: Array<{ uuid: string; health: ReplicaHealth; reason?: string }> }>
  /** Apps of the key that did not answer and serve no path. */
  unavailable: Array<{ uuid: string; reason: string }>
  /** Apps of the key this observer refused (other secret, no secret, other protocol version). */
  refused: Array<{ uuid: string; reason: string }>
}

const short = (uuid: string) => uuid.slice(0, 8)

/** Columns padded to their widest cell, two spaces apart. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

export function renderReport(report: CliReport): string {
  const { observer } = report
  const where = [observer.port !== undefined ? `port ${observer.port}` : undefined, observer.broadcast ? `broadcast ${observer.broadcast}` : undefined].filter(Boolean).join(', ')
  const lines = [`feathers-mesh status  ${report.at}  observer ${short(observer.uuid)}${where ? ` (${where})` : ''}, waited ${report.waited} ms`, '']
  if (report.apps.length === 0) {
    lines.push(`No app seen. Check the discovery settings (--port, --broadcast) and the secret.`)
  } else {
    const apps = report.apps.map((app) => [short(app.uuid), app.key, app.reason ? `${app.state} (${app.reason})` : app.state, app.services.join(', ') || '-'])
    lines.push(formatTable(['APP', 'KEY', 'STATE', 'SERVICES'], apps), '')
    const rows: string[][] = []
    for (const key of report.keys) {
      if (key.status === 404) rows.push([key.key, '-', '-', key.message ?? 'no app of this key is known'])
      for (const service of key.services) {
        for (const replica of service.replicas) rows.push([key.key, service.path, short(replica.uuid), replica.reason ? `${replica.health}: ${replica.reason}` : replica.health])
      }
      for (const app of key.unavailable) rows.push([key.key, '-', short(app.uuid), `not answering: ${app.reason}`])
      for (const app of key.refused) rows.push([key.key, '-', short(app.uuid), `refused: ${app.reason}`])
    }
    if (rows.length > 0) lines.push(formatTable(['KEY', 'SERVICE', 'REPLICA', 'HEALTH'], rows), '')
  }
  if (report.ok && report.apps.length === 0) lines.push('OK: nothing to check')
  else if (report.ok) {
    const replicas = report.keys.reduce((sum, key) => sum + key.services.reduce((n, service) => n + service.replicas.length, 0), 0)
    const active = report.apps.filter((app) => app.state === 'admitted' || app.state === 'suspect').length
    lines.push(`OK: ${active} app(s), ${replicas} replica(s), all answering`)
  } else {
    for (const problem of report.problems) lines.push(`FAIL: ${problem}`)
  }
  return lines.join('\n') + '\n'
}
