/** Validation of options and environment variables: every message names the option and the value. */
import type { ServiceFilter } from './options'

export type Env = Record<string, string | undefined>

/** A value for an error message: JSON where it can be, else what it is (a function stringifies to nothing). */
export function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'symbol') return value.toString()
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return `an ${typeof value} that cannot be shown`
  }
}

const KEY_PATTERN = /^[A-Za-z0-9._@/-]{1,128}$/

/** Reads a non-negative integer (ms or port) from the environment; a bad value names the variable. */
export function envNumber(env: Env, name: string): number | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  // Digits only: Number() would also take `0x10`, `1e3` and a blank value (as 0).
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(value)) throw new Error(`feathers-mesh: environment variable ${name} must be a non-negative integer, got "${raw}"`)
  return value
}

/** `COTE_LOG=false` (or 0/no/off) means off: feathers-distributed read any non-empty value as on. */
export function envBoolean(env: Env, name: string): boolean | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  return !['false', '0', 'no', 'off'].includes(raw.trim().toLowerCase())
}

export function toPredicate<T extends { path: string }>(name: string, filter: ServiceFilter<T> | undefined): (item: T) => boolean {
  if (filter === undefined) return () => true
  if (typeof filter === 'function') return filter
  if (Array.isArray(filter) && filter.every((p) => typeof p === 'string')) {
    const paths = new Set(filter.map(stripSlashes))
    return (item) => paths.has(stripSlashes(item.path))
  }
  throw new TypeError(`feathers-mesh: option ${name} must be an array of paths or a function, got ${describe(filter)}`)
}

/** The longest a Node timer waits (about 24.8 days): a longer delay fires after 1 ms. */
export const MAX_MS = 2 ** 31 - 1

/** `min` is 1 where 0 would mean "no deadline" to the timer it arms (healthcheckTimeout). */
export function checkMs(name: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_MS) {
    throw new TypeError(`feathers-mesh: option ${name} must be a number of milliseconds from ${min} to ${MAX_MS}, got ${describe(value)}`)
  }
  return value
}

export function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`feathers-mesh: option ${name} must be true or false, got ${describe(value)}`)
  return value
}

export function checkCount(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`feathers-mesh: option ${name} must be an integer >= 0, got ${describe(value)}`)
  }
  return value
}

export function checkList(name: string, value: unknown, fallback: string[]): string[] {
  if (value === undefined) return fallback
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new TypeError(`feathers-mesh: option ${name} must be an array of strings, got ${describe(value)}`)
  }
  return [...new Set(value)]
}

export function stripSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

/** A service's path as Feathers keys it in `app.services`: without slashes around it, and `/` for the root. */
export const servicePath = (path: string): string => stripSlashes(path) || '/'

export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new TypeError(`feathers-mesh: option key must be 1-128 characters of letters, digits and . _ @ / -, got ${describe(key)}`)
  }
  return key
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}


export function checkPath(name: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback
  if (value === false) return false
  if (typeof value !== 'string' || stripSlashes(value) === '') throw new TypeError(`feathers-mesh: option ${name} must be a path or false, got ${describe(value)}`)
  return `/${stripSlashes(value)}`
}
