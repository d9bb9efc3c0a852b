"""A raw Reflex 0.10 websocket client, speaking the protocol the generated frontend speaks.

The frontend (`.web/utils/state.js`) opens a socket.io connection on the `/_event` path and
namespace, websocket transport only, with the client token in the query string
(`?token=<uuid>`); Reflex keys the session's state by that token. Each event is emitted as
`event` with `{name, payload, router_data}`, where `name` is `<state full name>.<handler>` and
`router_data` carries `pathname`, `asPath` and `query`. The backend answers with `event` frames
(`{delta, events}`). Request headers (and with them the session cookie) are taken from the
socket's handshake, never from the event: `EventNamespace.on_event` overwrites
`router_data["headers"]` with the handshake's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import socketio

from tests.utils import artifacts

NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
HYDRATE = ROOT_STATE + ".hydrate"


class ReflexClient:
    """One browser tab: a client token, the handshake headers, and every frame received."""

    def __init__(
        self,
        base_url: str,
        *,
        cookie: str | None = None,
        origin: str | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token or str(uuid.uuid4())
        self.headers = {"Origin": origin or self.base_url}
        if cookie is not None:
            self.headers["Cookie"] = cookie
        self.frames: list[tuple[str, Any]] = []
        self._arrived = asyncio.Event()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("*", self._on_any, namespace=NAMESPACE)

    async def _on_any(self, event: str, data: Any = None) -> None:
        self.frames.append((event, data))
        self._arrived.set()

    async def connect(self, timeout: float = 10) -> None:
        ws_url = self.base_url.replace("http", "ws", 1) + f"?token={self.token}"
        try:
            await self.sio.connect(
                ws_url,
                headers=self.headers,
                transports=["websocket"],
                socketio_path="/_event",
                namespaces=[NAMESPACE],
                wait_timeout=timeout,
            )
        except socketio.exceptions.ConnectionError:
            if self.sio.eio.http is not None:  # a refused handshake leaves the HTTP session open
                await self.sio.eio.http.close()
            raise

    async def close(self) -> None:
        await self.sio.disconnect()
        artifacts.record("ws-frames", self.text())  # for the leak sweep

    async def __aenter__(self) -> ReflexClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def emit(
        self, name: str, payload: dict[str, Any] | None = None, router_data: dict[str, Any] | None = None
    ) -> None:
        """Send one event exactly as the frontend would (plus whatever the caller tampers with)."""
        await self.sio.emit(
            "event",
            {"name": name, "payload": payload or {}, "router_data": router_data or {}},
            namespace=NAMESPACE,
        )

    async def call(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        router_data: dict[str, Any] | None = None,
        *,
        settle: float = 0.3,
        timeout: float = 20,
    ) -> list[tuple[str, Any]]:
        """Send an event, then a hydrate as a barrier, and return the frames received meanwhile.

        Non-background events of one token run in order, so the hydrate's full-state frame
        arrives after the event's own frames; `settle` gives background tasks time to report.
        The hydrate frame is a full snapshot of the session's state, which leak scans want anyway.
        """
        start = len(self.frames)
        await self.emit(name, payload, router_data)
        await self.emit(HYDRATE, {}, router_data or {"pathname": "/login", "asPath": "/login"})
        await self._wait_for(lambda frame: _is_snapshot(frame), start, timeout)
        await self.quiet(settle)
        return self.frames[start:]

    async def quiet(self, seconds: float) -> None:
        """Wait until no frame arrived for `seconds`."""
        while True:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), seconds)
            except TimeoutError:
                return

    async def _wait_for(self, match: Any, start: int, timeout: float) -> None:
        async def scan() -> None:
            seen = start
            while True:
                while seen < len(self.frames):
                    if match(self.frames[seen]):
                        return
                    seen += 1
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(scan(), timeout)

    def text(self, frames: list[tuple[str, Any]] | None = None) -> str:
        """Every frame as JSON text, for leak scans."""
        return "\n".join(json.dumps(f, default=str) for f in (self.frames if frames is None else frames))

    @staticmethod
    def redirects(frames: list[tuple[str, Any]]) -> list[str]:
        """Paths of `_redirect` events the backend told the browser to follow."""
        return [
            str(event.get("payload", {}).get("path"))
            for name, data in frames
            if name == "event" and isinstance(data, dict)
            for event in data.get("events") or []
            if event.get("name") == "_redirect"
        ]

    @staticmethod
    def state(frames: list[tuple[str, Any]], state_name: str) -> dict[str, Any]:
        """The latest value of each var of one state, merged from the frames' deltas."""
        merged: dict[str, Any] = {}
        for name, data in frames:
            if name == "event" and isinstance(data, dict):
                merged.update((data.get("delta") or {}).get(state_name) or {})
        return merged


def _is_snapshot(frame: tuple[str, Any]) -> bool:
    name, data = frame
    if name != "event" or not isinstance(data, dict):
        return False
    root = (data.get("delta") or {}).get(ROOT_STATE) or {}
    return "is_hydrated" in {key.removesuffix("_rx_state_") for key in root} and len(data["delta"]) > 2
