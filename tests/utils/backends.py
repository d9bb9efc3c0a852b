"""A scaled-out console for tests: one frontend build, N backend-only processes, one switching proxy.

Topology (what README's "Production" section describes, in miniature):

    browser / httpx ─> SwitchingProxy (the load balancer; in-process, aiohttp)
                         ├─ static pages ──> `reflex run --env prod --frontend-only` (built once)
                         └─ /_event (websocket), /api, /v1, ... ─> backend "a" or "b":
                              `reflex run --env prod --backend-only`, two Granian workers each
    backends "a" and "b" share one Postgres database and one Redis database (OAuth state, Reflex state).

The frontend is built with `REFLEX_API_URL` = the proxy's URL, so the browser opens its websocket
through the proxy. The proxy sends backend paths to the backend named by the `X-Backend` request header
or, without it, to the one the test last chose with `route_to()`; it records which upstream served
every request and every websocket, so tests can prove where things ran. The build goes to a web
directory of its own (`REFLEX_WEB_WORKDIR`), so it never touches `.web/` of a console running next to it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from devtools.server import reflex_env
from tests.utils.artifacts import ARTIFACTS, ROOT
from tests.utils.live import free_port, sandbox_env, seed_demo, serve_sandbox

# Everything Reflex and the console serve from the backend; the rest is the static frontend.
BACKEND_PATHS = (
    "/_event",
    "/ping",
    "/_health",
    "/_upload",
    "/_all_routes",
    "/auth-codespace",
    "/api/",
    "/v1/",
    "/openapi.json",
)
ROUTE_HEADER = "X-Backend"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    ROUTE_HEADER.lower(),
}
# aiohttp's websocket client writes its own handshake.
WS_HANDSHAKE = {
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
}


class SwitchingProxy:
    """A small reverse proxy (HTTP and websockets) whose backend the test chooses."""

    def __init__(self, port: int, frontend: str, backends: dict[str, str]) -> None:
        self.port = port
        self.url = f"http://localhost:{port}"
        self.frontend = frontend
        self.backends = backends
        self.active: str | None = next(iter(backends))
        self.served: list[tuple[str, str]] = []  # (upstream, "METHOD /path") of every HTTP request
        self.websockets: list[str] = []  # the backend of every websocket opened, in order
        self._open: list[tuple[str, web.WebSocketResponse, aiohttp.ClientWebSocketResponse]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="switching-proxy")
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    # -- control, from the test's thread ---------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._call(self._start())

    def stop(self) -> None:
        with suppress(Exception):
            self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def route_to(self, name: str | None, *, drop_websockets: bool = False) -> None:
        """Send backend traffic to `name` from now on (None: no backend, 502, like a load balancer with
        no healthy backend); optionally close websockets held by the others (what a load balancer does
        when it drains a backend): their browsers reconnect to `name`."""
        if name is not None and name not in self.backends:
            raise KeyError(name)
        self.active = name
        if drop_websockets:
            self._call(self._drop_websockets(keep=name))

    def served_by(self, name: str) -> list[str]:
        return [what for upstream, what in list(self.served) if upstream == name]

    def _call(self, coroutine: object, timeout: float = 30) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)  # type: ignore[arg-type]

    # -- the server, on the proxy's own event loop -----------------------------------------------

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies belong to the browsers, not to the proxy
            timeout=aiohttp.ClientTimeout(total=60, sock_connect=5),
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        await self._drop_websockets(keep=None)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _drop_websockets(self, keep: str | None) -> None:
        for name, client, upstream in list(self._open):
            if name != keep:
                await upstream.close()
                await client.close(code=1012, message=b"backend drained")  # 1012: service restart

    def _upstream(self, request: web.Request) -> tuple[str, str]:
        if not request.path.startswith(BACKEND_PATHS):
            return "frontend", self.frontend
        name = request.headers.get(ROUTE_HEADER) or self.active
        if name is None:
            raise web.HTTPBadGateway(text="no backend")
        if name not in self.backends:
            raise web.HTTPBadRequest(text=f"unknown backend {name!r}")
        return name, self.backends[name]

    @staticmethod
    def _forwarded_headers(request: web.Request, drop: set[str]) -> CIMultiDict[str]:
        # Host is kept: redirects the upstreams build from it must point at the proxy.
        return CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in drop)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name, base = self._upstream(request)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, name, base)
        self.served.append((name, f"{request.method} {request.path}"))
        assert self._session is not None
        body = await request.read()
        try:
            async with self._session.request(
                request.method,
                base + request.path_qs,
                headers=self._forwarded_headers(request, HOP_BY_HOP),
                data=body or None,
                allow_redirects=False,
            ) as answer:
                content = await answer.read()
                headers = CIMultiDict(
                    (k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP
                )
                return web.Response(status=answer.status, body=content, headers=headers)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return web.Response(status=502, text=f"{name} is unreachable: {type(exc).__name__}")

    async def _websocket(self, request: web.Request, name: str, base: str) -> web.StreamResponse:
        assert self._session is not None
        protocols = [
            p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()
        ]
        try:
            upstream = await self._session.ws_connect(
                base.replace("http", "ws", 1) + request.path_qs,
                headers=self._forwarded_headers(request, HOP_BY_HOP | WS_HANDSHAKE),
                protocols=protocols,
                max_msg_size=0,
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # The handshake fails like a dead backend's would; the browser retries.
            return web.Response(status=502, text=f"{name} is unreachable: {type(exc).__name__}")
        client = web.WebSocketResponse(protocols=protocols, max_msg_size=0)
        await client.prepare(request)
        entry = (name, client, upstream)
        self._open.append(entry)
        self.websockets.append(name)
        try:
            pumps = [
                asyncio.ensure_future(self._pump(client, upstream)),
                asyncio.ensure_future(self._pump(upstream, client)),
            ]
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pumps:
                pump.cancel()
        finally:
            self._open.remove(entry)
            await upstream.close()
            await client.close()
        return client

    @staticmethod
    async def _pump(
        source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        target: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    ) -> None:
        async for message in source:
            try:
                if message.type == WSMsgType.TEXT:
                    await target.send_str(message.data)
                elif message.type == WSMsgType.BINARY:
                    await target.send_bytes(message.data)
                else:
                    return
            except (ConnectionError, aiohttp.ClientError):
                return


@dataclass
class Service:
    """One `reflex run` process (its own process group) with its log in test-artifacts/."""

    name: str
    port: int
    command: list[str]
    env: dict[str, str]
    ready_path: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("a") as log:
            log.write(f"\n=== start {self.name}: {' '.join(self.command[1:])}\n")
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n" + self.log_path.read_text()[-3000:])
            with suppress(httpx.HTTPError):
                if httpx.get(self.url + self.ready_path, timeout=3).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not become ready:\n" + self.log_path.read_text()[-3000:])

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal the whole process group (reflex, granian and its workers) and wait for the exit."""
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        _wait_group_gone(self.process.pid)

    def processes(self) -> int:
        """How many processes the service runs (reflex, the server and its workers)."""
        if self.process is None:
            return 0
        return sum(1 for pid in _pids() if _pgid(pid) == self.process.pid)


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _wait_group_gone(pgid: int, timeout: float = 20) -> None:
    """A killed group's workers can outlive their parent for a moment; a restart needs the port back."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_pgid(pid) == pgid and _alive(pid) for pid in _pids()):
            return
        time.sleep(0.2)
    raise RuntimeError(f"process group {pgid} did not exit")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def port_is_free(port: int) -> bool:
    """Reflex's own check before it starts a server: can it bind (with SO_REUSEADDR, so TIME_WAIT is fine)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return False
    return True


