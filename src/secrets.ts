import { readFileSync } from 'fs'
import type { Env } from './checks'

const MIN_SECRET_LENGTH = 16

/**
 * The option wins over FEATHERS_MESH_SECRET, which wins over FEATHERS_MESH_SECRET_FILE. A variable
 * set but empty is an error, not "no secret": `FEATHERS_MESH_SECRET="$(cat missing-file)"` must
 * not start an open mesh (an empty one beside a file variable only gives way to it).
 */
export function resolveSecrets(secret: unknown, env: Env): string[] {
  let secrets: unknown[]
  let source = 'option secret'
  // Taken as set, not trimmed: apps of earlier versions derive their keys from it as it is.
  const value = env.FEATHERS_MESH_SECRET?.trim() === '' ? '' : env.FEATHERS_MESH_SECRET
  if (secret === undefined && value === '' && !env.FEATHERS_MESH_SECRET_FILE) {
    throw new TypeError('feathers-mesh: FEATHERS_MESH_SECRET is set but empty: give it the secret, or unset it to run without one')
  }
  if (secret === undefined && env.FEATHERS_MESH_SECRET_FILE === '' && !value) {
    throw new TypeError('feathers-mesh: FEATHERS_MESH_SECRET_FILE is set but empty: give it the path of the secret file, or unset it to run without a secret')
  }
  if (secret !== undefined) secrets = Array.isArray(secret) ? secret : [secret]
  else if (value) {
    secrets = [value]
    source = 'FEATHERS_MESH_SECRET'
  } else if (env.FEATHERS_MESH_SECRET_FILE) {
    source = `FEATHERS_MESH_SECRET_FILE (${env.FEATHERS_MESH_SECRET_FILE})`
    let text: string
    try {
      text = readFileSync(env.FEATHERS_MESH_SECRET_FILE, 'utf8')
    } catch (error) {
      throw new Error(`feathers-mesh: cannot read ${source}: ${(error as Error).message}`)
    }
    secrets = text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean)
    if (secrets.length === 0) throw new Error(`feathers-mesh: ${source} holds no secret`)
  } else return []
  for (const value of secrets) {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) {
      throw new TypeError(`feathers-mesh: ${source} must be strings of at least ${MIN_SECRET_LENGTH} characters (a long random value)`)
    }
  }
  if (secrets.length === 0) throw new TypeError(`feathers-mesh: ${source} is an empty list`)
  return secrets as string[]
}
