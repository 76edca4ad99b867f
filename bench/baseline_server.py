"""A bare python-socketio relay, to calibrate the relay benchmark: the same clients and messages
against a server that does nothing but seat and relay. What SkyCall's relay takes beyond this is
SkyCall's own (validation, rate limits, the store, NiceGUI's middleware); what this one takes is the
floor of python-socketio, uvicorn's websocket implementation and the benchmark's own clients.

``python -m bench.baseline_server PORT WS`` with WS ``wsproto`` (what NiceGUI runs uvicorn with) or
``websockets``. A ticket is ``<room>.<peer>``; nothing is checked.
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

SOCKETIO_PATH = '/signal/socket.io'


def create_app() -> Starlette:
    server = socketio.AsyncServer(async_mode='asgi', transports=['websocket'], ping_interval=4, ping_timeout=5)

    @server.on('join')
    async def join(sid: str, data: Any) -> dict[str, Any]:
        room, peer = str(data['ticket']).split('.', 1)
        await server.save_session(sid, {'room': room, 'peer': peer})
        await server.enter_room(sid, f'room:{room}')
        await server.enter_room(sid, f'peer:{room}:{peer}')
        return {'ok': True, 'waiting': False, 'you': {'id': peer, 'name': ''}, 'peers': []}

    @server.on('signal')
    async def signal(sid: str, data: Any) -> dict[str, Any]:
        session = await server.get_session(sid)
        payload = {key: value for key, value in data.items() if key != 'to'}
        await server.emit('signal', {'from': session['peer'], **payload}, room=f'peer:{session["room"]}:{data["to"]}')
        return {'ok': True}

    async def healthz(_: Any) -> JSONResponse:
        return JSONResponse({'status': 'ok'})

    return Starlette(routes=[Route('/healthz', healthz),
                             Mount('/signal', socketio.ASGIApp(server, socketio_path=SOCKETIO_PATH))])


if __name__ == '__main__':
    port, ws = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(create_app(), host='127.0.0.1', port=port, ws=ws, log_level='warning')
