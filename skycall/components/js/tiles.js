// The tile of one remote participant: their video, or their initials while their camera is off, their
// name, a mark when they are muted. Built with DOM calls only: names are shown as text, never markup.
import { initials } from "skycall/ui.js";

/** @typedef {{id: string, name: string}} Peer */
/** @typedef {{audio: boolean, video: boolean}} MediaState */

/** The muted mark, drawn from the icon's SVG path (a prop from Python's icons). @param {string} path */
function micOffIcon(path) {
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const shape = document.createElementNS(svgNS, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

/** @param {string} className @param {string} [text] */
function div(className, text) {
  const element = document.createElement("div");
  element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

export class Tile {
  /** @param {Peer} peer @param {string} micOffPath */
  constructor(peer, micOffPath) {
    this.peer = peer;
    /** what we receive from them, shown by the tile's video */
    this.stream = new MediaStream();
    /** @type {MediaState} what they said of their camera and microphone */
    this.state = { audio: true, video: true };
    this.element = div("skycall-tile");
    this.element.dataset.peer = peer.id;
    const muted = div("skycall-muted");
    muted.setAttribute("role", "img");
    muted.setAttribute("aria-label", `${peer.name} is muted`);
    muted.append(micOffIcon(micOffPath));
    const name = div("skycall-name", peer.name);
    name.dir = "auto"; // isolated, in the name's own direction: a right-to-left name reads right to left
    this.element.append(div("skycall-initials", initials(peer.name)), name, muted);
    /** @type {HTMLVideoElement | null} */
    this.video = null;
  }

  /** @param {MediaStreamTrack} track */
  addTrack(track) {
    this.stream.addTrack(track);
    if (!this.video) {
      this.video = document.createElement("video");
      this.video.autoplay = true;
      this.video.playsInline = true;
      this.video.setAttribute("aria-label", `Camera of ${this.peer.name}`);
      this.element.prepend(this.video);
    }
    const video = this.video;
    // Attach only a stream that has a track: an empty one holds the page's load event forever.
    if (video.srcObject !== this.stream) video.srcObject = this.stream;
    video.play().catch(() => this.offerSound(video));
    this.paint();
  }

  /** @param {MediaState} state */
  setState(state) {
    this.state = state;
    this.paint();
  }

  /** Initials instead of a frozen picture when the camera is off; a mark when muted. */
  paint() {
    const hasVideo = this.stream.getVideoTracks().length > 0;
    this.element.classList.toggle("camera-off", !this.state.video || !hasVideo);
    this.element.classList.toggle("mic-off", !this.state.audio);
  }

  /** Autoplay with sound was refused: play muted and let the person turn the sound on. @param {HTMLVideoElement} video */
  offerSound(video) {
    video.muted = true;
    video.play().catch(() => {});
    if (this.element.querySelector(".skycall-sound")) return;
    const button = document.createElement("button");
    button.className = "skycall-sound";
    button.textContent = "Turn on sound";
    button.onclick = () => {
      video.muted = false;
      video.play().catch(() => {});
      button.remove();
    };
    this.element.append(button);
  }

  remove() {
    this.stream.getTracks().forEach((track) => track.stop());
    if (this.video) this.video.srcObject = null;
    this.element.remove();
  }
}
