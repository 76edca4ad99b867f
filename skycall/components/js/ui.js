// Small helpers for what the call view shows a person.

/** The server's timestamp as the person's local time of day. @param {number} ts seconds */
export function clockTime(ts) {
  return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "Ada Lovelace" -> "AL". @param {string} name */
export function initials(name) {
  const words = (name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((word) => Array.from(word)[0]).join("").toUpperCase() || "?";
}

/** A short two-tone ring, made with WebAudio (no sound file to ship). */
export function ring() {
  try {
    const context = new AudioContext();
    [0, 0.35].forEach((start, i) => {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.frequency.value = i ? 660 : 880;
      gain.gain.setValueAtTime(0.15, context.currentTime + start);
      gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + start + 0.3);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(context.currentTime + start);
      oscillator.stop(context.currentTime + start + 0.3);
    });
    setTimeout(() => context.close(), 1000);
  } catch {
    // no sound is no reason to miss the popup
  }
}

/**
 * What to tell a person whose camera or microphone did not start.
 * @param {any} error the getUserMedia error @param {MediaStream | null} stream what did start
 */
export function describeMediaError(error, stream) {
  const missing = !stream ? "camera and microphone" : stream.getVideoTracks().length ? "microphone" : "camera";
  const name = error?.name;
  if (name === "SecurityError")
    return `This page may not use a ${missing.replace(" and ", " or ")}: open SkyCall over https. You can still join and chat.`;
  if (name === "NotAllowedError")
    return `SkyCall may not use your ${missing}. Allow it in the browser's site settings; you can still join and chat.`;
  if (name === "NotFoundError" || name === "OverconstrainedError")
    return `No ${missing.replace(" and ", " or ")} was found. You can still join and use the chat.`;
  if (name === "NotReadableError")
    return `Your ${missing} is in use by another program. Close it and reload the page.`;
  return `Your ${missing} could not be started (${name ?? "unknown error"}). You can still use the chat.`;
}

/** What to tell a person whose camera or microphone stopped during the call. @param {string} kind */
export function describeEndedTrack(kind) {
  const device = kind === "video" ? "camera" : "microphone";
  return `Your ${device} stopped (unplugged?). Plug it back in: SkyCall picks it up again by itself.`;
}
