// Talking to the signaling server (docs/protocol.md): the socket.io connection and requests that
// get either the server's reply or, in time, a clear error. Nothing here knows about the page.
//
// The early start: EARLY_START in call_view.py opens this socket (and asks for the camera, see
// media.js) in a module script that runs before Vue does. Signaling adopts that socket instead of
// opening a second one, which puts the connection about a tenth of a second ahead.

/** @typedef {{ok: boolean, code?: string, message?: string, [field: string]: any}} Reply */

/** How long a request waits for the server's acknowledgement. */
export const REQUEST_TIMEOUT_MS = 5000;
/** Joining can wait on Redis and another worker: a little longer, but it too ends. */
export const JOIN_TIMEOUT_MS = 10000;

/** @param {string} message @returns {Reply} */
export function timeoutReply(message) {
  return { ok: false, code: "timeout", message };
}

export class Signaling {
  /** @param {string} path where socket.io listens */
  constructor(path) {
    const early = window.skycallEarly?.socket;
    if (window.skycallEarly) window.skycallEarly.socket = null;
    /** @type {SignalSocket} */
    this.socket = early ?? io({ path, transports: ["websocket"] });
  }

  get connected() {
    return this.socket.connected;
  }

  /** Run `handler` on every connection, including one made before we listened. @param {() => void} handler */
  onConnect(handler) {
    this.socket.on("connect", handler);
    if (this.socket.connected) handler();
  }

  /** @param {string} event @param {(payload: any) => void} handler */
  on(event, handler) {
    this.socket.on(event, handler);
  }

  /** Send without waiting for an answer. @param {string} event @param {object} payload */
  send(event, payload) {
    this.socket.emit(event, payload);
  }

  /**
   * Send and wait for the acknowledgement; no answer in time becomes an error reply, never a hang.
   * @param {string} event @param {object} payload @param {number} [timeout] ms
   * @returns {Promise<Reply>}
   */
  async request(event, payload, timeout = REQUEST_TIMEOUT_MS) {
    try {
      const reply = await this.socket.timeout(timeout).emitWithAck(event, payload);
      return reply && typeof reply === "object" ? reply : { ok: false, code: "bad-message", message: "" };
    } catch {
      return timeoutReply("No answer from the server. Check your connection.");
    }
  }

  /** Take a seat (or knock) with a signed ticket. @param {string} ticket @returns {Promise<Reply>} */
  async join(ticket) {
    const reply = await this.request("join", { ticket }, JOIN_TIMEOUT_MS);
    if (reply.code !== "timeout") return reply;
    return timeoutReply("The call service did not answer. Reload the page to try again.");
  }

  close() {
    this.socket.disconnect();
  }
}
