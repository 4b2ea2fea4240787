import type { OpenResult } from '../../src/security'

/** Runs `action` with Date.now() moved by `ms`: frames sealed or opened as if at another time. */
export function shifted<T>(ms: number, action: () => T): T {
  const now = Date.now
  Date.now = () => now() + ms
  try {
    return action()
  } finally {
    Date.now = now
  }
}

/** What became of a frame: `opened`, or why it was refused. */
export const reason = (result: OpenResult) => (result.ok ? 'opened' : result.reason)

/** The frame with one bit of the byte at `index` flipped. */
export function flip(frame: Buffer, index: number) {
  const copy = Buffer.from(frame)
  copy[index] ^= 0x10
  return copy
}
