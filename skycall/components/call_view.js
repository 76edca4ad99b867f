// The browser half of a call: camera, signaling socket, one PeerLink per remote participant, and
// the video tiles. It talks to its Python class only through props, methods and emitted events.
import { PeerLink } from "skycall/peer.js";

const SIGNAL_PATH = "/signal/socket.io";

export default {
  template: `
    <div class="skycall-stage">
      <div ref="remotes" class="skycall-remotes"></div>
      <video ref="local" class="skycall-local" aria-label="Your camera" autoplay muted playsinline></video>
    </div>`,
  props: {
    ticket: String,
    iceServers: Array,
  },
  mounted() {
    /** @type {Map<string, {link: PeerLink, tile: HTMLElement, stream: MediaStream, connected: boolean}>} */
    this.peers = new Map();
    /** @type {Record<string, string>} names of the peers announced to us */
    this.knownNames = {};
    this.me = null;
    this.stream = null;
    // Camera and signaling start together; only the first offer waits for the camera.
    this.media = this.startMedia();
    this.connect();
    this.onPageHide = () => this.socket?.disconnect();
    window.addEventListener("pagehide", this.onPageHide);
  },
  unmounted() {
    window.removeEventListener("pagehide", this.onPageHide);
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
        this.$emit("media-error", { reason: "insecure", message: "This page cannot use a camera (it needs https)." });
        return null;
      }
      let firstError = null;
      for (const constraints of attempts) {
        try {
          const stream = await navigator.mediaDevices.getUserMedia(constraints);
          this.stream = stream;
          if (stream.getVideoTracks().length) this.$refs.local.srcObject = stream;
          if (firstError) this.$emit("media-error", { reason: firstError.name, message: describeMediaError(firstError, stream) });
          return stream;
        } catch (error) {
          firstError ??= error;
        }
      }
      this.$emit("media-error", { reason: firstError?.name, message: describeMediaError(firstError, null) });
      return null;
    },

    connect() {
      const socket = (this.socket = io({ path: SIGNAL_PATH, transports: ["websocket"] }));
      socket.on("connect", () => this.join());
      socket.on("disconnect", () => this.setStatus("Reconnecting…"));
      socket.on("peer-joined", (peer) => {
        this.knownNames[peer.id] = peer.name;
        this.dropPeer(peer.id); // a reload of someone we knew: wait for their fresh offer
        this.$emit("peer-joined", peer);
      });
      socket.on("peer-left", (peer) => {
        this.dropPeer(peer.id);
        this.$emit("peer-left", peer);
      });
      socket.on("signal", (message) => this.peers.get(message.from)?.link.handle(message) ?? this.acceptPeer(message));
      socket.on("chat", (message) => this.$emit("chat", { ...message, time: clockTime(message.ts) }));
      socket.on("error", (error) => this.$emit("error", error));
    },

    join() {
      this.socket.emit("join", { ticket: this.ticket }, (reply) => {
        if (!reply?.ok) {
          this.setStatus("Not in the call");
          return;
        }
        this.me = reply.you;
        for (const id of [...this.peers.keys()]) this.dropPeer(id); // a rejoin starts every link afresh
        for (const peer of reply.peers) this.addPeer(peer, true); // the newcomer offers
        this.$emit("joined", { you: reply.you, peers: reply.peers });
        this.updateStatus();
      });
    },

    /** The first signal from someone we have no link with: they are the newcomer, we answer. */
    acceptPeer(message) {
      if (!message.description || message.description.type !== "offer") return;
      this.addPeer({ id: message.from, name: this.nameOf(message.from) }, false).link.handle(message);
    },

    nameOf(id) {
      return this.knownNames[id] ?? "";
    },

    addPeer(peer, offerer) {
      const tile = document.createElement("div");
      tile.className = "skycall-tile";
      tile.dataset.peer = peer.id;
      const entry = { tile, stream: new MediaStream(), connected: false, link: null };
      entry.link = new PeerLink({
        id: peer.id,
        name: peer.name,
        offerer,
        iceServers: this.iceServers ?? [],
        media: this.media,
        send: (payload) => this.socket.emit("signal", { to: peer.id, ...payload }),
        onTrack: (track) => this.showTrack(entry, peer, track),
        onState: (state) => {
          entry.connected = state === "connected";
          this.updateStatus();
          if (state === "failed") entry.link.restartIce();
        },
      });
      this.peers.set(peer.id, entry);
      this.$refs.remotes.appendChild(tile);
      this.updateStatus();
      return entry;
    },

    showTrack(entry, peer, track) {
      entry.stream.addTrack(track);
      let video = entry.tile.querySelector("video");
      if (!video) {
        video = document.createElement("video");
        video.autoplay = true;
        video.playsInline = true;
        video.setAttribute("aria-label", `Camera of ${peer.name}`);
        const label = document.createElement("div");
        label.className = "skycall-name";
        label.textContent = peer.name; // text, never HTML
        entry.tile.append(video, label);
      }
      // Attach only a stream that has a track: an empty one holds the page's load event forever.
      if (video.srcObject !== entry.stream) video.srcObject = entry.stream;
      video.play().catch(() => this.offerSound(entry.tile, video));
    },

    /** Autoplay with sound was refused: play muted and let the person turn the sound on. */
    offerSound(tile, video) {
      video.muted = true;
      video.play().catch(() => {});
      if (tile.querySelector("button")) return;
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
      if (!this.peers.size) return this.setStatus("Waiting for others");
      const all = [...this.peers.values()];
      this.setStatus(all.every((entry) => entry.connected) ? "Connected" : "Connecting…");
    },

    setStatus(status) {
      if (status === this.status) return;
      this.status = status;
      this.$emit("status", { status });
    },

    /** Called from Python. @returns {Promise<object>} the server's acknowledgement */
    send_chat(text) {
      return this.socket.timeout(5000).emitWithAck("chat", { text }).catch(() => ({
        ok: false, code: "timeout", message: "The message could not be sent. Check your connection.",
      }));
    },

    /** Called from Python: leave the room and release the camera. */
    async hang_up() {
      try {
        await this.socket.timeout(2000).emitWithAck("leave", {});
      } catch {
        // the server learns it from the disconnect below anyway
      }
      this.shutdown();
      return true;
    },

    shutdown() {
      for (const id of [...this.peers.keys()]) this.dropPeer(id);
      this.stream?.getTracks().forEach((track) => track.stop());
      this.media?.then((stream) => stream?.getTracks().forEach((track) => track.stop()));
      this.socket?.disconnect();
    },
  },
};

/** The server's timestamp as the person's local time of day. @param {number} ts seconds */
function clockTime(ts) {
  return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function describeMediaError(error, stream) {
  const missing = !stream ? "camera and microphone" : stream.getVideoTracks().length ? "microphone" : "camera";
  const name = error?.name;
  if (name === "NotAllowedError" || name === "SecurityError")
    return `SkyCall may not use your ${missing}. Allow it in the browser's site settings; you can still talk in the chat.`;
  if (name === "NotFoundError" || name === "OverconstrainedError")
    return `No ${missing} was found. You can still join and use the chat.`;
  if (name === "NotReadableError")
    return `Your ${missing} is in use by another program. Close it and reload the page.`;
  return `Your ${missing} could not be started (${name ?? "unknown error"}). You can still use the chat.`;
}
