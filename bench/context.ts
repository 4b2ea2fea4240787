/** What run.ts hands each figure: the run's settings and the process sets that figures share. */
import type { CallPair, HttpPair } from './pairs'

export interface BenchSettings {
  /** Shorter loops everywhere (a smoke run of the harness, not a measurement). */
  quick: boolean
  /** Length of the idle-cost window, in seconds. */
  idleSeconds: number
  /** Length of the idle window of each mesh of the scale part, in seconds. */
  scaleSeconds: number
}

export interface Context {
  settings: BenchSettings
  /** The feathers-mesh and raw cote call pairs (started on first use, shared by figures 1, 2, 8, 9). */
  calls(): Promise<{ mesh: CallPair; raw: CallPair }>
  /** The HTTP service and its gateway (shared by figures 3 and 4). */
  http(): Promise<HttpPair>
}
