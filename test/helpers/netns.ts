/**
 * Several "hosts" on this machine: network namespaces joined by veth pairs to a bridge that lives
 * in a namespace of its own, so no packet of theirs reaches this machine's own interfaces. Addresses
 * come from 198.18.0.0/15, the range reserved for network tests. Everything is torn down by
 * `destroy()` (deleting a namespace deletes its links), and namespaces left by a run that died are
 * removed by the next one.
 */
import { execFileSync } from 'child_process'

const PREFIX = 'fmesh'

function ip(...args: string[]) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** `[command, args]` running `command` inside a namespace (or as is without one). */
export function inNamespace(netns: string | undefined, command: string, args: string[]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, command, ...args]] : [command, args]
}

function alive(pid: number) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Namespaces of earlier runs whose test process is gone (a SIGKILLed run cannot clean up). */
function removeStale() {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0])
  for (const name of names) {
    const match = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)
    if (match && !alive(Number(match[1]))) ip('netns', 'delete', name)
  }
}

export class Hosts {
  readonly names: string[]
  private readonly switchName: string
  readonly subnet: string

  private constructor(count: number) {
    const tag = `${PREFIX}${process.pid}-`
    this.switchName = `${tag}sw`
    this.names = Array.from({ length: count }, (_, i) => `${tag}h${i + 1}`)
    this.subnet = `198.18.${(process.pid % 250) + 1}`
  }

  /** `count` hosts on one bridged /24; host i (from 0) has address `{subnet}.{i + 1}`. */
  static create(count: number): Hosts {
    removeStale()
    const hosts = new Hosts(count)
    try {
      hosts.build()
    } catch (error) {
      hosts.destroy()
      throw error
    }
    return hosts
  }

  address(i: number) {
    return `${this.subnet}.${i + 1}`
  }

  get broadcast() {
    return `${this.subnet}.255`
  }

  /** Cuts host i off the bridge, like a pulled cable. */
  cut(i: number) {
    ip('-n', this.switchName, 'link', 'set', `v${i + 1}`, 'down')
  }

  restore(i: number) {
    ip('-n', this.switchName, 'link', 'set', `v${i + 1}`, 'up')
  }

  destroy() {
    for (const name of [...this.names, this.switchName]) {
      try {
        ip('netns', 'delete', name)
      } catch {
        // never created, or already gone
      }
    }
  }

  private build() {
    const sw = this.switchName
    ip('netns', 'add', sw)
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', sw, 'link', 'set', 'br0', 'up')
    this.names.forEach((name, i) => {
      ip('netns', 'add', name)
      ip('-n', name, 'link', 'set', 'lo', 'up')
      ip('-n', sw, 'link', 'add', `v${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name)
      ip('-n', sw, 'link', 'set', `v${i + 1}`, 'master', 'br0')
      ip('-n', sw, 'link', 'set', `v${i + 1}`, 'up')
      ip('-n', name, 'addr', 'add', `${this.address(i)}/24`, 'broadcast', this.broadcast, 'dev', 'eth0')
      ip('-n', name, 'link', 'set', 'eth0', 'up')
    })
  }
}
