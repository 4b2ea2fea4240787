import type { Membership } from './membership'
import { PROTOCOL_VERSION } from './protocol'
import type { PingReply, ReplyMessage } from './protocol'
import type { Transport } from './transport'

export interface HealthReport {
  status: 200 | 404 | 503
  body: Record<string, unknown>
}

/**
 * Probes every replica of a key at once, each bounded by `timeout`, so the answer comes within
 * that time whatever the call timeout is.
 */
export async function checkHealth(key: string, membership: Membership, transport: Transport, uuid: string, ownKey: string, timeout: number): Promise<HealthReport> {
  const peers = [...membership.peers.values()].filter((peer) => peer.key === key)
  if (peers.length === 0) {
    const refused = [...membership.refused.values()].filter((peer) => peer.key === key)
    return { status: 404, body: { key, message: `No app of key ${key} is known`, ...(refused.length > 0 ? { refused } : {}) } }
  }
  // Without a prototype: a path may be named toString or constructor.
  const services: Record<string, string[]> = Object.create(null)
  const failures: Array<{ uuid: string; paths: string[]; reason: string }> = []
  await Promise.all(
    peers.map(async (peer) => {
      const paths = peer.services.map((s) => s.path)
      try {
        const reply = (await transport.request(peer.uuid, { v: PROTOCOL_VERSION, type: 'ping', from: uuid, key: ownKey, paths }, timeout)) as ReplyMessage
        const missing = reply.ok ? (reply.value as PingReply).missing : paths
        if (missing.length > 0) failures.push({ uuid: peer.uuid, paths: missing, reason: 'not served any more' })
        for (const path of paths) if (!missing.includes(path)) (services[path] ??= []).push(peer.uuid)
      } catch (error: any) {
        failures.push({ uuid: peer.uuid, paths, reason: error.reason === 'timeout' ? `no answer within ${timeout} ms` : error.message })
      }
    })
  )
  // Refused peers neither fail nor pass the check: they are listed so an operator sees them.
  const refused = [...membership.refused.values()].filter((peer) => peer.key === key)
  const extra = refused.length > 0 ? { refused } : {}
  if (failures.length > 0) return { status: 503, body: { key, services, unavailable: failures, ...extra } }
  return { status: 200, body: { key, services, ...extra } }
}
