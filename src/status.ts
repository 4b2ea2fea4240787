import { existsSync, readFileSync } from 'fs'
import path from 'path'
import type { Membership } from './membership'
import { PROTOCOL_VERSION } from './protocol'
import type { Registry } from './registry'
import { LATENCY_BUCKETS, percentiles } from './stats'
import type { Stats } from './stats'
import type { Transport } from './transport'

/** What `app.distribution.status()` and the status service answer. */
export interface MeshStatus {
  app: {
    uuid: string
    key: string
    package: { name: string; version: string }
    protocol: number
    uptime: number
    /** `leaving`: saying goodbye; `draining`: calls in flight finish before the mesh closes. */
    state: 'starting' | 'running' | 'leaving' | 'draining' | 'closed'
    /** How this app finds its peers; `connected` is false while Redis is unreachable; `seen`: apps it sees; `heard`: hellos heard since start. */
    discovery: { mode: 'broadcast' | 'redis'; connected: boolean; seen: number; heard: number }
  }
  peers: Array<{
    uuid: string
    key: string
    /** Host this app reaches the peer on (admitted and suspect peers). */
    host?: string
    state: 'admitted' | 'suspect' | 'refused' | 'leaving' | 'gone'
    reason?: string
    /** ms since the last message from the peer (admitted and suspect peers). */
    lastHeard?: number
    /** Round-trip time of the last hello, in ms. */
    rtt?: number
    services: string[]
  }>
  proxies: Array<{
    path: string
    remotePath: string
    key: string
    inFlight: number
    replicas: Array<{ uuid: string; state: 'admitted' | 'suspect' }>
    calls: Record<string, Record<string, number>>
    /**
     * Latency percentiles over every call since start, in ms (bucket bounds). One past the last
     * bound is left out, and `above` (that bound) says so: JSON has no Infinity.
     */
    latency: { p50?: number; p99?: number; above?: number }
  }>
  counters: {
    calls: Record<string, number>
    retries: number
    eventsIn: number
    eventsOut: number
    /** Heartbeat messages received from peers since start (hellos that stand for them are `app.discovery.heard`). */
    heartbeatsIn: number
    /** Heartbeats published since start: none while every peer takes this app's hellos for them. */
    heartbeatsOut: number
    dropped: Record<string, number>
  }
}

let packageInfo: { name: string; version: string } | undefined
function meshPackage() {
  if (!packageInfo) {
    // lib/ (installed) or build/src/ (tests): the package file is one or two levels up.
    const file = [path.join(__dirname, '..', 'package.json'), path.join(__dirname, '..', '..', 'package.json')].find(existsSync)
    const json = file ? JSON.parse(readFileSync(file, 'utf8')) : {}
    packageInfo = { name: json.name ?? 'feathers-mesh', version: json.version ?? '0.0.0' }
  }
  return packageInfo
}

export interface StatusParts {
  uuid: string
  key: string
  startedAt: number
  heartbeatInterval: number
  membership: Membership
  registry: Registry
  stats: Stats
  transport: Pick<Transport, 'drops' | 'hostOf' | 'discovery'>
}

export function meshStatus(parts: StatusParts): MeshStatus {
  const { membership, registry, stats } = parts
  const now = performance.now()
  const suspectAfter = 2 * parts.heartbeatInterval
  const stateOf = (uuid: string): 'admitted' | 'suspect' => {
    const peer = membership.peers.get(uuid)
    return peer && now - peer.lastSeen > suspectAfter ? 'suspect' : 'admitted'
  }
  const peers: MeshStatus['peers'] = [...membership.peers.values()].map((peer) => ({
    uuid: peer.uuid,
    key: peer.key,
    host: parts.transport.hostOf(peer.uuid),
    state: stateOf(peer.uuid),
    lastHeard: Math.round(now - peer.lastSeen),
    rtt: peer.rtt === undefined ? undefined : Math.round(peer.rtt * 1000) / 1000,
    services: peer.services.map((s) => s.path)
  }))
  for (const refused of membership.refused.values()) peers.push({ ...refused, state: 'refused', services: [] })
  for (const left of membership.departed.values()) {
    peers.push({ uuid: left.uuid, key: left.key, state: left.reason.includes('goodbye') ? 'leaving' : 'gone', reason: left.reason, services: [] })
  }
  const proxies = registry.proxies().map((record) => {
    const calls: Record<string, Record<string, number>> = {}
    const latency = new Array(LATENCY_BUCKETS.length + 1).fill(0)
    for (const entry of stats.methods.values()) {
      if (entry.service !== record.localPath) continue
      calls[entry.method] = { ...entry.outcomes }
      entry.latency.forEach((count, i) => (latency[i] += count))
    }
    return {
      path: record.localPath,
      remotePath: record.remotePath,
      key: record.key,
      inFlight: record.proxy.inFlight,
      replicas: [...record.replicas.replicas.keys()].map((uuid) => ({ uuid, state: stateOf(uuid) })),
      calls,
      latency: percentiles(latency)
    }
  })
  return {
    app: { uuid: parts.uuid, key: parts.key, package: meshPackage(), protocol: PROTOCOL_VERSION, uptime: Math.round((Date.now() - parts.startedAt) / 1000), state: membership.phase, discovery: parts.transport.discovery() },
    peers,
    proxies,
    counters: { calls: stats.totals(), retries: stats.retries, eventsIn: stats.eventsIn, eventsOut: stats.eventsOut, heartbeatsIn: membership.heartbeatsIn, heartbeatsOut: membership.heartbeatsOut, dropped: { ...parts.transport.drops } }
  }
}
