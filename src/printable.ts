/** A field from the network, fit for a log line or a status: printable ASCII, at most 128 characters. */
export const printable = (text: string) => text.slice(0, 128).replace(/[^\x20-\x7e]/g, '?')
