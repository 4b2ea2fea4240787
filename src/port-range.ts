import { envNumber } from './checks'
import type { Env } from './checks'

const MAX_PORT = 65_535
/** The default width of the range: the highest port is the base + 1000. */
const DEFAULT_PORT_RANGE = 1000

/** Where the mesh's two TCP ports are taken from, and the names of the settings that gave it (for messages). */
export interface PortRange {
  basePort?: number
  highestPort?: number
  portNames?: readonly [string, string]
}

function checkPort(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PORT) {
    throw new TypeError(`feathers-mesh: ${name} must be a TCP port (1-${MAX_PORT}), got ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * The range of the mesh's ports: `cote.basePort` and `cote.highestPort` (feathers-distributed's
 * options) win over BASE_PORT and HIGHEST_PORT. Without a base port the OS picks the ports, and
 * HIGHEST_PORT alone is ignored; `cote.highestPort` alone, an explicit option, is refused.
 */
export function portRange(coteBase: unknown, coteHighest: unknown, env: Env): PortRange {
  const fromEnv = envNumber(env, 'BASE_PORT')
  const baseName = coteBase !== undefined ? 'option cote.basePort' : 'BASE_PORT'
  if (coteBase === undefined && fromEnv === undefined) {
    if (coteHighest !== undefined) throw new TypeError('feathers-mesh: option cote.highestPort needs cote.basePort (or BASE_PORT)')
    return {}
  }
  const basePort = checkPort(baseName, coteBase ?? fromEnv)
  const envHighest = envNumber(env, 'HIGHEST_PORT')
  const highestName = coteHighest !== undefined ? 'option cote.highestPort' : 'HIGHEST_PORT'
  const highestPort = checkPort(highestName, coteHighest ?? envHighest ?? Math.min(basePort + DEFAULT_PORT_RANGE, MAX_PORT))
  if (highestPort <= basePort) {
    throw new TypeError(`feathers-mesh: ${highestName} (${highestPort}) must be above ${baseName} (${basePort}): the mesh needs two ports`)
  }
  const short = (name: string) => name.replace('option ', '')
  return { basePort, highestPort, portNames: [short(baseName), short(highestName)] }
}
