import { Buffer } from 'buffer'
import type { Drops } from './drops'
import type { FrameSource } from './frames'
import { headerOf, isSealed } from './message-frames'
import { streamTagOf } from './stream-fields'
import type { Sealer } from './security'
import type { Part } from './wire'
import type { Text } from './json-pieces'
import { isWireText, SlicedText } from './sliced-text'
import type { WireText } from './sliced-text'
import type { Channel, StreamTag } from './streams'

/** An opened frame: its text and, when it was sealed, the sender it proved to be. */
export interface Opened {
  text: WireText
  from?: string
}

export interface Gate {
  /**
   * A frame addressed to us (`to`: our uuid, or `*` when published), or undefined when dropped.
   * `peer`: the app this app opened the connection to. A frame proven to come from another app
   * (even a replayed one) shows that app took the peer's ports: the peer is forgotten, and the frame
   * (the other app's own, sealed for every subscriber) opens as any other.
   */
  open(frame: unknown, to: string, origin: string, channel: Channel, context?: string, peer?: string): Opened | undefined
  /**
   * The frame part carrying `text` to `to`: the text itself, or the sealed bytes when there is a
   * secret, on `channel`'s stream when given (the recipient speaks 1.3), tagged with `tag` (1.4
   * for `sha256`, 1.5 for `poly1305`); a frame sealed on its own is bound to `kind` (the channel
   * when not given) and `context` (s1-binding.ts). Write it before the next seal: a stream frame's list of pieces, and its last piece, are reused.
   */
  seal(text: Text, to: string, channel?: Channel, context?: string, tag?: StreamTag, kind?: Channel): Part
  /** The kind of a stream-sealed frame part, or undefined when it is not one. */
  streamed(frame: unknown): StreamTag | undefined
}

/**
 * Where frames enter and leave: sealing with the mesh secret, opening, and refusing. A connection
 * that sends what no mesh peer would (garbage, an unsealed or foreign frame) is cut, so a flood
 * costs one frame per connection.
 */
export function createGate(
  sealer: Sealer | undefined,
  uuid: string,
  drops: Drops,
  source: FrameSource,
  onRefused: (from: string, key: string, reason: string) => void,
  onStranger: (peer: string) => void
): Gate {
  const cut = () => source.current?.destroy()
  // The claimed partition of a sealed frame (unauthenticated: for the operator only).
  const partitionOf = (frame: Buffer) => {
    const header = headerOf(frame) ?? ''
    const idDot = header.lastIndexOf('.', header.lastIndexOf('.') - 1)
    return idDot > 0 ? header.slice(0, idDot) : '?'
  }
  const refuseSealed = (frame: Buffer, reason: string) => {
    const partition = partitionOf(frame)
    onRefused(`sealed:${partition}`, partition, reason)
  }

  return {
    seal: (text, to, channel, context, tag, kind) => (sealer ? sealer.seal(text, to, channel, context, tag, kind) : text),

    streamed: streamTagOf,

    open(frame, to, origin, channel, context, peer) {
      if (!sealer) {
        if (isWireText(frame)) return { text: frame }
        cut()
        if (!isSealed(frame)) return void drops.note('not a text frame', origin)
        drops.note('sealed, and this app has no secret', origin)
        return void refuseSealed(frame, 'seals its messages with a mesh secret this app does not have')
      }
      if (!Buffer.isBuffer(frame)) {
        cut()
        drops.note('not sealed', origin)
        // For the operator only: who sent it is a claim, not a proof.
        const head = typeof frame === 'string' ? frame : frame instanceof SlicedText ? frame.around[0] : undefined
        const claim = head === undefined ? null : /"from":"([^"]{1,64})","key":"([^"]{1,128})"/.exec(head.slice(0, 300))
        if (claim) onRefused(claim[1], claim[2], 'sends unsealed messages (it has no mesh secret)')
        return undefined
      }
      const opened = sealer.open(frame, to === '*' ? uuid : to, channel, context)
      if (peer !== undefined && opened.from !== undefined && opened.from !== peer) onStranger(peer)
      if (opened.ok) return opened
      // A replay or a stale frame may come over a real peer's connection: only unauthenticated frames cut it.
      if (opened.from === undefined) cut()
      drops.note(opened.reason, opened.from ?? origin)
      if (opened.reason === 'unknown secret') {
        refuseSealed(frame, 'seals its messages with another mesh secret')
      }
      return undefined
    }
  }
}
