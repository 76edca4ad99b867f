// The browser half of a call, as a short orchestrator over its parts (all in js/):
//   signaling.js  the socket to the signaling server, requests with timeouts
//   media.js      the person's camera and microphone, fallbacks, devices that come and go
//   peers.js      the people in the call: for each a PeerLink (peer.js: the negotiation rule)
//                 and a Tile (tiles.js: their video, name and mute mark)
// It talks to its Python class only through props, methods and emitted events (call_view.py turns
// each event into a typed, bounded dataclass, once).
import { PreparedOffer } from "skycall/peer.js";
import { Peers } from "skycall/peers.js";
import { Signaling } from "skycall/signaling.js";
import { LocalMedia } from "skycall/media.js";
import { describeEndedTrack, describeMediaError, clockTime, ring } from "skycall/ui.js";

/**
 * @typedef {{id: string, name: string}} Knock
 * @typedef {{
 *   ticket: string, iceServers: RTCIceServer[], ring: boolean, camera: MediaTrackConstraints,
 *   signalPath: string, refusals: string[], icons: {answer: string, decline: string, micOff: string},
 *   knocks: Knock[], $emit: (event: string, payload?: object) => void,
 *   $refs: {remotes: HTMLElement, local: HTMLVideoElement}, call: Call,
 *   peers: Map<string, import("skycall/peers.js").PeerEntry>,
 * }} View  the Vue element as the call sees it: its props, its one reactive field, $emit and $refs
 */

class Call {
  /** @param {View} view */
  constructor(view) {
    // All the call's state, declared here once. None of it is reactive (only the view's `knocks` is,
    // the template shows them): Vue would wrap the socket, streams and peer connections in Proxies,
    // and a proxied MediaStream is not the one the browser hands out (and every access pays a trap).
    this.view = view;
    this.me = /** @type {Knock | null} our peer id and name, once the server answered our join */ (null);
    this.currentTicket = view.ticket ?? ""; // the freshest ticket: from the prop, or handed over by start()
    this.joinSent = false;
    this.seated = false;
    this.over = false; // hung up, cancelled, declined or refused: never rejoin
    this.lostConnection = false;
    this.status = "";
    this.prepared = /** @type {PreparedOffer | null} the offer made while knocking */ (null);
    // Camera and signaling start together; only the first offer waits for the camera.
    this.media = new LocalMedia({
      camera: view.camera,
      onFailed: (stream, error) =>
        this.view.$emit("media-error", { reason: error?.name ?? "", message: describeMediaError(error, stream) }),
      onEnded: (kind) => this.view.$emit("media-error", { reason: "ended", message: describeEndedTrack(kind) }),
      onTrack: (track, stream) => this.peers.sendTrack(track, stream),
      onChange: () => this.onMedia(),
    });
    this.signaling = new Signaling(view.signalPath);
    this.peers = new Peers({
      iceServers: view.iceServers ?? [],
      micOffPath: view.icons.micOff,
      container: view.$refs.remotes,
      media: () => this.media.ready.then(() => this.media.stream), // a camera plugged in later counts too
      send: (to, payload) => this.signaling.send("signal", { to, ...payload }),
      onChange: () => this.updateStatus(),
    });
    this.leavePage = () => this.signaling.close(); // on pagehide: the room learns at once
    this.listen();
  }

  onMedia() {
    const media = this.media;
    if (media.hasVideo && this.view.$refs.local.srcObject !== media.stream) this.view.$refs.local.srcObject = media.stream;
    this.view.$emit("media", { ...media.state(), hasAudio: media.hasAudio, hasVideo: media.hasVideo });
    if (this.seated) this.signaling.send("state", media.state()); // the room learns what we send
  }

