// Injected before any page script (Playwright's add_init_script) to time a call from outside the app:
// it wraps getUserMedia, WebSocket (the signaling socket only), RTCPeerConnection and watches for the
// remote <video>. Every mark is epoch milliseconds (performance.timeOrigin + performance.now()), so
// marks taken in two pages of the same machine can be compared. Nothing here changes what the app does.
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const marks = {};
  const events = []; // [name, epoch ms, detail] in order, for the pages that live across runs
  const mark = (name, detail) => {
    const t = now();
    if (!(name in marks)) marks[name] = t;
    events.push([name, t, detail ?? null]);
  };
  window.__bench = { marks, events, navigationStart: performance.timeOrigin };

  // The invite page's "Join" click, carried across the navigation to the call page.
  // (The invite page is the call page itself; the click is then marked in place.)
  addEventListener("click", () => {
    mark("joinClick");
    sessionStorage.setItem("bench-click", String(now()));
  }, true);
  const click = sessionStorage.getItem("bench-click");
  if (click) {
    marks.joinClick = Number(click);
    sessionStorage.removeItem("bench-click");
  }

  addEventListener("DOMContentLoaded", () => mark("domContentLoaded"));

  // Main-thread work that blocks the page (parsing and running scripts, compiling styles): long tasks.
  const longTasks = [];
  window.__bench.longTasks = longTasks;
  try {
    new PerformanceObserver((list) => {
      for (const task of list.getEntries()) longTasks.push([performance.timeOrigin + task.startTime, task.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch {
    // no long task timing in this browser
  }
  addEventListener("load", () => mark("load"));

  const media = navigator.mediaDevices;
  if (media?.getUserMedia) {
    const getUserMedia = media.getUserMedia.bind(media);
    media.getUserMedia = async (constraints) => {
      mark("cameraRequested");
      const stream = await getUserMedia(constraints);
      mark("cameraReady");
      return stream;
    };
  }

  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes("/signal/socket.io")) return;
      mark("signalingSocketCreated");
      this.addEventListener("open", () => mark("signalingSocketOpen"));
      this.addEventListener("message", ({ data }) => {
        if (typeof data !== "string") return;
        if (data.startsWith("40")) mark("signalingConnected");
        else if (data.startsWith("43") && data.includes('"you"')) {
          // A join acknowledgement: seated, or knocking until someone in the call answers.
          mark(data.includes('"waiting":true') ? "knocking" : "joined");
        } else if (data.startsWith('42["admitted"')) mark("admitted");
        else if (data.startsWith('42["knock"')) {
          mark("knockReceived");
          if (window.__benchAutoAnswer) autoAnswer(this, JSON.parse(data.slice(2))[1].id);
        } else if (data.startsWith('42["signal"')) {
          if (data.includes('"type":"offer"')) mark("offerReceived");
          else if (data.includes('"type":"answer"')) mark("answerReceived");
          else if (data.includes('"candidate"')) mark("candidateReceived");
        } else if (data.startsWith('42["peer-joined"')) mark("peerJoined");
        else if (data.startsWith('42["peer-left"')) mark("peerLeft");
      });
    }
    send(data) {
      if (typeof data === "string" && String(this.url).includes("/signal/socket.io")) {
        if (/^42\d*\["join"/.test(data)) mark("joinSent" in marks ? "rejoinSent" : "joinSent");
        else if (/^42\d*\["answer"/.test(data)) mark("answerKnockSent");
        else if (/^42\d*\["signal"/.test(data)) {
          if (data.includes('"type":"offer"')) mark("offerSent");
          else if (data.includes('"type":"answer"')) mark("answerSent");
          else if (data.includes('"candidate"')) mark("candidateSent");
        }
      }
      return super.send(data);
    }
  };

  const NativePeerConnection = window.RTCPeerConnection;
  if (NativePeerConnection) {
    window.RTCPeerConnection = class extends NativePeerConnection {
      constructor(...args) {
        super(...args);
        mark("peerConnectionCreated");
        this.addEventListener("iceconnectionstatechange", () => {
          if (this.iceConnectionState === "checking") mark("iceChecking");
          if (this.iceConnectionState === "connected") mark("iceConnected");
        });
        this.addEventListener("connectionstatechange", () => {
          if (this.connectionState === "connected") mark("peerConnected");
        });
        this.addEventListener("track", ({ track }) => mark(`${track.kind}Track`));
      }
      async setLocalDescription(...args) {
        const result = await super.setLocalDescription(...args);
        mark(`${this.localDescription?.type}Set`);
        return result;
      }
      async setRemoteDescription(...args) {
        const result = await super.setRemoteDescription(...args);
        mark(`remote${this.remoteDescription?.type === "offer" ? "Offer" : "Answer"}Applied`);
        return result;
      }
    };
  }

  // The remote video is created by the app when the first track arrives; time its first frame.
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      for (const node of mutation.addedNodes) {
        if (!(node instanceof Element)) continue;
        const videos = node instanceof HTMLVideoElement ? [node] : [...node.querySelectorAll("video")];
        for (const video of videos) if (!video.classList.contains("skycall-local")) watchRemoteVideo(video);
      }
    }
  }).observe(document, { childList: true, subtree: true });

  // The host of the call answers a knock the moment the Answer button shows: the machine's part of
  // answering (the popup's round trip through Python, the click's) without a person's reaction time.
  // Should the page show no such button within 3 s, the answer goes straight over the socket.
  function autoAnswer(socket, id) {
    let done = false;
    const finish = () => {
      done = true;
      observer.disconnect();
      clearTimeout(timer);
    };
    const tryClick = () => {
      const button = [...document.querySelectorAll("button")].find((b) => /answer/i.test(b.textContent));
      if (done || !button) return;
      finish();
      mark("answerButtonShown");
      button.click();
    };
    const observer = new MutationObserver(tryClick);
    const timer = setTimeout(() => {
      if (done) return;
      finish();
      mark("answerFallback");
      socket.send(`42["answer",${JSON.stringify({ id })}]`);
    }, 3000);
    observer.observe(document.body, { childList: true, subtree: true });
    tryClick();
  }

  function watchRemoteVideo(video) {
    mark("remoteVideoCreated");
    video.addEventListener("loadedmetadata", () => mark("remoteVideoMetadata"), { once: true });
    video.requestVideoFrameCallback((_now, metadata) => {
      mark("firstFrame", { width: metadata.width, height: metadata.height,
                           presented: performance.timeOrigin + metadata.presentationTime });
    });
  }
})();
