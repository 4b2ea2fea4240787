import createDebug from 'debug'
import type { Announcer } from './announcer'
import type { Membership } from './membership'
import { PROTOCOL_VERSION } from './protocol'
import type { PublishedMessage, ReplyMessage, RequestMessage } from './protocol'
import type { Registry } from './registry'
import { servePing } from './responder'
import type { CallServer } from './responder'

const debug = createDebug('feathers-mesh:dispatch')

interface Parts {
  app: unknown
  uuid: string
  membership: Membership
  registry: Registry
  calls: CallServer
  announcer: Announcer
}

/** A service list as a peer sends it: anything else is dropped before it reaches the registry. */
function validServices(services: unknown): boolean {
  if (!Array.isArray(services) || services.length > 10_000) return false
  const strings = (list: unknown) => Array.isArray(list) && list.every((item) => typeof item === 'string')
  return services.every(
    (s) => s && typeof s === 'object' && typeof s.path === 'string' && typeof s.key === 'string' && strings(s.methods) && (s.internal === undefined || strings(s.internal)) && strings(s.events) && (s.remoteOptions === undefined || (typeof s.remoteOptions === 'object' && s.remoteOptions !== null))
  )
}
const validState = (message: { seq?: unknown; services?: unknown; from?: unknown; key?: unknown }) =>
  typeof message.from === 'string' && typeof message.key === 'string' && Number.isFinite(message.seq) && validServices(message.services)

const badRequest = (message: string): ReplyMessage => ({ ok: false, error: { name: 'BadRequest', className: 'bad-request', code: 400, message, mesh: true } })

/** The receiving end of the protocol: one switch per channel; what it does not know is logged and dropped. */
export { validState }

export function createDispatcher({ app, uuid, membership, registry, calls, announcer }: Parts) {
  const short = uuid.slice(0, 8)
  const incompatible = (message: { v?: unknown }) => `speaks protocol version ${message.v}, this app ${PROTOCOL_VERSION}`

  async function onRequest(message: RequestMessage): Promise<ReplyMessage> {
    if (!message || typeof message !== 'object') return badRequest('malformed request')
    if (message.v !== PROTOCOL_VERSION) {
      membership.refuse(message.from, message.key, incompatible(message))
      return badRequest(`feathers-mesh protocol version ${message.v} is not supported (this app speaks ${PROTOCOL_VERSION})`)
    }
    membership.heard(message.from)
    switch (message.type) {
      case 'hello':
        if (!validState(message)) return badRequest('malformed hello')
        // A hello the peer sends says nothing of our links to it: it is admitted from its answer to
        // ours (sent once they are up), or from what it publishes to us, never from this.
        membership.onAnnounce(message, false)
        if (message.beats === true) membership.beats.ask(message.from)
        // Answered after this turn's other I/O: the subscriber link the asker opened before asking
        // is then accepted, so its proxies, mounted on this answer, miss none of our events.
        await new Promise((resolve) => setImmediate(resolve))
        return { ok: true, value: membership.helloReply() }
      case 'call':
        return calls.serve(message)
      case 'ping':
        return servePing(announcer, message.paths)
      case 'goodbye':
        membership.onGoodbye(message.from, message.key)
        return { ok: true, value: null }
      default:
        debug('%s unknown request type %s dropped', short, (message as { type?: unknown }).type)
        return badRequest('unknown request type')
    }
  }

  function onPublished(message: PublishedMessage) {
    if (!message || typeof message !== 'object' || message.from === uuid) return
    if (message.v !== PROTOCOL_VERSION) return membership.refuse(message.from, message.key, incompatible(message))
    switch (message.type) {
      case 'announce':
        if (!validState(message)) return debug('%s malformed announce from %s dropped', short, message.from)
        return membership.onAnnounce(message)
      case 'heartbeat':
        if (typeof message.from !== 'string' || !Number.isFinite(message.seq)) return
        return membership.onHeartbeat(message)
      case 'goodbye':
        return membership.onGoodbye(message.from, message.key)
      case 'event': {
        // A leaving app's events still count: they come from the calls it drains.
        const peer = membership.heard(message.from)
        if (typeof message.path !== 'string' || typeof message.event !== 'string' || !(peer || membership.leaving(message.from))) return
        // Re-emitted on this app's own service: only from a fellow replica, of the key it announced.
        if (message.sync && (peer ?? membership.departed.get(message.from))?.key === message.key) announcer.replay(message, app)
        registry.deliver(message)
        return
      }
      default:
        debug('%s unknown message type %s dropped', short, (message as { type?: unknown }).type)
    }
  }

  return { onRequest, onPublished }
}
