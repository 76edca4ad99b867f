// The person's own camera and microphone: the first choice and its fallbacks, and what happens when a
// device goes away (unplugged: its track ends) or comes (devicechange: fetch the kind we lack).
//
// The early start: EARLY_START in call_view.py asks for the first choice before Vue starts, with the
// same constraints (one source: the `camera` prop); LocalMedia takes that request's answer.

/**
 * @typedef {{
 *   camera: MediaTrackConstraints,
 *   onFailed: (stream: MediaStream | null, error: any) => void,
 *   onEnded: (kind: string) => void,
 *   onTrack: (track: MediaStreamTrack, stream: MediaStream) => void,
 *   onChange: () => void,
 * }} MediaOptions
 */

export class LocalMedia {
  /** @param {MediaOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {MediaStream | null} */
    this.stream = null;
    this.audioOn = true;
    this.videoOn = true;
    this.refused = false; // the person (or the page's origin) said no: never ask again by ourselves
    this.stopped = false;
    this.onDeviceChange = () => this.fetchMissing();
    navigator.mediaDevices?.addEventListener?.("devicechange", this.onDeviceChange);
    /** @type {Promise<MediaStream | null>} settled once the camera started, or every fallback failed */
    this.ready = Promise.resolve().then(() => this.start()); // callbacks only after the constructor
  }

  get hasAudio() {
    return Boolean(this.stream?.getAudioTracks().length);
  }

  get hasVideo() {
    return Boolean(this.stream?.getVideoTracks().length);
  }

  /** What we send, as the room is told it (peer-state). */
  state() {
    return { audio: this.audioOn && this.hasAudio, video: this.videoOn && this.hasVideo };
  }

  /** @param {boolean} on */
  setAudio(on) {
    this.audioOn = on;
    this.stream?.getAudioTracks().forEach((track) => (track.enabled = on));
    this.options.onChange();
  }

  /** @param {boolean} on */
  setVideo(on) {
    this.videoOn = on;
    this.stream?.getVideoTracks().forEach((track) => (track.enabled = on));
    this.options.onChange();
  }

  /** @returns {Promise<MediaStream | null>} */
  async start() {
    const camera = this.options.camera;
    const attempts = [{ video: camera, audio: true }, { audio: true }, { video: camera }];
    if (!navigator.mediaDevices?.getUserMedia) {
      this.refused = true;
      this.options.onFailed(null, { name: "SecurityError" });
      this.options.onChange();
      return null;
    }
    /** @type {any} */
    let firstError = null;
    // The early script already asked for the first choice: take its answer instead of asking again.
    let early = window.skycallEarly?.media;
    if (window.skycallEarly) window.skycallEarly.media = null;
    for (const constraints of attempts) {
      try {
        const stream = await (early ?? navigator.mediaDevices.getUserMedia(constraints));
        early = null;
        if (this.stopped) stream.getTracks().forEach((track) => track.stop());
        this.stream = stream;
        stream.getTracks().forEach((track) => this.watch(track));
        if (firstError) this.options.onFailed(stream, firstError);
        this.options.onChange();
        return stream;
      } catch (error) {
        early = null;
        firstError ??= error;
      }
    }
    this.refused = ["NotAllowedError", "SecurityError"].includes(firstError?.name);
    this.options.onFailed(null, firstError);
    this.options.onChange();
    return null;
  }

  /** A track that ends by itself (device unplugged, permission withdrawn) leaves the stream. @param {MediaStreamTrack} track */
  watch(track) {
    track.addEventListener("ended", () => {
      if (this.stopped) return;
      this.stream?.removeTrack(track);
      this.options.onEnded(track.kind);
      this.options.onChange();
    });
  }

  /** A device appeared: fetch each kind we lack (a camera plugged back in) and hand it to the call. */
  async fetchMissing() {
    if (this.stopped || this.refused) return;
    for (const kind of /** @type {const} */ (["audio", "video"])) {
      if (kind === "audio" ? this.hasAudio : this.hasVideo) continue;
      let track;
      try {
        const found = await navigator.mediaDevices.getUserMedia({ [kind]: kind === "video" ? this.options.camera : true });
        track = found.getTracks()[0];
      } catch {
        continue; // no such device (yet): the next devicechange tries again
      }
      const stream = (this.stream ??= new MediaStream());
      if (this.stopped || !track || stream.getTracks().some((t) => t.kind === kind)) {
        track?.stop();
        continue;
      }
      track.enabled = kind === "audio" ? this.audioOn : this.videoOn;
      stream.addTrack(track);
      this.watch(track);
      this.options.onTrack(track, stream);
      this.options.onChange();
    }
  }

  /** Release camera and microphone, including those still being started. */
  stop() {
    this.stopped = true;
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.onDeviceChange);
    this.stream?.getTracks().forEach((track) => track.stop());
    this.ready.then((stream) => stream?.getTracks().forEach((track) => track.stop()));
  }
}
