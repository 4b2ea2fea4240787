import { describe, envNumber } from './checks'
import type { Env } from './checks'

const MAX_PORT = 65_535
/** The default width of the range: the highest port is the base + 1000. */
const DEFAULT_PORT_RANGE = 1000

/** Where the mesh's two TCP ports are taken from, and the names of the settings that gave it (for messages). */
export interface PortRange {
  basePort?: number
  highestPort?: number
  /** The base's setting, and the highest port's ('' for the default, base + 1000). */
  portNames?: readonly [string, string]
}

function checkPort(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PORT) {
    throw new TypeError(`feathers-mesh: ${name} must be a TCP port (1-${MAX_PORT}), got ${describe(value)}`)
  }
  return value
}

/**
 * The range of the mesh's ports, from one pair of settings: `cote.basePort` and `cote.highestPort`
 * (feathers-distributed's options), else BASE_PORT and HIGHEST_PORT. Without a base port the OS
 * picks the ports; HIGHEST_PORT alone is ignored, and `cote.highestPort` alone, an explicit option,
 * refused.
 */
export function portRange(coteBase: unknown, coteHighest: unknown, env: Env): PortRange {
  if (coteBase === undefined && coteHighest !== undefined) throw new TypeError('feathers-mesh: option cote.highestPort needs cote.basePort')
  const [baseName, highestName] = coteBase !== undefined ? ['option cote.basePort', 'option cote.highestPort'] : ['BASE_PORT', 'HIGHEST_PORT']
  const base = coteBase ?? envNumber(env, 'BASE_PORT')
  if (base === undefined) return {}
  const basePort = checkPort(baseName, base)
  const highest = coteBase !== undefined ? coteHighest : envNumber(env, 'HIGHEST_PORT')
  const highestPort = highest === undefined ? Math.min(basePort + DEFAULT_PORT_RANGE, MAX_PORT) : checkPort(highestName, highest)
  const highestLabel = highest === undefined ? `${baseName} + ${DEFAULT_PORT_RANGE}` : highestName
  if (highestPort <= basePort) {
    throw new TypeError(`feathers-mesh: ${highestLabel} (${highestPort}) must be above ${baseName} (${basePort}): the mesh needs two ports`)
  }
  const short = (name: string) => name.replace('option ', '')
  return { basePort, highestPort, portNames: [short(baseName), highest === undefined ? '' : short(highestName)] }
}
