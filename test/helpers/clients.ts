import { feathers } from '@feathersjs/feathers'
import socketioClient from '@feathersjs/socketio-client'
import { io } from 'socket.io-client'
import type { Socket } from 'socket.io-client'

/** A Feathers socket.io client of `url`; close it with `client.io.close()`. */
export async function socketClient(url: string) {
  const socket: Socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
  const client: any = feathers()
  const connection = socketioClient(socket, { timeout: 5000 })
  client.configure(connection)
  client.io = socket
  // `client.rest` is the raw connection, for registering services with custom methods.
  client.rest = connection
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', reject)
  })
  return client
}

/** JSON over HTTP; resolves with status and body whatever the status. */
export async function http(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body)
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}
