// What the browser JavaScript uses without importing it, declared for the type check (tsconfig.json)
// only: socket.io's client (a script NiceGUI loads) and what the early start leaves on `window`.

/** The part of socket.io's client Socket that SkyCall uses. */
interface SignalSocket {
  readonly connected: boolean;
  on(event: string, handler: (payload: any) => void): this;
  emit(event: string, ...args: any[]): this;
  timeout(ms: number): { emitWithAck(event: string, ...args: any[]): Promise<any> };
  connect(): this;
  disconnect(): this;
}

declare function io(options: { path: string; transports: string[] }): SignalSocket;

interface Window {
  /** Started by EARLY_START (call_view.py) before Vue; each is taken (and set to null) once. */
  skycallEarly?: { socket: SignalSocket | null; media: Promise<MediaStream> | null | undefined };
}
