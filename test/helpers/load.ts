/** A bounded stream of calls: `concurrency` loops, each calling `call` until `stop()` or `maxCalls`. */
export interface CallRecord {
  started: number
  ended: number
  ok: boolean
  value?: any
  error?: any
}

export function load(call: (i: number) => Promise<any>, { concurrency = 4, maxCalls = 20000, maxMs = 30000 } = {}) {
  const records: CallRecord[] = []
  const started = Date.now()
  let stopped = false
  let count = 0
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped && count < maxCalls && Date.now() - started < maxMs) {
      const record: CallRecord = { started: Date.now(), ended: 0, ok: false }
      const i = count++
      try {
        record.value = await call(i)
        record.ok = true
      } catch (error) {
        record.error = error
      }
      record.ended = Date.now()
      records.push(record)
    }
  })
  return {
    records,
    failures: () => records.filter((r) => !r.ok),
    async stop() {
      stopped = true
      await Promise.all(loops)
      return records
    }
  }
}
