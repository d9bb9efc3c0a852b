"""The JWT matrix over real HTTP (SECURITY.md "Identity and tenancy", JWT row; RFC 8725).

Every rejection is the same bare 401, through the Authorization header and through the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import resource
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.utils.identities import identity, project_id, token_for
from tests.utils.live import free_port
from tms_console.security.identity import AuthError, verify_token
from tms_console.settings import Settings, get_settings

ACME = identity()
PROJECT = project_id()
LIST = f"/v1/tenants/{ACME.tenant_id}/projects/{PROJECT}/integrations"
REJECTED = {"detail": "not authenticated"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": ACME.user_id,
        "name": "Alice",
        "tenant_id": str(ACME.tenant_id),
        "role": "agent",
        "iss": get_settings().jwt_issuer,
        "aud": get_settings().jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


def secret() -> str:
    value = get_settings().jwt_secret
    assert value is not None
    return value.get_secret_value()


def hs256(payload: dict[str, Any], key: str | None = None, **header: Any) -> str:
    """Sign by hand, so the header can say anything."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(
        (key if key is not None else secret()).encode(), f"{head}.{body}".encode(), hashlib.sha256
    )
    return f"{head}.{body}.{b64(signature.digest())}"


def unsigned(alg: str, signature: str = "") -> str:
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{head}.{b64(json.dumps(claims()).encode())}.{signature}"


ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rs256(payload: dict[str, Any], **header: Any) -> str:
    return jwt.encode(payload, ATTACKER_KEY, algorithm="RS256", headers=header)


def attacker_jwk() -> dict[str, Any]:
    return json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(ATTACKER_KEY.public_key()))


@pytest.fixture(scope="module")
def fetch_trap() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server jku/x5u point at; it records every request it receives."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = json.dumps({"keys": [attacker_jwk()]}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()


def bad_tokens(trap: str) -> dict[str, str]:
    now = int(time.time())
    jwk = attacker_jwk()
    return {
        **{f"alg_{alg}": unsigned(alg) for alg in ("none", "None", "NONE", "nOnE")},
        **{f"alg_{alg}_signed": unsigned(alg, b64(b"sig")) for alg in ("none", "None", "NONE", "nOnE")},
        "wrong_key": hs256(claims(), key="not-the-console-secret-0123456789abcdef"),
        "rs256_attacker_key": rs256(claims()),
        "hs384": jwt.encode(claims(), secret(), algorithm="HS384"),
        "expired": hs256(claims(exp=now - 3600, iat=now - 7200, nbf=now - 7200)),
        "not_yet_valid": hs256(claims(nbf=now + 3600)),
        "no_exp": hs256(claims(exp=DROP)),
        "wrong_issuer": hs256(claims(iss="someone-else")),
        "no_issuer": hs256(claims(iss=DROP)),
        "wrong_audience": hs256(claims(aud="another-app")),
        "no_audience": hs256(claims(aud=DROP)),
        "no_tenant": hs256(claims(tenant_id=DROP)),
        "tenant_not_uuid": hs256(claims(tenant_id="acme")),
        "tenant_number": hs256(claims(tenant_id=42)),
        "tenant_null": hs256(claims(tenant_id=None)),
        "tenant_list": hs256(claims(tenant_id=[str(ACME.tenant_id)])),
        "tenant_sql": hs256(claims(tenant_id="' OR 1=1 --")),
        "no_sub": hs256(claims(sub=DROP)),
        "role_unknown": hs256(claims(role="superadmin")),
        "jwk_header_rs256": rs256(claims(), jwk=jwk),
        "jwk_header_hs256_oct": hs256(claims(), key="k", jwk={"kty": "oct", "k": b64(b"k")}),
        "jku_header": rs256(claims(), jku=trap + "/jwks.json", kid=jwk.get("kid", "attacker")),
        "x5u_header": rs256(claims(), x5u=trap + "/cert.pem"),
        "jku_hs256": hs256(claims(), key="k", jku=trap + "/jwks.json"),
        "kid_path": hs256(claims(), key="", kid="../../../../dev/null"),
        "kid_sql": hs256(claims(), key="x", kid="x' UNION SELECT 'x"),
        "kid_url": hs256(claims(), key="k", kid=trap + "/kid"),
        "truncated": token_for().rsplit(".", 1)[0],
        "garbage": "not.a.jwt",
        "empty_parts": "..",
        "bearer_only": "",
    }


