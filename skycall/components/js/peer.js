// One RTCPeerConnection to one remote participant, negotiated with "perfect negotiation"
// (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example), as docs/protocol.md describes:
// the newcomer is impolite and offers first; the peer already in the room is polite, answers, and
// rolls its own offer back when two offers cross.

/**
 * @typedef {{description?: RTCSessionDescriptionInit, candidate?: RTCIceCandidateInit | null}} SignalPayload
 * @typedef {{
 *   id: string, name: string, polite: boolean, iceServers: RTCIceServer[],
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
    this.polite = options.polite;
    this.media = options.media;
    this.send = options.send;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.attached = false;
    this.closed = false;
    /** @type {Promise<void>} signals are applied one after the other, in arrival order */
    this.queue = Promise.resolve();

    const pc = (this.pc = new RTCPeerConnection({ iceServers: options.iceServers }));
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        this.send({ description: pc.localDescription?.toJSON() });
      } catch (error) {
        console.warn("SkyCall: offer failed", error);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.send({ candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track }) => options.onTrack(track);
    pc.onconnectionstatechange = () => options.onState(pc.connectionState);

    // The newcomer offers as soon as its camera is settled (or has failed): one round trip, not two.
    if (!this.polite) this.media.then((stream) => this.attach(stream));
  }

  /** Apply a description or candidate from the remote peer. @param {SignalPayload} payload */
  handle(payload) {
    this.queue = this.queue.then(() => this.apply(payload)).catch((error) => {
      console.warn("SkyCall: signal from", this.name, "failed", error);
    });
    return this.queue;
  }

  close() {
    this.closed = true;
    this.pc.close();
  }

  /** @param {SignalPayload} payload */
  async apply({ description, candidate }) {
    if (this.closed) return;
    const pc = this.pc;
    if (description) {
      const readyForOffer = !this.makingOffer && (pc.signalingState === "stable" || this.settingRemoteAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = description.type === "answer";
      await pc.setRemoteDescription(description);
      this.settingRemoteAnswer = false;
      if (description.type === "offer") {
        // Tracks added after the offer reuse its transceivers, so the answer already sends.
        if (!this.attached) this.attach(await this.media);
        await pc.setLocalDescription();
        this.send({ description: pc.localDescription?.toJSON() });
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  /** Send our camera and microphone; ask to receive a kind we cannot send. @param {MediaStream | null} stream */
  attach(stream) {
    if (this.closed || this.attached) return;
    this.attached = true;
    for (const kind of ["audio", "video"]) {
      const track = stream?.getTracks().find((t) => t.kind === kind);
      if (track && stream) this.pc.addTrack(track, stream);
      else if (!this.polite) this.pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }
}
