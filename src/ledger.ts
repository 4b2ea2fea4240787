/**
 * Which requests went to each peer and came from each peer, by id, so that a goodbye leaves no
 * call behind. A leaving app's goodbye is answered with the id of the last request the peer sent
 * it (`lastRequest`), and the leaving app waits until that request has arrived before it drains
 * its calls and closes. Calls and goodbye answers travel on two connections, so without this a
 * call written just before the answer could be read after the app had closed.
 *
 * Request ids are an app's own counter, in decimal: a peer's requests reach us in increasing order
 * on one connection, so "the request with this id has arrived" is "the highest id seen is at least it".
 * Without a secret, senders are who they claim to be: a forged request can end a wait early (or a
 * forged answer make a goodbye wait its full second), as it could also say goodbye for another app.
 */
const MAX_PEERS = 10_000 // peers remembered; the one first seen goes first (a flood of forged senders stays bounded)

interface Waiter {
  id: number
  done: () => void
}

export class RequestLedger {
  private readonly sentTo = new Map<string, string>()
  private readonly receivedFrom = new Map<string, number>()
  private readonly waiters = new Map<string, Waiter[]>()

  /** A request was written to `peer`. */
  sent(peer: string, id: string) {
    remember(this.sentTo, peer, id)
  }

  /** The id of the last request written to `peer`, if any. */
  lastSentTo(peer: string): string | undefined {
    return this.sentTo.get(peer)
  }

  /** A request from `peer` arrived (and is being handled). */
  received(peer: string, id: string) {
    const n = Number(id)
    if (!Number.isSafeInteger(n) || n <= (this.receivedFrom.get(peer) ?? 0)) return
    remember(this.receivedFrom, peer, n)
    const waiting = this.waiters.get(peer)
    if (!waiting) return
    const still = waiting.filter((waiter) => waiter.id > n)
    for (const waiter of waiting) if (waiter.id <= n) waiter.done()
    if (still.length > 0) this.waiters.set(peer, still)
    else this.waiters.delete(peer)
  }

  /**
   * Resolves once the request `id` from `peer` has arrived, or after `ms`. Never rejects: a
   * request that does not come must not keep an app from closing.
   */
  whenReceived(peer: string, id: string, ms: number): Promise<void> {
    const n = Number(id)
    if (!Number.isSafeInteger(n) || n <= (this.receivedFrom.get(peer) ?? 0) || !(ms > 0)) return Promise.resolve()
    return new Promise((resolve) => {
      const waiter: Waiter = {
        id: n,
        done: () => {
          clearTimeout(timer)
          resolve()
        }
      }
      const timer = setTimeout(() => {
        const waiting = this.waiters.get(peer)?.filter((other) => other !== waiter)
        if (waiting?.length) this.waiters.set(peer, waiting)
        else this.waiters.delete(peer)
        resolve()
      }, ms)
      timer.unref()
      const waiting = this.waiters.get(peer)
      if (waiting) waiting.push(waiter)
      else this.waiters.set(peer, [waiter])
    })
  }

  /**
   * This app's connection to the peer closed: no request of ours is on its way there any more.
   * What came from the peer stays (it came on the peer's own connection, which may still be open,
   * and a goodbye may still wait for a request on it); it is bounded, and waits end at their deadline.
   */
  forgetSent(peer: string) {
    this.sentTo.delete(peer)
  }
}

function remember<T>(map: Map<string, T>, peer: string, value: T) {
  if (map.size >= MAX_PEERS && !map.has(peer)) map.delete(map.keys().next().value as string)
  map.set(peer, value)
}
