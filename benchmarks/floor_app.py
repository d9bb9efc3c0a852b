"""The FLOOR: the least a callback (and an install-URL issue) can do, as bare Starlette handlers.

Served by the same `uvicorn --factory` command and flags as the console's API (`create_floor`).

- `/floor/callback/{discord,slack}?code=&state=`: Redis GETDEL of `oauth:state:<sha256(state)>` (the key
  the console's StateStore writes), the provider calls the console must make inside the request for that
  provider, to the same sandbox (one shared httpx client): Discord's token POST (form body, HTTP Basic
  client auth); Slack's `oauth.v2.access` then `auth.test` with the new token (as slack_bolt does). Then
  one Postgres `INSERT ... ON CONFLICT DO UPDATE` of the project_integrations row and the 303. No rate
  limit, no audit, no encryption.
- `/floor/install`: JWT verification (PyJWT), one SELECT of the project, Redis `SET NX EX`, the URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import psycopg
import redis.asyncio as aioredis
from psycopg.types.json import Jsonb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

POOL_SIZE = 15  # the console's web pool: 15 connections kept (persistence/db.py PoolSize)

UPSERT = """
INSERT INTO project_integrations
  (id, tenant_id, project_id, integration_type, meta, status, installed_by_id, installed_by_name,
   created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, 'active', %s, %s, now(), now())
ON CONFLICT (tenant_id, project_id, integration_type) DO UPDATE
  SET meta = EXCLUDED.meta, status = EXCLUDED.status, installed_by_id = EXCLUDED.installed_by_id,
      installed_by_name = EXCLUDED.installed_by_name, updated_at = EXCLUDED.updated_at
RETURNING id
"""


class Pool:
    """A fixed-size pool of autocommit psycopg connections, opened lazily on the server's loop."""

    def __init__(self, url: str, size: int) -> None:
        self._url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._size = size
        self._opened = 0
        self._idle: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()

    async def acquire(self) -> psycopg.AsyncConnection:
        if self._idle.empty() and self._opened < self._size:
            self._opened += 1
            return await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        return await self._idle.get()

    def release(self, conn: psycopg.AsyncConnection) -> None:
        self._idle.put_nowait(conn)


def create_floor() -> Starlette:
    database_url = os.environ["DATABASE_URL"]
    redis = aioredis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=3, socket_connect_timeout=3)
    sandbox = os.environ.get("SANDBOX_BASE_URL") or os.environ["PUBLIC_BASE_URL"]
    public = os.environ["PUBLIC_BASE_URL"]
    token_urls = {
        "discord": f"{sandbox}/sandbox/discord/api/oauth2/token",
        "slack": f"{sandbox}/sandbox/slack/api/oauth.v2.access",
    }
    redirect_uris = {p: f"{public}/api/public/integrations/{p}/callback" for p in token_urls}
    client_auths = {p: (f"sandbox-{p}-client", f"sandbox-{p}-secret") for p in token_urls}
    redirect_uri, client_auth = redirect_uris["discord"], client_auths["discord"]
    jwt_secret = os.environ["JWT_SECRET"]
    pool = Pool(database_url, POOL_SIZE)
    http: dict[str, httpx.AsyncClient] = {}

    def client() -> httpx.AsyncClient:
        if "c" not in http:
            http["c"] = httpx.AsyncClient(
                timeout=httpx.Timeout(10, connect=5),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),  # as oauth/http.py
            )
        return http["c"]

    async def exchange(provider: str, code: str) -> dict[str, Any] | None:
        """The provider calls made inside the request; the meta to store (None: refused)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uris[provider]}
        answer = await client().post(token_urls[provider], data=form, auth=client_auths[provider])
        body = answer.json() if answer.status_code == 200 else {}
        if provider == "discord" and body.get("access_token"):
            webhook, guild = body.get("webhook") or {}, body.get("guild") or {}
            return {
                "guild_id": webhook.get("guild_id"),
                "guild_name": guild.get("name"),
                "channel_id": webhook.get("channel_id"),
                "webhook_id": webhook.get("id"),
                "scope": body.get("scope"),
            }
        if provider == "slack" and body.get("ok"):
            bearer = {"Authorization": "Bearer " + body["access_token"]}
            who = (await client().post(f"{sandbox}/sandbox/slack/api/auth.test", headers=bearer)).json()
            if not who.get("ok"):
                return None
            team, hook = body.get("team") or {}, body.get("incoming_webhook") or {}
            return {
                "team_id": team.get("id"),
                "team_name": team.get("name"),
                "channel_id": hook.get("channel_id"),
                "channel": hook.get("channel"),
                "bot_id": who.get("bot_id"),
                "scope": body.get("scope"),
            }
        return None

    async def callback(request: Request) -> Response:
        provider = request.path_params["provider"]
        state, code = request.query_params.get("state", ""), request.query_params.get("code", "")
        raw = await redis.getdel("oauth:state:" + hashlib.sha256(state.encode()).hexdigest())
        if raw is None or provider not in token_urls:
            return PlainTextResponse("invalid state", 400)
        pending = json.loads(raw)
        meta = await exchange(provider, code)
        if meta is None:
            return PlainTextResponse("token exchange failed", 502)
        conn = await pool.acquire()
        try:
            await conn.execute(
                UPSERT,
                (
                    uuid.uuid4(),
                    pending["tenant_id"],
                    pending["project_id"],
                    pending["integration_type"],
                    Jsonb(meta),
                    pending["user_id"],
                    pending["user_name"],
                ),
            )
        finally:
            pool.release(conn)
        query = urlencode({"status": "success", "integration": provider})
        return RedirectResponse(f"{public}/projects/{pending['project_id']}/integrations?{query}", 303)

    async def install(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "),
                jwt_secret,
                algorithms=["HS256"],
                audience=os.environ.get("JWT_AUDIENCE", "tms-console"),
                issuer=os.environ.get("JWT_ISSUER", "tms"),
            )
        except jwt.InvalidTokenError:
            return PlainTextResponse("not authenticated", 401)
        project = request.query_params.get("project_id", "")
        conn = await pool.acquire()
        try:
            cursor = await conn.execute(
                "SELECT id FROM projects WHERE tenant_id = %s AND id = %s", (claims["tenant_id"], project)
            )
            found = await cursor.fetchone()
        finally:
            pool.release(conn)
        if found is None:
            return PlainTextResponse("not found", 404)
        state = secrets.token_urlsafe(32)
        pending = {"tenant_id": claims["tenant_id"], "project_id": project, "user_id": claims["sub"]}
        key = "oauth:state:" + hashlib.sha256(state.encode()).hexdigest()
        await redis.set(key, json.dumps(pending), nx=True, ex=600)
        query = urlencode({"client_id": client_auth[0], "redirect_uri": redirect_uri, "state": state})
        return JSONResponse({"url": f"{sandbox}/sandbox/discord/oauth2/authorize?{query}"})

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/floor/callback/{provider}", callback),
            Route("/floor/install", install),
            Route("/health", health),
        ]
    )