  listen() {
    const on = (/** @type {string} */ event, /** @type {(payload: any) => void} */ handler) =>
      this.signaling.on(event, handler);
    this.signaling.onConnect(() => {
      if (this.lostConnection) this.view.$emit("connection", { state: "restored" });
      this.lostConnection = false;
      if (!this.over && this.currentTicket) this.join(); // no ticket yet: a preview, joined by start()
    });
    on("disconnect", () => {
      this.seated = false;
      if (this.over) return;
      this.lostConnection = true;
      this.view.$emit("connection", { state: "lost" });
      this.setStatus("Reconnecting…");
    });
    on("peer-joined", (peer) => {
      this.peers.announce(peer);
      this.peers.drop(peer.id); // a reload of someone we knew: wait for their fresh offer
      this.view.$emit("peer-joined", peer);
      this.onMedia(); // the newcomer learns whether our camera and microphone are on
    });
    on("peer-left", (peer) => {
      const known = this.peers.has(peer.id);
      this.peers.drop(peer.id);
      this.view.$emit("peer-left", { ...peer, known, remaining: this.peers.size });
    });
    on("peer-state", (state) => {
      this.peers.setState(state.id, { audio: Boolean(state.audio), video: Boolean(state.video) });
    });
    on("knock", (peer) => {
      this.view.knocks = [...this.view.knocks.filter((knock) => knock.id !== peer.id), { id: peer.id, name: String(peer.name) }];
      if (this.view.ring) ring();
    });
    on("knock-ended", (peer) => {
      if (this.seated || peer.id !== this.me?.id) return this.closeKnock(peer.id);
      // Our own knock, ended by the server at its ring timeout: nobody answered.
      this.over = true;
      this.view.$emit("no-answer", {});
      this.shutdown();
    });
    on("admitted", (reply) => {
      this.view.$emit("admitted", { empty: reply?.reason === "empty" }); // empty: nobody left to answer
      this.join();
    });
    on("declined", (reply) => {
      this.over = true;
      this.view.$emit("declined", reply);
      this.shutdown();
    });
    on("signal", (message) => this.peers.handle(message));
    on("chat", (message) => this.view.$emit("chat", { ...message, time: clockTime(message.ts) }));
    on("error", (error) => this.view.$emit("error", error));
  }

  async join() {
    this.joinSent = true;
    const reply = await this.signaling.join(this.currentTicket);
    if (!reply.ok) {
      this.over = this.view.refusals.includes(reply.code ?? "");
      this.view.$emit("join-failed", reply);
      this.setStatus("Not in the call");
      return;
    }
    this.me = reply.you;
    if (reply.waiting) {
      this.view.$emit("waiting", {});
      this.setStatus("Calling…");
      // Make the offer while we wait: once let in, it goes out at once.
      this.prepared ??= new PreparedOffer(this.view.iceServers ?? [], this.media.ready);
      return;
    }
    this.seated = true;
    this.peers.dropAll(); // a rejoin starts every link afresh
    for (const peer of reply.peers) {
      this.peers.announce(peer);
      this.peers.add(peer.id, true, this.prepared ?? undefined); // the newcomer offers
      this.prepared = null; // one prepared offer, for the first one we call
    }
    this.prepared?.close();
    this.prepared = null;
    this.view.$emit("joined", { you: reply.you, peers: reply.peers });
    for (const message of reply.history ?? []) this.view.$emit("chat", { ...message, time: clockTime(message.ts), history: true });
    this.onMedia();
    this.updateStatus();
  }

  /** Answer or decline someone knocking; a refusal by the server is shown by Python. @param {string} id @param {boolean} admit */
  async replyToKnock(id, admit) {
    this.closeKnock(id);
    const reply = await this.signaling.request(admit ? "answer" : "decline", { id });
    if (!reply.ok && reply.code !== "no-such-peer") this.view.$emit("error", reply);
  }

  /** @param {string} id */
  closeKnock(id) {
    this.view.knocks = this.view.knocks.filter((knock) => knock.id !== id);
  }

  updateStatus() {
    if (!this.signaling.connected) return this.setStatus("Reconnecting…");
    if (!this.seated) return;
    if (!this.peers.size) return this.setStatus("Waiting for others");
    this.setStatus(this.peers.allConnected() ? "Connected" : "Connecting…");
  }

