import net from 'net'

/** Resolves after `ms` without keeping the process alive: only for races against a deadline. */
export function deadline(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** Polls until `check` returns a value (not undefined), or fails with what it last saw. */
export async function poll<T>(what: string, check: () => Promise<T | undefined>, timeout = 10000, interval = 100): Promise<T> {
  const end = Date.now() + timeout
  let last: unknown = 'nothing yet'
  while (Date.now() < end) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`)
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, () => server.close(() => resolve(true)))
  })
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Sockets of this process by remote or local port (a consumer's links, a server's accepted connections). */
export function socketsBy(side: 'remote' | 'local', port: number): net.Socket[] {
  return (process as any)._getActiveHandles().filter((handle: unknown) => handle instanceof net.Socket && (side === 'remote' ? handle.remotePort : handle.localPort) === port)
}
