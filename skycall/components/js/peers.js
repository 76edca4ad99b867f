// The people we are in a call with: for each, one PeerLink (peer.js) and one Tile (tiles.js), plus
// what the room told us of them (names, whether their camera and microphone are on), which may
// arrive before their link exists.
import { PeerLink, PreparedOffer } from "skycall/peer.js";
import { Tile } from "skycall/tiles.js";

/**
 * @typedef {{link: PeerLink, tile: Tile, connected: boolean}} PeerEntry
 * @typedef {{audio: boolean, video: boolean}} MediaState
 * @typedef {{
 *   iceServers: RTCIceServer[], micOffPath: string, container: HTMLElement,
 *   media: () => Promise<MediaStream | null>,
 *   send: (to: string, payload: object) => void,
 *   onChange: () => void,
 * }} PeersOptions
 */

export class Peers {
  /** @param {PeersOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {Map<string, PeerEntry>} */
    this.entries = new Map();
    /** @type {Record<string, string>} names of the peers announced to us */
    this.names = {};
    /** @type {Record<string, MediaState>} what the others said of their camera and microphone */
    this.states = {};
  }

  get size() {
    return this.entries.size;
  }

  /** @param {string} id */
  has(id) {
    return this.entries.has(id);
  }

  /** Everyone linked is connected (true for nobody). */
  allConnected() {
    return [...this.entries.values()].every((entry) => entry.connected);
  }

  /** @param {{id: string, name: string}} peer */
  announce(peer) {
    this.names[peer.id] = peer.name;
  }

  /** @param {string} id @param {MediaState} state */
  setState(id, state) {
    this.states[id] = state;
    this.entries.get(id)?.tile.setState(state);
  }

  /** A signal from a peer; the first offer from someone new makes their link (they offer, we answer). @param {any} message */
  handle(message) {
    const entry = this.entries.get(message.from);
    if (entry) entry.link.handle(message);
    else if (message.description?.type === "offer") this.add(message.from, false).link.handle(message);
  }

  /**
   * Link with a peer and show their tile.
   * @param {string} id @param {boolean} offerer @param {PreparedOffer} [prepared] the offer made while knocking
   * @returns {PeerEntry}
   */
  add(id, offerer, prepared) {
    const name = this.names[id] ?? "";
    const tile = new Tile({ id, name }, this.options.micOffPath);
    tile.setState(this.states[id] ?? { audio: true, video: true });
    /** @type {PeerEntry} */
    const entry = {
      tile,
      connected: false,
      link: new PeerLink({
        id,
        name,
        offerer,
        prepared,
        iceServers: this.options.iceServers,
        media: this.options.media(),
        send: (payload) => this.options.send(id, payload),
        onTrack: (track) => tile.addTrack(track),
        onState: (state) => {
          entry.connected = state === "connected";
          this.options.onChange();
          if (state === "failed") entry.link.restartIce();
        },
      }),
    };
    this.entries.set(id, entry);
    this.options.container.appendChild(tile.element);
    this.options.onChange();
    return entry;
  }

  /** @param {string} id */
  drop(id) {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.link.close();
    entry.tile.remove();
    this.options.onChange();
  }

  dropAll() {
    for (const id of [...this.entries.keys()]) this.drop(id);
  }

  /** A camera or microphone that came (back) during the call goes to everyone. @param {MediaStreamTrack} track @param {MediaStream} stream */
  sendTrack(track, stream) {
    this.entries.forEach((entry) => entry.link.sendTrack(track, stream));
  }
}
