declare module 'cote' {
  class Component {
    constructor(advertisement: Record<string, unknown>, discoveryOptions?: Record<string, unknown>)
    on(event: string, listener: (...args: any[]) => void): this
    close(): void
  }
  export class Requester extends Component {
    send(message: Record<string, unknown>, callback?: (err: unknown, result: unknown) => void): unknown
  }
  export class Responder extends Component {}
  export class Publisher extends Component {
    publish(topic: string, data: unknown): void
  }
  export class Subscriber extends Component {}
  const cote: { Requester: typeof Requester; Responder: typeof Responder; Publisher: typeof Publisher; Subscriber: typeof Subscriber }
  export default cote
}
