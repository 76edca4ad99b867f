// One RTCPeerConnection to one remote participant.
//
// Negotiation rule (docs/protocol.md, "Who offers"): in each pair only the newcomer, the "offerer",
// ever sends offers. When the other side, the "answerer", needs a renegotiation (a camera that
// started late, an ICE restart) it asks for one with {renegotiate: true}. Offers therefore never
// cross and nothing is ever rolled back. Classic perfect negotiation rolls back instead, and in the
// Chromium we test with a rolled-back offer left the remote video frozen for good (frames decoded,
// none rendered); aiortc, our Python peer, has no rollback at all.

/**
 * @typedef {{description?: RTCSessionDescriptionInit, candidate?: RTCIceCandidateInit | null,
 *            renegotiate?: boolean}} SignalPayload
 * @typedef {{
 *   id: string, name: string, offerer: boolean, iceServers: RTCIceServer[],
 *   media: Promise<MediaStream | null>,
 *   send: (payload: SignalPayload) => void,
 *   onTrack: (track: MediaStreamTrack) => void,
 *   onState: (state: RTCPeerConnectionState) => void,
 *   prepared?: PreparedOffer,
 * }} PeerOptions
 */

/**
 * An offer made before we know whom it is for: while knocking, the camera is attached, the offer set
 * and ICE candidates gathered, so the moment we are let in it goes out at once (a PeerLink adopts it).
 */
export class PreparedOffer {
  /** @param {RTCIceServer[]} iceServers @param {Promise<MediaStream | null>} media */
  constructor(iceServers, media) {
    this.pc = new RTCPeerConnection({ iceServers });
    /** @type {RTCIceCandidateInit[]} gathered before a link adopted the offer */
    this.candidates = [];
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.candidates.push(candidate.toJSON());
    };
    this.adopted = false;
    /** @type {Promise<boolean>} whether the offer is set (false: the link makes its own) */
    this.ready = media.then(async (stream) => {
      attachTracks(this.pc, stream, true);
      await this.pc.setLocalDescription();
      return true;
    }).catch((error) => {
      console.warn("SkyCall: could not prepare an offer", error);
      return false;
    });
  }

  /** Not needed after all (nobody to call, or hung up). */
  close() {
    if (!this.adopted) this.pc.close();
  }
}

/**
 * Send our camera and microphone; as the offerer, ask to receive a kind we cannot send.
 * @param {RTCPeerConnection} pc @param {MediaStream | null} stream @param {boolean} offerer
 */
function attachTracks(pc, stream, offerer) {
  for (const kind of ["audio", "video"]) {
    const track = stream?.getTracks().find((t) => t.kind === kind);
    if (track && stream) pc.addTrack(track, stream);
    else if (offerer) pc.addTransceiver(kind, { direction: "recvonly" });
  }
}

export class PeerLink {
  /** @param {PeerOptions} options */
  constructor(options) {
    this.id = options.id;
    this.name = options.name;
    this.offerer = options.offerer;
    this.media = options.media;
    this.send = options.send;
    this.attached = false;
    this.closed = false;
    this.makingOffer = false;
    this.wantsOffer = false; // an offer is due once the current exchange completes
    /** @type {Promise<void>} signals are applied one after the other, in arrival order */
    this.queue = Promise.resolve();

    const prepared = this.offerer ? options.prepared : undefined;
    const pc = (this.pc = prepared?.pc ?? new RTCPeerConnection({ iceServers: options.iceServers }));
    pc.ontrack = ({ track }) => options.onTrack(track);
    pc.onconnectionstatechange = () => options.onState(pc.connectionState);
    if (prepared) {
      prepared.adopted = true;
      this.attached = true;
      this.makingOffer = true; // until the prepared offer is out
      this.adopt(prepared);
      return;
    }
    this.listen();
    // The offerer offers as soon as its camera is settled (or has failed): one round trip, not two.
    if (this.offerer) this.media.then((stream) => this.attach(stream));
  }

  listen() {
    this.pc.onnegotiationneeded = () => {
      if (this.offerer) this.offer();
      else this.send({ renegotiate: true });
    };
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.send({ candidate: candidate.toJSON() });
    };
  }

  /** Send the offer made while knocking, then the candidates gathered meanwhile. @param {PreparedOffer} prepared */
  async adopt(prepared) {
    const ok = await prepared.ready;
    this.makingOffer = false;
    if (this.closed) return;
    if (ok && this.pc.signalingState === "have-local-offer") {
      this.send({ description: this.pc.localDescription?.toJSON() });
      for (const candidate of prepared.candidates) this.send({ candidate });
    }
    this.listen();
    if (!ok || this.wantsOffer) await this.offer();
  }

  /** Apply a description, candidate or renegotiation request from the remote peer. @param {SignalPayload} payload */
  handle(payload) {
    this.queue = this.queue.then(() => this.apply(payload)).catch((error) => {
      console.warn("SkyCall: signal from", this.name, "failed", error);
    });
    return this.queue;
  }

  /** Ask for a fresh ICE negotiation (after the connection failed). */
  restartIce() {
    this.pc.restartIce();
    if (!this.offerer) this.send({ renegotiate: true });
  }

  close() {
    this.closed = true;
    this.pc.close();
  }

  async offer() {
    if (this.closed) return;
    if (this.makingOffer || this.pc.signalingState !== "stable") {
      this.wantsOffer = true;
      return;
    }
    this.wantsOffer = false;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send({ description: this.pc.localDescription?.toJSON() });
    } catch (error) {
      console.warn("SkyCall: offer failed", error);
    } finally {
      this.makingOffer = false;
    }
  }

  /** @param {SignalPayload} payload */
  async apply({ description, candidate, renegotiate }) {
    if (this.closed) return;
    const pc = this.pc;
    if (renegotiate) {
      if (this.offerer) await this.offer();
    } else if (description) {
      if (this.offerer !== (description.type === "answer")) return; // not ours to receive: never happens
      await pc.setRemoteDescription(description);
      if (description.type === "offer") {
        // Tracks added after the offer reuse its transceivers, so the answer already sends.
        if (!this.attached) this.attach(await this.media);
        await pc.setLocalDescription();
        this.send({ description: pc.localDescription?.toJSON() });
      } else if (this.wantsOffer) {
        await this.offer();
      }
    } else if (candidate) {
      await pc.addIceCandidate(candidate);
    }
  }

  /** Send our camera and microphone; ask to receive a kind we cannot send. @param {MediaStream | null} stream */
  attach(stream) {
    if (this.closed || this.attached) return;
    this.attached = true;
    attachTracks(this.pc, stream, this.offerer);
  }

  /**
   * A camera or microphone that came (back) during the call. A sender that had one of its kind takes
   * it over without a renegotiation; otherwise it is added and the usual rule renegotiates (the
   * offerer offers, the answerer asks for an offer). Before attach() nothing is due: attach() sends it.
   * @param {MediaStreamTrack} track @param {MediaStream} stream
   */
  async sendTrack(track, stream) {
    if (this.closed || !this.attached) return;
    const sender = this.pc.getSenders().find((s) => s.track?.kind === track.kind);
    if (sender) await sender.replaceTrack(track);
    else this.pc.addTrack(track, stream);
  }
}
