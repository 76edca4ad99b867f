"""The call's browser side as a NiceGUI element: camera, signaling socket, peer connections, videos."""

from __future__ import annotations

from typing import Any

from nicegui import ui


class CallView(ui.element, component='call_view.js', esm={'skycall': 'js'}):
    """Runs a call in the browser. Events: joined, peer-joined, peer-left, chat, status, error, media-error."""

    def __init__(self, ticket: str, ice_servers: list[dict[str, Any]]) -> None:
        super().__init__()
        self._props['ticket'] = ticket
        self._props['ice-servers'] = ice_servers

    def set_ticket(self, ticket: str) -> None:
        """Hand the browser a fresh ticket for its next (re)join."""
        self._props['ticket'] = ticket
        self.update()

    async def send_chat(self, text: str) -> dict[str, Any]:
        reply = await self.run_method('send_chat', text, timeout=6)
        return reply if isinstance(reply, dict) else {'ok': False, 'message': 'No answer from the page.'}

    async def hang_up(self) -> None:
        await self.run_method('hang_up', timeout=3)
