"""The call's browser side as a NiceGUI element: camera, signaling socket, peer connections, videos.

``CallView`` is a typed boundary: what Python needs to know goes to the browser as props (one source
for values both sides use), what the browser reports comes back as the typed events of
``call_events.py``, registered with ``on_status(handler)`` and the like.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nicegui import ui
from nicegui.events import GenericEventArguments, Handler, UiEventArguments, handle_event

from ..icons import ICONS, svg_path
from ..signaling import SOCKETIO_PATH
from .call_events import (
    MAX_CODE,
    AdmittedEvent,
    Args,
    ChatEvent,
    ConnectionEvent,
    DeclinedEvent,
    JoinedEvent,
    LayoutEvent,
    MediaErrorEvent,
    MediaEvent,
    NoAnswerEvent,
    PeerJoinedEvent,
    PeerLeftEvent,
    ProblemEvent,
    StatusEvent,
    WaitingEvent,
)

CAMERA = {'width': 640, 'height': 480}  # what we ask of a camera, in the early start and in the element
# Join refusals after which the call cannot go on (errors.py codes): the browser stops rejoining, the page
# says why in a dialog.
JOIN_REFUSALS = ('room-full', 'no-such-room', 'bad-ticket')

EARLY_START = """<script type="module">
  window.skycallEarly = {
    socket: typeof io === "function" ? io({ path: SIGNAL_PATH, transports: ["websocket"] }) : null,
    media: navigator.mediaDevices?.getUserMedia?.({ video: CAMERA, audio: true }),
  };
  window.skycallEarly.media?.catch(() => {}); // the element reports a refusal; no unhandled rejection here
</script>""".replace('SIGNAL_PATH', json.dumps(SOCKETIO_PATH)).replace('CAMERA', json.dumps(CAMERA))


class Reply:
    """The server's answer to a request made through the element (``ok``, else a ``code`` and a ``message``)."""

    __slots__ = ('ok', 'code', 'message')

    def __init__(self, raw: Any) -> None:
        args = Args(raw)
        self.ok = args.flag('ok')
        self.code = args.text('code', MAX_CODE)
        self.message = args.message() if isinstance(raw, dict) else 'No answer from the page.'


class CallView(ui.element, component='call_view.js', esm={'skycall': 'js'}):
    """Runs a call in the browser.

    Someone knocking is shown and answered by the element itself (no round trip through Python).
    """

    def __init__(self, ticket: str, ice_servers: list[dict[str, Any]], ring: bool = False) -> None:
        super().__init__()
        self._props['ticket'] = ticket
        self._props['ice-servers'] = ice_servers
        self._props['ring'] = ring
        self._props['camera'] = CAMERA
        self._props['signal-path'] = SOCKETIO_PATH
        self._props['refusals'] = list(JOIN_REFUSALS)
        self._props['icons'] = {'answer': ICONS['call'], 'decline': ICONS['call_end'], 'micOff': svg_path('mic_off')}

    @staticmethod
    def early_start() -> None:
        """Start the camera and the signaling connection while the page's scripts still start up.

        A module script runs after socket.io's script and before NiceGUI creates the Vue app; the
        element adopts both when it mounts (about a tenth of a second earlier than from mounted()).
        """
        ui.add_body_html(EARLY_START)

    # ---- what the browser reports ----

    def _on(self, event: str, parse: Callable[[CallView, Args], UiEventArguments], handler: Handler[Any]) -> None:
        def emitted(e: GenericEventArguments) -> None:
            handle_event(handler, parse(self, Args(e.args)))

        self.on(event, emitted)

    def on_status(self, handler: Handler[StatusEvent]) -> None:
        self._on('status', StatusEvent.parse, handler)

    def on_layout(self, handler: Handler[LayoutEvent]) -> None:
        self._on('layout', LayoutEvent.parse, handler)

    def on_waiting(self, handler: Handler[WaitingEvent]) -> None:
        """We knocked; someone in the call has to answer."""
        self._on('waiting', WaitingEvent.parse, handler)

    def on_joined(self, handler: Handler[JoinedEvent]) -> None:
        self._on('joined', JoinedEvent.parse, handler)

    def on_admitted(self, handler: Handler[AdmittedEvent]) -> None:
        """We were let in after knocking (the element joins again by itself)."""
        self._on('admitted', AdmittedEvent.parse, handler)

    def on_no_answer(self, handler: Handler[NoAnswerEvent]) -> None:
        """Nobody answered our knock: the server ended it at the ring timeout, and the element hung up."""
        self._on('no-answer', NoAnswerEvent.parse, handler)

    def on_declined(self, handler: Handler[DeclinedEvent]) -> None:
        self._on('declined', DeclinedEvent.parse, handler)

    def on_join_failed(self, handler: Handler[ProblemEvent]) -> None:
        """The join was refused (a code in JOIN_REFUSALS: for good) or got no answer (code ``timeout``)."""
        self._on('join-failed', ProblemEvent.parse, handler)

    def on_error(self, handler: Handler[ProblemEvent]) -> None:
        self._on('error', ProblemEvent.parse, handler)

    def on_peer_joined(self, handler: Handler[PeerJoinedEvent]) -> None:
        self._on('peer-joined', PeerJoinedEvent.parse, handler)

    def on_peer_left(self, handler: Handler[PeerLeftEvent]) -> None:
        self._on('peer-left', PeerLeftEvent.parse, handler)

    def on_chat(self, handler: Handler[ChatEvent]) -> None:
        self._on('chat', ChatEvent.parse, handler)

    def on_media(self, handler: Handler[MediaEvent]) -> None:
        self._on('media', MediaEvent.parse, handler)

    def on_media_error(self, handler: Handler[MediaErrorEvent]) -> None:
        self._on('media-error', MediaErrorEvent.parse, handler)

    def on_connection(self, handler: Handler[ConnectionEvent]) -> None:
        self._on('connection', ConnectionEvent.parse, handler)

    # ---- what Python asks of the browser ----

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

    async def send_chat(self, text: str) -> Reply:
        return Reply(await self.run_method('send_chat', text, timeout=6))

    def set_audio(self, on: bool) -> None:
        self.run_method('set_audio', on)

    def set_video(self, on: bool) -> None:
        self.run_method('set_video', on)

    async def hang_up(self) -> None:
        """Leave the room (or stop knocking) and release camera and microphone."""
        await self.run_method('hang_up', timeout=3)

