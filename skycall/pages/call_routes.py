"""Where the call page is served: ``/dial/<room>`` (the invite, behind the name dialog) and ``/call/<room>``.

What the browser remembers (pages/memory.py) decides who comes back: its name, and its peer id in the room,
so that a reload takes over its own seat instead of knocking again.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import ui

from ..calls import Calls
from ..protocol import new_peer_id
from . import frame, memory
from .call import CallPage, show_call_full
from .call_style import CSS


def register(calls: Calls, ice_servers: list[dict[str, Any]], ticket_refresh_seconds: float,
             max_participants: int) -> None:
    @ui.page('/dial/{room}')
    async def dial(room: str, request: Request) -> None:
        """The invite: the call page itself, behind a "Your name" dialog.

        Camera and signaling start at once, while the person types their name (they see themselves
        behind the dialog); Join only hands the element its ticket. No second page load stands between
        the invite and the call, and the address becomes /call/<room> so a reload stays in the call.
        Nothing is stored for the visitor before Join.
        """
        if not await calls.exists(room):
            frame.not_found()
            return
        if await _no_seat_left(calls, room, memory.recall().peer(room), max_participants):
            show_call_full(max_participants)
            return
        frame.theme('Join a call')
        ui.add_css(CSS)
        frame.header()
        page = CallPage(calls, None, ice_servers, invite=_invite(request, room),
                        ticket_refresh_seconds=ticket_refresh_seconds)

        async def enter(name: str) -> None:
            known = memory.recall()
            peer = known.peer(room) or new_peer_id()
            page.start(await calls.ticket(room, name, peer))
            ui.page_title('Call · SkyCall')
            ui.navigate.history.replace(f'/call/{room}')
            memory.remember_soon(known.named(name).with_peer(room, peer))  # the call does not wait for it
            dialog.delete()  # gone at once (closing would leave it in the page while it fades); last

        async def leave() -> None:
            if page.ticket is None:  # closed without joining
                await page.view.hang_up()
                frame.go_home()

        dialog, _ = frame.name_dialog('Join a call', 'Join', enter)
        dialog.props('persistent transition-show=none')  # there as the page appears: no zoom to wait for
        dialog.on('hide', leave)
        dialog.open()

    @ui.page('/call/{room}')
    async def call(room: str, request: Request) -> None:
        if not await calls.exists(room):
            frame.not_found()
            return
        known = memory.recall()
        if not known.name:
            ui.navigate.to(f'/dial/{room}')
            return
        peer = known.peer(room)
        if await _no_seat_left(calls, room, peer, max_participants):
            show_call_full(max_participants)
            return
        if peer is None:  # a /call link opened directly (home's Start and Join remember the room's peer id)
            peer = new_peer_id()
            memory.remember_soon(known.with_peer(room, peer))
        ticket = await calls.ticket(room, known.name, peer)
        frame.theme('Call')
        ui.add_css(CSS)
        frame.header()
        CallPage(calls, ticket, ice_servers, invite=_invite(request, room),
                 ticket_refresh_seconds=ticket_refresh_seconds)


async def _no_seat_left(calls: Calls, room: str, peer: str | None, max_participants: int) -> bool:
    """Every seat taken by someone else (this browser's own seat, ``peer``, after a reload, does not count)."""
    return len([m for m in await calls.store.members(room) if m.id != peer]) >= max_participants


def _invite(request: Request, room: str) -> str:
    return f'{str(request.base_url).rstrip("/")}/dial/{room}'
