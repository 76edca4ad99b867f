"""The home page: start a call, or join one by id or link."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from ..api import client_address
from ..calls import Calls, room_from_reference
from ..errors import MESSAGES, SkyCallError
from ..icons import ICONS
from ..protocol import new_peer_id
from . import frame, memory


def register(calls: Calls) -> None:
    @ui.page('/')
    async def home(request: Request) -> None:
        frame.theme('')
        frame.header()

        async def start(name: str) -> None:
            try:
                room = await calls.start(client_address(request))
            except SkyCallError as error:
                frame.notify(error.message, type='negative')
                return
            await enter_call(room, name)

        async def renamed(name: str) -> None:
            await memory.remember(memory.recall().named(name))
            rename_dialog.close()
            show_name()

        start_dialog, _ = frame.name_dialog('Start a call', 'Start', start)
        rename_dialog, _ = frame.name_dialog('Your name', 'Save', renamed)
        join_dialog = _join_dialog(calls)

        with ui.column().classes('full-width skycall-center skycall-page skycall-gap-6 q-px-md text-center'):
            frame.logo('skycall-logo-large')
            ui.label('SkyCall').classes('skycall-text-4xl text-weight-bold')
            ui.label('Private video calls for your team. No accounts, just a link.').classes('skycall-dim')
            with ui.row().classes('justify-center'):
                ui.button('Start a call', icon=ICONS['videocam'], on_click=start_dialog.open) \
                    .props('unelevated size=lg')
                ui.button('Join a call', icon=ICONS['login'], on_click=join_dialog.open).props('outline size=lg')
                ui.button('Test call', icon=ICONS['video_settings'], on_click=lambda: ui.navigate.to('/echo')) \
                    .props('outline size=lg')
            with ui.row().classes('skycall-center skycall-gap-2 skycall-dim skycall-mt-8') as you:
                you_are = ui.label()
                ui.button('Change name', on_click=rename_dialog.open).props('flat dense no-caps')

        def show_name() -> None:
            you_are.text = f'You are {frame.stored_name()}'
            you.set_visibility(bool(frame.stored_name()))

        show_name()


async def enter_call(room: str, name: str) -> None:
    """Go to the call page of ``room``, remembered in the browser with ``name`` and a peer id (the call
    page reads both from the cookie; a reload there keeps them)."""
    known = memory.recall()
    await memory.remember(known.named(name).with_peer(room, known.peer(room) or new_peer_id()))
    ui.navigate.to(f'/call/{room}')


def _join_dialog(calls: Calls) -> ui.dialog:
    with ui.dialog() as dialog, ui.card().classes('skycall-card skycall-dialog'):
        ui.label('Join a call').classes('skycall-text-xl')
        name = frame.name_input()
        link = ui.input('Room ID or link',
                        validation=lambda v: None if room_from_reference(v) else 'Paste an invite link or a room ID.')
        link.props('maxlength=2048 outlined dark').classes('full-width')
        problem = ui.label().classes('skycall-error')
        problem.set_visibility(False)

        async def join() -> None:
            if not (name.validate() and link.validate()):
                return
            room = room_from_reference(link.value)
            if room is None or not await calls.exists(room):
                problem.text = MESSAGES['no-such-room']
                problem.set_visibility(True)
                return
            await enter_call(room, name.value)

        link.on('keydown.enter', join)
        with ui.row().classes('full-width justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Join', on_click=join).props('unelevated')
    return dialog
