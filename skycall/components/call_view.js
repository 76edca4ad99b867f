// The browser half of a call: camera, signaling socket, one PeerLink per remote participant, and
// the video tiles. It talks to its Python class only through props, methods and emitted events
// (see call_view.py for the list).
import { PeerLink, PreparedOffer } from "skycall/peer.js";
import { describeMediaError, clockTime, initials, ring } from "skycall/ui.js";

const SIGNAL_PATH = "/signal/socket.io";
// Material Icons' "mic_off" (Apache 2.0; the same path as in pages/icons.py): inline, no icon font.
const MIC_OFF_PATH =
  "M19 11h-1.7c0 .74-.16 1.43-.43 2.05l1.23 1.23c.56-.98.9-2.09.9-3.28zm-4.02.17c0-.06.02-.11.02-.17V5" +
  "c0-1.66-1.34-3-3-3S9 3.34 9 5v.18l5.98 5.99zM4.27 3L3 4.27l6.01 6.01V11c0 1.66 1.33 3 2.99 3" +
  " .22 0 .44-.03.65-.08l1.66 1.66c-.71.33-1.5.52-2.31.52-2.76 0-5.3-2.1-5.3-5.1H5c0 3.41 2.72 6.23 6 6.72" +
  "V21h2v-3.28c.91-.13 1.77-.45 2.54-.9L19.73 21 21 19.73 4.27 3z";

