"""The call's browser side as a NiceGUI element: camera, signaling socket, peer connections, videos."""

from __future__ import annotations

from typing import Any

from nicegui import ui


class CallView(ui.element, component='call_view.js', esm={'skycall': 'js'}):
    """Runs a call in the browser.

    Events (each with a dict): ``joined``, ``waiting``, ``join-failed``, ``declined``, ``knock``,
    ``knock-ended``, ``peer-joined``, ``peer-left``, ``chat``, ``status``, ``media``, ``media-error``,
    ``connection``, ``layout``, ``error``.
    """

    def __init__(self, ticket: str, ice_servers: list[dict[str, Any]], ring: bool = False) -> None:
        super().__init__()
        self._props['ticket'] = ticket
        self._props['ice-servers'] = ice_servers
        self._props['ring'] = ring

    def set_ticket(self, ticket: str) -> None:
        """Hand the browser a fresh ticket for its next (re)join."""
        self._props['ticket'] = ticket
        self.update()

    def set_ring(self, ring: bool) -> None:
        self._props['ring'] = ring
        self.update()

    async def send_chat(self, text: str) -> dict[str, Any]:
        return await self._request('send_chat', text)

    async def answer(self, peer_id: str) -> dict[str, Any]:
        return await self._request('answer_knock', peer_id)

    async def decline(self, peer_id: str) -> dict[str, Any]:
        return await self._request('decline_knock', peer_id)

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
