import { readFileSync } from 'fs'
import type { Env } from './checks'

const MIN_SECRET_LENGTH = 16

/** The option wins over FEATHERS_MESH_SECRET, which wins over FEATHERS_MESH_SECRET_FILE. */
export function resolveSecrets(secret: unknown, env: Env): string[] {
  let secrets: unknown[]
  let source = 'option secret'
  if (secret !== undefined) secrets = Array.isArray(secret) ? secret : [secret]
  else if (env.FEATHERS_MESH_SECRET) {
    secrets = [env.FEATHERS_MESH_SECRET]
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
