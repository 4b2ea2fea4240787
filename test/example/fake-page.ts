/**
 * Runs the inline script of example/public/index.html in Node against a running gateway, with
 * just enough DOM for it (elements by id, forms, lists), so the page's logic is tested without a
 * browser. Input values start from the HTML's `value` attributes, as a browser's would.
 */
import { io } from 'socket.io-client'
import type { Socket } from 'socket.io-client'

type Listener = (event: { preventDefault(): void }) => unknown

export class FakeElement {
  textContent = ''
  value = ''
  className = ''
  children: Array<FakeElement | string> = []
  private listeners: Record<string, Listener[]> = {}

  addEventListener(type: string, listener: Listener) {
    ;(this.listeners[type] ??= []).push(listener)
  }
  replaceChildren() {
    this.children = []
  }
  append(...nodes: Array<FakeElement | string>) {
    this.children.push(...nodes)
  }
  /** Dispatches an event and waits for the page's (async) handlers to finish. */
  async fire(type: string) {
    await Promise.all((this.listeners[type] ?? []).map((listener) => listener({ preventDefault() {} })))
  }
  get text(): string {
    return this.children.length === 0 ? this.textContent : this.children.map((child) => (typeof child === 'string' ? child : child.text)).join('')
  }
}

export interface FakePage {
  el(id: string): FakeElement
  socket: Socket
  close(): void
}

export function loadPage(html: string, url: string): FakePage {
  const elements = new Map<string, FakeElement>()
  const el = (id: string) => {
    if (!elements.has(id)) elements.set(id, new FakeElement())
    return elements.get(id)!
  }
  for (const match of html.matchAll(/<input id="([^"]+)"[^>]*?\svalue="([^"]*)"/g)) el(match[1]).value = match[2]
  const storage = new Map<string, string>()
  const sessionStorage = {
    getItem: (key: string) => storage.get(key) ?? null,
    setItem: (key: string, value: string) => void storage.set(key, value),
    removeItem: (key: string) => void storage.delete(key)
  }
  const document = { getElementById: el, createElement: () => new FakeElement() }
  // The page calls io() for its own origin; here that origin is the gateway under test.
  const socket = io(url, { transports: ['websocket'] })
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]
  new Function('document', 'io', 'sessionStorage', script)(document, () => socket, sessionStorage)
  return { el, socket, close: () => socket.close() }
}
