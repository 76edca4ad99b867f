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
 * }} PeerOptions
 */

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

    const pc = (this.pc = new RTCPeerConnection({ iceServers: options.iceServers }));
    pc.onnegotiationneeded = () => {
      if (this.offerer) this.offer();
      else this.send({ renegotiate: true });
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.send({ candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track }) => options.onTrack(track);
    pc.onconnectionstatechange = () => options.onState(pc.connectionState);

    // The offerer offers as soon as its camera is settled (or has failed): one round trip, not two.
    if (this.offerer) this.media.then((stream) => this.attach(stream));
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
    for (const kind of ["audio", "video"]) {
      const track = stream?.getTracks().find((t) => t.kind === kind);
      if (track && stream) this.pc.addTrack(track, stream);
      else if (this.offerer) this.pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }
}