/** The muted mark of a tile, built with DOM calls (never markup). @returns {SVGSVGElement} */
function micOffIcon() {
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(svgNS, "path");
  path.setAttribute("d", MIC_OFF_PATH);
  svg.append(path);
  return svg;
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
          <div class="skycall-knock-title">{{ knock.name }} wants to join</div>
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
    icons: Object,
  },
  data() {
    return {
      knocks: [], // {id, name} of the people knocking, shown as popups
      currentTicket: this.ticket, // the freshest ticket: from the prop, or handed over by start()
    };
  },
  watch: {
    ticket(value) {
      if (value) this.currentTicket = value;
    },
  },
  mounted() {
    /** @type {Map<string, {link: PeerLink, tile: HTMLElement, stream: MediaStream, connected: boolean}>} */
    this.peers = new Map();
    /** @type {Record<string, string>} names of the peers announced to us */
    this.knownNames = {};
    /** @type {Record<string, {audio: boolean, video: boolean}>} what the others said of their media */
    this.peerStates = {};
    this.me = null;
    this.stream = null;
    this.seated = false;
    this.over = false; // hung up, cancelled or declined: never rejoin
    this.audioOn = true;
    this.videoOn = true;
    // Camera and signaling start together; only the first offer waits for the camera.
    this.media = this.startMedia();
    this.connect();
    this.onPageHide = () => this.socket?.disconnect();
    window.addEventListener("pagehide", this.onPageHide);
    this.phoneQuery = window.matchMedia("(max-width: 600px)");
    this.onLayout = () => this.$emit("layout", { phone: this.phoneQuery.matches });
    this.phoneQuery.addEventListener("change", this.onLayout);
    this.onLayout();
  },
  unmounted() {
    window.removeEventListener("pagehide", this.onPageHide);
    this.phoneQuery.removeEventListener("change", this.onLayout);
    this.shutdown();
  },
  methods: {
    /** @returns {Promise<MediaStream | null>} */
    async startMedia() {
      const attempts = [
        { video: { width: 640, height: 480 }, audio: true },
        { audio: true },
        { video: { width: 640, height: 480 } },
      ];
      if (!navigator.mediaDevices?.getUserMedia) {
        this.mediaFailed(null, { name: "SecurityError" });
        return null;
      }
      let firstError = null;
      // The early script (EARLY_START in call_view.py) already asked for the first choice: take its answer.
      let early = window.skycallEarly?.media;
      if (window.skycallEarly) window.skycallEarly.media = null;
      for (const constraints of attempts) {
        try {
          const stream = await (early ?? navigator.mediaDevices.getUserMedia(constraints));
          early = null;
          this.stream = stream;
          if (stream.getVideoTracks().length) this.$refs.local.srcObject = stream;
          if (firstError) this.mediaFailed(stream, firstError);
          this.emitMedia();
          return stream;
        } catch (error) {
          early = null;
          firstError ??= error;
        }
      }
      this.mediaFailed(null, firstError);
      this.emitMedia();
      return null;
    },

    mediaFailed(stream, error) {
      this.$emit("media-error", { reason: error?.name ?? "", message: describeMediaError(error, stream) });
    },

    /** What we can send and whether it is on, to Python (buttons) and to the room (peer-state). */
    emitMedia() {
      const state = {
        audio: this.audioOn && Boolean(this.stream?.getAudioTracks().length),
        video: this.videoOn && Boolean(this.stream?.getVideoTracks().length),
      };
      this.$emit("media", {
        ...state,
        hasAudio: Boolean(this.stream?.getAudioTracks().length),
        hasVideo: Boolean(this.stream?.getVideoTracks().length),
      });
      if (this.seated) this.socket.emit("state", state);
    },

    connect() {
      // The early script (EARLY_START in call_view.py) opened the socket while Vue was still starting: adopt it.
      const early = window.skycallEarly?.socket;
      if (window.skycallEarly) window.skycallEarly.socket = null;
      const socket = (this.socket = early ?? io({ path: SIGNAL_PATH, transports: ["websocket"] }));
      const onConnect = () => {
        if (this.lostConnection) this.$emit("connection", { state: "restored" });
        this.lostConnection = false;
        if (!this.over && this.currentTicket) this.join(); // no ticket yet: a preview, joined by start()
      };
      socket.on("connect", onConnect);
      if (socket.connected) onConnect(); // it connected before we listened
      socket.on("disconnect", () => {
        this.seated = false;
        if (this.over) return;
        this.lostConnection = true;
        this.$emit("connection", { state: "lost" });
        this.setStatus("Reconnecting…");
      });
      socket.on("peer-joined", (peer) => {
        this.knownNames[peer.id] = peer.name;
        this.dropPeer(peer.id); // a reload of someone we knew: wait for their fresh offer
        this.$emit("peer-joined", peer);
        this.emitMedia(); // the newcomer learns whether our camera and microphone are on
      });
      socket.on("peer-left", (peer) => {
        const known = this.peers.has(peer.id);
        this.dropPeer(peer.id);
        this.$emit("peer-left", { ...peer, known, remaining: this.peers.size });
      });
      socket.on("peer-state", (state) => {
        this.peerStates[state.id] = { audio: Boolean(state.audio), video: Boolean(state.video) };
        const entry = this.peers.get(state.id);
        if (entry) this.paintTile(entry);
      });
      socket.on("knock", (peer) => {
        this.knocks = [...this.knocks.filter((knock) => knock.id !== peer.id), { id: peer.id, name: String(peer.name) }];
        if (this.ring) ring();
      });
      socket.on("knock-ended", (peer) => this.closeKnock(peer.id));
      socket.on("admitted", () => this.join());
      socket.on("declined", (reply) => {
        this.over = true;
        this.$emit("declined", reply);
        this.shutdown();
      });
      socket.on("signal", (message) => this.peers.get(message.from)?.link.handle(message) ?? this.acceptPeer(message));
      socket.on("chat", (message) => this.$emit("chat", { ...message, time: clockTime(message.ts) }));
      socket.on("error", (error) => this.$emit("error", error));
    },

    join() {
      this.joinSent = true;
      this.socket.emit("join", { ticket: this.currentTicket }, (reply) => {
        if (!reply?.ok) {
          this.over = ["room-full", "no-such-room", "bad-ticket"].includes(reply?.code);
          this.$emit("join-failed", reply ?? {});
          this.setStatus("Not in the call");
          return;
        }
        this.me = reply.you;
        if (reply.waiting) {
          this.$emit("waiting", {});
          this.setStatus("Calling…");
          // Make the offer while we wait: once let in, it goes out at once.
          this.prepared ??= new PreparedOffer(this.iceServers ?? [], this.media);
          return;
        }
        this.seated = true;
        for (const id of [...this.peers.keys()]) this.dropPeer(id); // a rejoin starts every link afresh
        for (const peer of reply.peers) {
          this.knownNames[peer.id] = peer.name;
          this.addPeer(peer, true); // the newcomer offers
        }
        this.dropPrepared();
        this.$emit("joined", { you: reply.you, peers: reply.peers });
        for (const message of reply.history ?? []) this.$emit("chat", { ...message, time: clockTime(message.ts), history: true });
        this.emitMedia();
        this.updateStatus();
      });
    },

    /** The first signal from someone we have no link with: they are the newcomer, we answer. */
    acceptPeer(message) {
      if (!message.description || message.description.type !== "offer") return;
      this.addPeer({ id: message.from, name: this.knownNames[message.from] ?? "" }, false).link.handle(message);
    },

    addPeer(peer, offerer) {
      const tile = document.createElement("div");
      tile.className = "skycall-tile";
      tile.dataset.peer = peer.id;
      const badge = document.createElement("div");
      badge.className = "skycall-initials";
      badge.textContent = initials(peer.name); // text, never HTML
      const label = document.createElement("div");
      label.className = "skycall-name";
      label.textContent = peer.name;
      const muted = document.createElement("div");
      muted.className = "skycall-muted";
      muted.setAttribute("role", "img");
      muted.setAttribute("aria-label", `${peer.name} is muted`);
      muted.append(micOffIcon());
      tile.append(badge, label, muted);
      const entry = { tile, stream: new MediaStream(), connected: false, link: null, peer };
      const prepared = offerer ? this.prepared : undefined;
      if (prepared) this.prepared = null; // one offer, for the first one we call
      entry.link = new PeerLink({
        id: peer.id,
        name: peer.name,
        offerer,
        prepared,
        iceServers: this.iceServers ?? [],
        media: this.media,
        send: (payload) => this.socket.emit("signal", { to: peer.id, ...payload }),
        onTrack: (track) => this.showTrack(entry, track),
        onState: (state) => {
          entry.connected = state === "connected";
          this.updateStatus();
          if (state === "failed") entry.link.restartIce();
        },
      });
      this.peers.set(peer.id, entry);
      this.$refs.remotes.appendChild(tile);
      this.paintTile(entry);
      this.updateStatus();
      return entry;
    },

    showTrack(entry, track) {
      entry.stream.addTrack(track);
      let video = entry.tile.querySelector("video");
      if (!video) {
        video = document.createElement("video");
        video.autoplay = true;
        video.playsInline = true;
        video.setAttribute("aria-label", `Camera of ${entry.peer.name}`);
        entry.tile.prepend(video);
      }
      // Attach only a stream that has a track: an empty one holds the page's load event forever.
      if (video.srcObject !== entry.stream) video.srcObject = entry.stream;
      video.play().catch(() => this.offerSound(entry.tile, video));
      this.paintTile(entry);
    },

    /** Initials instead of a frozen picture when the camera is off; a mark when muted. */
    paintTile(entry) {
      const state = this.peerStates[entry.peer.id] ?? { audio: true, video: true };
      const hasVideo = entry.stream.getVideoTracks().length > 0;
      entry.tile.classList.toggle("camera-off", !state.video || !hasVideo);
      entry.tile.classList.toggle("mic-off", !state.audio);
    },

    /** Autoplay with sound was refused: play muted and let the person turn the sound on. */
    offerSound(tile, video) {
      video.muted = true;
      video.play().catch(() => {});
      if (tile.querySelector(".skycall-sound")) return;
      const button = document.createElement("button");
      button.className = "skycall-sound";
      button.textContent = "Turn on sound";
      button.onclick = () => {
        video.muted = false;
        video.play().catch(() => {});
        button.remove();
      };
      tile.append(button);
    },

    /** Answer or decline someone knocking; a refusal by the server is shown by Python. */
    async replyToKnock(id, admit) {
      this.closeKnock(id);
      const reply = await this.request(admit ? "answer" : "decline", { id });
      if (!reply?.ok && reply?.code !== "no-such-peer") this.$emit("error", reply ?? {});
    },

    closeKnock(id) {
      this.knocks = this.knocks.filter((knock) => knock.id !== id);
    },

    dropPrepared() {
      this.prepared?.close();
      this.prepared = null;
    },

    dropPeer(id) {
      const entry = this.peers.get(id);
      if (!entry) return;
      this.peers.delete(id);
      entry.link.close();
      entry.stream.getTracks().forEach((track) => track.stop());
      const video = entry.tile.querySelector("video");
      if (video) video.srcObject = null;
      entry.tile.remove();
      this.updateStatus();
    },

    updateStatus() {
      if (!this.socket?.connected) return this.setStatus("Reconnecting…");
      if (!this.seated) return;
      if (!this.peers.size) return this.setStatus("Waiting for others");
      const all = [...this.peers.values()];
      this.setStatus(all.every((entry) => entry.connected) ? "Connected" : "Connecting…");
    },

    setStatus(status) {
      if (status === this.status) return;
      this.status = status;
      this.$emit("status", { status });
    },

    // ---- called from Python ----

    /** Leave the preview: join the call with this ticket (now, or as soon as the socket connects). */
    start(ticket) {
      if (this.over || !ticket) return;
      this.currentTicket = ticket;
      if (!this.joinSent && this.socket?.connected) this.join(); // else the connect handler joins
    },

    /** @returns {Promise<object>} the server's acknowledgement */
    send_chat(text) {
      return this.request("chat", { text });
    },

    set_audio(on) {
      this.audioOn = Boolean(on);
      this.stream?.getAudioTracks().forEach((track) => (track.enabled = this.audioOn));
      this.emitMedia();
    },

    set_video(on) {
      this.videoOn = Boolean(on);
      this.stream?.getVideoTracks().forEach((track) => (track.enabled = this.videoOn));
      this.$refs.local.classList.toggle("off", !this.videoOn);
      this.emitMedia();
    },

    /** Leave the room (or stop knocking) and release the camera. */
    async hang_up() {
      this.over = true;
      if (this.me) await this.request("leave", {}, 2000); // only a preview: nothing to leave
      this.shutdown();
      return true;
    },

    /** Emit with an acknowledgement; no answer in time becomes an error reply. */
    request(event, payload, timeout = 5000) {
      return this.socket.timeout(timeout).emitWithAck(event, payload).catch(() => ({
        ok: false, code: "timeout", message: "No answer from the server. Check your connection.",
      }));
    },

    shutdown() {
      this.knocks = [];
      this.dropPrepared();
      for (const id of [...this.peers.keys()]) this.dropPeer(id);
      this.stream?.getTracks().forEach((track) => track.stop());
      this.media?.then((stream) => stream?.getTracks().forEach((track) => track.stop()));
      this.socket?.disconnect();
    },
  },
};