@dataclass
class ScaleOut:
    url: str
    proxy: SwitchingProxy
    frontend: Service
    backends: dict[str, Service]
    canary: str

    def restart(self, name: str) -> None:
        backend = self.backends[name]
        backend.stop(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not port_is_free(backend.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {backend.port} of backend {name} stayed busy")
            time.sleep(0.2)
        backend.start()
        backend.wait_ready()


REFLEX = str(Path(sys.executable).parent / "reflex")


def backend_command(port: int) -> list[str]:
    """One backend: the websocket, the API and the callback; no frontend (Granian, GRANIAN_WORKERS)."""
    return [REFLEX, "run", "--env", "prod", "--backend-only", "--backend-port", str(port)]


def frontend_command(port: int) -> list[str]:
    """Compile and build the frontend once, then serve the static build."""
    return [REFLEX, "run", "--env", "prod", "--frontend-only", "--frontend-port", str(port)]


@contextmanager
def scale_out(
    database_url: str, redis_url: str, canary: str, backends: tuple[str, ...] = ("a", "b")
) -> Iterator[ScaleOut]:
    """Build the frontend once, start the backends (two workers each) and the proxy in front."""
    ARTIFACTS.mkdir(exist_ok=True)
    proxy_port = free_port()
    public = f"http://localhost:{proxy_port}"
    with ExitStack() as stack:
        web_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tms-scale-"))) / "web"
        # The sandbox providers on their own origin, as in production a provider is.
        sandbox_url = f"http://localhost:{free_port()}"
        stack.enter_context(serve_sandbox(sandbox_url, console_url=public, canary=canary))
        env = reflex_env(os.environ.copy())
        env.update(
            sandbox_env(sandbox_url, canary)
            | {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "PUBLIC_BASE_URL": public,
                "REFLEX_API_URL": public,  # the built pages open their websocket through the proxy
                "REFLEX_DEPLOY_URL": public,
                "REFLEX_WEB_WORKDIR": str(web_dir),
                "GRANIAN_WORKERS": "2",
                "TMS_ENV": "test",
            }
        )
        seed_demo()

        frontend = Service(
            "frontend",
            (port := free_port()),
            frontend_command(port),
            env,
            "/login/",
            ARTIFACTS / "scale-frontend.log",
        )
        servers = {
            name: Service(
                f"backend-{name}",
                (port := free_port()),
                backend_command(port),
                env,
                "/api/health",
                ARTIFACTS / f"scale-backend-{name}.log",
            )
            for name in backends
        }
        for service in (frontend, *servers.values()):
            service.log_path.write_text("")
            stack.callback(service.stop)
        # The build first (it is what the backends' CSP hashes are computed from), then the backends.
        frontend.start()
        frontend.wait_ready()
        for service in servers.values():
            service.start()
        for service in servers.values():
            service.wait_ready()

        upstreams = {name: service.url for name, service in servers.items()}
        proxy = SwitchingProxy(proxy_port, frontend.url, upstreams)
        proxy.start()
        stack.callback(proxy.stop)
        yield ScaleOut(public, proxy, frontend, servers, canary)