  /** @param {string} status */
  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.view.$emit("status", { status });
  }

  /** Leave the preview: join the call with this ticket (now, or once the socket connects). @param {string} ticket */
  start(ticket) {
    if (this.over || !ticket) return;
    this.currentTicket = ticket;
    if (!this.joinSent && this.signaling.connected) this.join(); // else the connect handler joins
  }

  /** Leave the room (or stop knocking) and release the camera. */
  async hang_up() {
    this.over = true;
    if (this.me) await this.signaling.request("leave", {}, 2000); // only a preview: nothing to leave
    this.shutdown();
    return true;
  }

  shutdown() {
    this.view.knocks = [];
    this.prepared?.close();
    this.prepared = null;
    this.peers.dropAll();
    this.media.stop();
    this.signaling.close();
  }
}

export default {
  // Someone knocking is answered right here: the popup and its buttons need no round trip through
  // Python, so the knocker is let in as fast as the signaling server can carry it.
  template: `
    <div class="skycall-stage">
      <div ref="remotes" class="skycall-remotes"></div>
      <video ref="local" class="skycall-local" aria-label="Your camera" autoplay muted playsinline></video>
      <q-dialog v-for="knock in knocks" :key="knock.id" :model-value="true" persistent transition-duration="150">
        <q-card class="skycall-card skycall-dialog skycall-knock" role="alertdialog" :aria-label="knock.name + ' wants to join'">
          <div class="skycall-knock-title"><bdi>{{ knock.name }}</bdi> wants to join</div>
          <div class="skycall-knock-actions">
            <q-btn color="negative" :icon="icons.decline" label="Decline" @click="replyToKnock(knock.id, false)" />
            <q-btn color="positive" :icon="icons.answer" label="Answer" @click="replyToKnock(knock.id, true)" />
          </div>
        </q-card>
      </q-dialog>
    </div>`,
  props: {
    ticket: String,
    iceServers: Array,
    ring: Boolean,
    camera: Object, // the camera constraints, the same as the early start's (call_view.py)
    signalPath: String,
    refusals: Array, // join refusals after which the call cannot go on (errors.py codes)
    icons: Object,
  },
  data() {
    return { knocks: [] }; // {id, name} of the people knocking, shown as popups
  },
  watch: {
    /** @this {View} @param {string} value */
    ticket(value) {
      if (value) this.call.currentTicket = value;
    },
  },
  /** @this {View & {layout: () => void, phone: MediaQueryList}} */
  mounted() {
    this.call = new Call(this);
    this.peers = this.call.peers.entries; // where tests and benchmarks look at the links
    this.phone = window.matchMedia("(max-width: 600px)");
    this.layout = () => this.$emit("layout", { phone: this.phone.matches });
    this.phone.addEventListener("change", this.layout);
    this.layout();
    window.addEventListener("pagehide", this.call.leavePage);
  },
  /** @this {View & {layout: () => void, phone: MediaQueryList}} */
  unmounted() {
    window.removeEventListener("pagehide", this.call.leavePage);
    this.phone.removeEventListener("change", this.layout);
    this.call.shutdown();
  },
  methods: {
    /** The knock popup's buttons. @this {View} @param {string} id @param {boolean} admit */
    replyToKnock(id, admit) {
      this.call.replyToKnock(id, admit);
    },
    // The rest is called from Python (run_method): the element's interface besides props and events.
    /** @this {View} @param {string} ticket */
    start(ticket) {
      this.call.start(ticket);
    },
    /** @this {View} @param {string} text @returns {Promise<object>} the server's acknowledgement */
    send_chat(text) {
      return this.call.signaling.request("chat", { text });
    },
    /** @this {View} @param {boolean} on */
    set_audio(on) {
      this.call.media.setAudio(Boolean(on));
    },
    /** @this {View} @param {boolean} on */
    set_video(on) {
      this.call.media.setVideo(Boolean(on));
      this.$refs.local.classList.toggle("off", !on);
    },
    /** @this {View} */
    hang_up() {
      return this.call.hang_up();
    },
  },
};
