import { Drops } from '../../src/drops'
import { createGate } from '../../src/gate'
import { RequestLedger } from '../../src/ledger'
import type { Wiring } from '../../src/wiring'

/** What the parts of a transport share, for unit tests of one part: no secret, no frame source. */
export function testWiring(uuid = 'me'): Wiring {
  const drops = new Drops(uuid)
  return {
    uuid,
    short: uuid,
    options: { maxPayload: 0, maxBacklog: 1024 * 1024 },
    drops,
    gate: createGate(undefined, uuid, drops, {}, () => undefined, () => undefined),
    streams: true,
    streamTag: 'poly1305',
    ledger: new RequestLedger()
  }
}