def assert_rejected(answer: httpx.Response, label: str) -> None:
    assert answer.status_code == 401, (label, answer.status_code, answer.text)
    assert answer.json() == REJECTED, (label, answer.text)
    assert answer.headers.get("www-authenticate") == "Bearer", label


def test_every_bad_token_gets_the_same_bare_401(live_url: str, fetch_trap: tuple[str, list[str]]) -> None:
    trap, hits = fetch_trap
    tokens = bad_tokens(trap)
    with httpx.Client(base_url=live_url, timeout=10) as client:
        good = client.get(LIST, headers={"Authorization": f"Bearer {token_for()}"})
        assert good.status_code == 200  # control: the matrix is not rejecting everything
        for label, token in tokens.items():
            bearer = {"Authorization": f"Bearer {token}".strip()}
            assert_rejected(client.get(LIST, headers=bearer), label)
            assert_rejected(client.get(LIST, headers={"Cookie": f"tms_session={token}"}), label + "/cookie")
            sign_in = client.post("/api/session", headers=bearer)
            assert sign_in.status_code == 401 and "set-cookie" not in sign_in.headers, label
    assert hits == []  # jku/x5u/kid URLs were never fetched


def test_hs_rs_confusion_is_refused_by_an_rs256_deployment() -> None:
    """The RS256 public key, used as the HMAC secret of an HS256 token, must not verify."""
    public_pem = (
        ATTACKER_KEY.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = Settings(
        tms_env="test",
        jwt_secret=None,
        jwt_public_key=public_pem,
        token_encryption_keys=get_settings().token_encryption_keys,
    )
    genuine = rs256(claims(iss=settings.jwt_issuer, aud=settings.jwt_audience))
    assert verify_token(genuine, settings).tenant_id == ACME.tenant_id  # control
    for forged in (
        hs256(claims(), key=public_pem),
        hs256(claims(), key=public_pem.strip()),
        unsigned("none"),
    ):
        with pytest.raises(AuthError):
            verify_token(forged, settings)


def test_tenant_in_url_must_be_the_tokens(live_url: str) -> None:
    globex = identity("Globex", "gary@globex.example").tenant_id
    headers = {"Authorization": f"Bearer {token_for()}"}
    with httpx.Client(base_url=live_url) as client:
        other = client.get(f"/v1/tenants/{globex}/projects/{PROJECT}/integrations", headers=headers)
        missing = client.get(
            f"/v1/tenants/{project_id('Nobody', 'x')}/projects/{PROJECT}/integrations", headers=headers
        )
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_token_in_the_query_string_is_never_accepted(live_url: str) -> None:
    with httpx.Client(base_url=live_url) as client:
        for name in ("access_token", "token", "jwt", "tms_session", "authorization"):
            assert_rejected(client.get(LIST, params={name: token_for()}), name)
            assert client.post("/api/session", params={name: token_for()}).status_code == 401


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.parametrize("size", [8 * 1024, 5 * 1024 * 1024])
def test_oversized_tokens_are_refused_fast_and_memory_stays_flat(live_url: str, size: int) -> None:

    padded = claims(pad="A" * size)
    huge = hs256(padded)
    assert len(huge) > size
    with httpx.Client(base_url=live_url, timeout=30) as client:
        for _warm in range(2):
            client.get(LIST, headers={"Authorization": f"Bearer {huge}"})
        before = rss_kib()
        started = time.monotonic()
        for attempt in range(20):
            header = client.get(LIST, headers={"Authorization": f"Bearer {huge}"})
            assert 400 <= header.status_code < 500, (attempt, header.status_code)
            cookie = client.get(LIST, headers={"Cookie": f"tms_session={huge}"})
            assert 400 <= cookie.status_code < 500, (attempt, cookie.status_code)
        elapsed = time.monotonic() - started
        assert client.get(LIST, headers={"Authorization": f"Bearer {token_for()}"}).status_code == 200
        assert client.get("/api/health").status_code == 200
    assert elapsed < 30, elapsed  # generous: 40 requests of up to 5 MB each
    assert rss_kib() - before < 150 * 1024, "RSS grew by more than 150 MiB"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
