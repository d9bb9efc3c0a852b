"""Fig 5's floor: a bare python-socketio ASGI app (no Reflex, no console) answering every `event` with
one 13 KB message (the size of the console's hydrate answer). Served by granian (what `reflex run --env
prod` runs) or uvicorn, so per-connection memory of the server and of socket.io is measured alone."""

from __future__ import annotations

import socketio

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
ANSWER = {"delta": "x" * 13_000}


@sio.on("event")
async def event(sid: str, data: object) -> None:
    await sio.emit("event", ANSWER, to=sid)


app = socketio.ASGIApp(sio)
