import { POLY1305_WASM } from './poly1305-wasm'

/**
 * Poly1305 (RFC 8439) in WebAssembly (src/poly1305.wat): the tag of `S4.` stream frames. Each
 * instance has its own 64 KB of memory, in which its user keeps the bytes it tags (its scratch
 * buffers are views of that memory), so that tagging a frame copies nothing and calls nothing native.
 */
export interface Poly1305 {
  /** The instance's memory (it never grows, so views of it stay valid). */
  memory: Buffer
  /** Writes at `out` the tag of the `length` bytes at `at` under the key at `key` (r, then s; 32 bytes); offsets in `memory`. */
  tag(key: number, at: number, length: number, out: number): void
}

// What this module uses of the WebAssembly API (Node's types leave it to the DOM library).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; poly1305: Poly1305['tag'] } }
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly
let compiled: object | undefined

/**
 * Whether this process runs WebAssembly: not under `node --jitless`, for one. Without it an app
 * opens and sends no `S4.` frames, as an app of 1.4 (its peers then tag with SHA-256 what they send it).
 */
export const POLY1305_AVAILABLE = typeof wasm === 'object' && wasm !== null

export function createPoly1305(): Poly1305 {
  if (!POLY1305_AVAILABLE) throw new Error('feathers-mesh: Poly1305 tags need WebAssembly, which this process does not run (node --jitless?)')
  compiled ??= new wasm!.Module(Buffer.from(POLY1305_WASM, 'base64'))
  const instance = new wasm!.Instance(compiled)
  return { memory: Buffer.from(instance.exports.memory.buffer), tag: instance.exports.poly1305 }
}

/** The bytes of one WebAssembly page: what an instance's memory holds. */
export const POLY1305_MEMORY = 64 * 1024
