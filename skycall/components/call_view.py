"""The call's browser side as a NiceGUI element: camera, signaling socket, peer connections, videos."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ..pages.icons import ICONS
from ..signaling import SOCKETIO_PATH

EARLY_START = """<script type="module">
  window.skycallEarly = {
    socket: typeof io === "function" ? io({ path: "SIGNAL_PATH", transports: ["websocket"] }) : null,
    media: navigator.mediaDevices?.getUserMedia?.({ video: { width: 640, height: 480 }, audio: true }),
  };
  window.skycallEarly.media?.catch(() => {}); // the element reports a refusal; no unhandled rejection here
</script>""".replace('SIGNAL_PATH', SOCKETIO_PATH)


class CallView(ui.element, component='call_view.js', esm={'skycall': 'js'}):
    """Runs a call in the browser.

    Someone knocking is shown and answered by the element itself (no round trip through Python).
    Events (each with a dict): ``joined``, ``waiting``, ``join-failed``, ``declined``, ``peer-joined``,
    ``peer-left``, ``chat``, ``status``, ``media``, ``media-error``, ``connection``, ``layout``, ``error``.
    """

    def __init__(self, ticket: str, ice_servers: list[dict[str, Any]], ring: bool = False) -> None:
        super().__init__()
        self._props['ticket'] = ticket
        self._props['ice-servers'] = ice_servers
        self._props['ring'] = ring
        self._props['icons'] = {'answer': ICONS['call'], 'decline': ICONS['call_end']}

    @staticmethod
    def early_start() -> None:
        """Start the camera and the signaling connection while the page's scripts still start up.

        A module script runs after socket.io's script and before NiceGUI creates the Vue app; the
        element adopts both when it mounts (about a tenth of a second earlier than from mounted()).
        """
        ui.add_body_html(EARLY_START)

    def start(self, ticket: str) -> None:
        """Join with this ticket (the element was created without one: a preview until now)."""
        self._props['ticket'] = ticket
        self.update()
        self.run_method('start', ticket)

    def set_ticket(self, ticket: str) -> None:
        """Hand the browser a fresh ticket for its next (re)join."""
        self._props['ticket'] = ticket
        self.update()

    def set_ring(self, ring: bool) -> None:
        self._props['ring'] = ring
        self.update()

    async def send_chat(self, text: str) -> dict[str, Any]:
        return await self._request('send_chat', text)

    def set_audio(self, on: bool) -> None:
        self.run_method('set_audio', on)

    def set_video(self, on: bool) -> None:
        self.run_method('set_video', on)

    async def hang_up(self) -> None:
        """Leave the room (or stop knocking) and release camera and microphone."""
        await self.run_method('hang_up', timeout=3)

    async def _request(self, method: str, *args: Any) -> dict[str, Any]:
        reply = await self.run_method(method, *args, timeout=6)
        return reply if isinstance(reply, dict) else {'ok': False, 'message': 'No answer from the page.'}
