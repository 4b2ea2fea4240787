import * as errors from '@feathersjs/errors'
import { FeathersError } from '@feathersjs/errors'
import type { WireError } from './protocol'
import { decode, encode } from './codec'

type ErrorClass = new (message?: string, data?: unknown) => FeathersError
const errorClasses = errors as unknown as Record<string, ErrorClass>

/** Puts any thrown value into wire form, keeping a plain `Error`'s name and message. */
export function errorToWire(error: unknown): WireError {
  if (error instanceof FeathersError) {
    return {
      name: error.name,
      message: error.message,
      className: error.className,
      code: error.code,
      data: safeEncode(error.data),
      errors: safeEncode(error.errors)
    }
  }
  if (error instanceof Error) return { name: error.name, message: error.message }
  if (typeof error === 'string') return { name: 'Error', message: error }
  return { name: 'Error', message: safeStringify(error) }
}

/**
 * Rebuilds the provider's error on the caller. A known Feathers class comes back as itself;
 * the caller's stack (captured when the call started) is kept so the trace points at user code.
 */
export function errorFromWire(wire: WireError, callerStack?: string): Error {
  let error: Error
  const Class = wire.className ? findClass(wire.name) : undefined
  if (Class) {
    // Data set after the constructor: Feathers' takes `data.message` and `data.errors` out of it.
    error = new Class(wire.message)
    const feathersError = error as any
    const data = decode(wire.data)
    if (data !== undefined && data !== null) feathersError.data = data
    if (wire.errors !== undefined && wire.errors !== null) feathersError.errors = decode(wire.errors)
    if (wire.code !== undefined && feathersError.code !== wire.code) feathersError.code = wire.code
    if (feathersError.name !== wire.name) feathersError.name = wire.name
  } else if (wire.code !== undefined) {
    // A FeathersError subclass we do not know by name: keep its code, name and data.
    const generic: any = new FeathersError(wire.message, wire.name, wire.code, wire.className ?? 'general-error', undefined)
    const data = decode(wire.data)
    if (data !== undefined && data !== null) generic.data = data
    if (wire.errors !== undefined && wire.errors !== null) generic.errors = decode(wire.errors)
    error = generic
  } else {
    error = new Error(wire.message)
    error.name = wire.name
  }
  if (callerStack) error.stack = `${error.name}: ${error.message}\n${callerStack}`
  return error
}

function findClass(name: string): ErrorClass | undefined {
  const Class = Object.prototype.hasOwnProperty.call(errorClasses, name) ? errorClasses[name] : undefined
  return typeof Class === 'function' && Class.prototype instanceof FeathersError ? Class : undefined
}

/** An error's `data` or `errors` as they can travel; left out when they cannot (a text in their place would be spread into an object of characters). */
function safeEncode(value: unknown): unknown {
  try {
    return encode(value)
  } catch {
    return undefined
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** The call has outlived `timeout`. */
export function timeoutError(path: string, method: string, timeout: number): errors.Timeout {
  return new errors.Timeout(`Remote call ${path}.${method} timed out after ${timeout} ms`, { path, method, timeout })
}

/** No replica is left to serve the call, or the replica died with the call in flight. */
export function unavailableError(path: string, method: string, reason: string): errors.Unavailable {
  return new errors.Unavailable(`Remote service ${path} is unavailable for ${method}: ${reason}`, { path, method })
}

/** The provider does not distribute this method: refused before anything is sent. */
export function methodNotAllowedError(path: string, method: string): errors.MethodNotAllowed {
  return new errors.MethodNotAllowed(`Method ${method} is not distributed by remote service ${path}`, { path, method })
}

/** A message over `maxPayload`: refused before it is sent. */
export function payloadTooLargeError(path: string, method: string, detail: string): FeathersError {
  return new FeathersError(`Remote call ${path}.${method} refused: ${detail}`, 'PayloadTooLarge', 413, 'payload-too-large', { path, method })
}
