"""The call page's layout: video 75 % and chat 25 % on a desktop; full-screen video on a phone."""

CSS = """
.nicegui-content { padding: 0; gap: 0; height: 100dvh; flex-wrap: nowrap; }
.skycall-call { display: flex; width: 100%; flex: 1; min-height: 0; }
.skycall-video-area { flex: 1 1 75%; min-width: 0; display: flex; flex-direction: column; padding: 8px; gap: 8px; }
.skycall-chat { flex: 0 0 25%; min-width: 240px; display: flex; flex-direction: column; padding: 8px; gap: 8px;
                background: #111827; }
.skycall-chat.closed { display: none; }
.skycall-chat-log { position: relative; flex: 1; width: 100%; min-height: 0; }
.skycall-jump { position: absolute; bottom: .5rem; left: 50%; transform: translateX(-50%); }
.skycall-grow { flex: 1; }
.skycall-phone-only { display: none; }
.skycall-stage-wrap { position: relative; flex: 1; min-height: 240px; }
.skycall-stage { position: absolute; inset: 0; background: #020617; border-radius: 12px; overflow: hidden; }
.skycall-remotes { position: absolute; inset: 0; display: grid; gap: 4px;
                   grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); }
.skycall-tile { position: relative; background: #000; display: flex; align-items: center; justify-content: center; }
.skycall-tile video { width: 100%; height: 100%; object-fit: contain; }
.skycall-initials { display: none; width: 96px; height: 96px; border-radius: 50%; background: #2563eb; color: #fff;
                    font-size: 36px; font-weight: 600; align-items: center; justify-content: center; }
.skycall-tile.camera-off video { visibility: hidden; position: absolute; }
.skycall-tile.camera-off .skycall-initials { display: flex; }
.skycall-muted { display: none !important; position: absolute; right: 8px; bottom: 8px; padding: 4px;
                 border-radius: 50%; background: #dc2626; color: #fff; width: 28px; height: 28px; }
.skycall-muted svg { display: block; width: 20px; height: 20px; fill: currentColor; }
.skycall-tile.mic-off .skycall-muted { display: block !important; }
/* Names sit isolated from the words around them: a right-to-left name cannot reorder the app's own words. */
.skycall-name, .q-message-name, .skycall-knock-title bdi { unicode-bidi: isolate; }
.skycall-name { position: absolute; left: 8px; bottom: 8px; padding: 2px 8px; border-radius: 6px;
                background: rgba(0,0,0,.55); color: #fff; font-size: 14px; }
.skycall-sound { position: absolute; right: 8px; top: 8px; padding: 6px 12px; border-radius: 6px;
                 border: 0; background: transparent; color: inherit; font: inherit; }
.skycall-local { position: absolute; right: 12px; bottom: 12px; width: 22%; min-width: 96px; max-width: 260px;
                 border-radius: 8px; border: 2px solid rgba(255,255,255,.6); background: #111; z-index: 2;
                 transform: scaleX(-1); }
.skycall-local.off { visibility: hidden; }
.skycall-calling { position: absolute; inset: 0; z-index: 3; display: flex; flex-direction: column; gap: 12px;
                   align-items: center; justify-content: center; background: rgba(2,6,23,.55); text-align: center; }
.skycall-knock { display: flex; flex-direction: column; gap: 16px; padding: 16px; }
.skycall-knock-title { font-size: 1.25rem; line-height: 1.75rem; overflow-wrap: anywhere; }
.skycall-knock-actions { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: 8px; }
.skycall-controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; justify-content: center; }
.skycall-controls .q-btn { min-height: 44px; }
@media (max-width: 600px) {
  .skycall-video-area { padding: 4px; }
  .skycall-stage-wrap { min-height: 0; }
  .skycall-stage { border-radius: 0; }
  .skycall-chat { position: fixed; inset: 0; z-index: 4000; width: 100%; min-width: 0; }
  .skycall-chat:not(.open) { display: none; }
  .skycall-phone-only { display: inline-flex; }
  .skycall-controls .q-btn { min-width: 44px; }
}
"""
