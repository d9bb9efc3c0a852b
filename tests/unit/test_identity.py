import base64
import json
import time
import uuid

import jwt
import pytest

from tms_console.security import identity
from tms_console.security.identity import AuthError, Identity, issue_token, verify_token
from tms_console.settings import Settings

SECRET = "unit-test-secret-0123456789abcdef0123456789"
TENANT = uuid.uuid4()


def settings() -> Settings:
    return Settings(
        tms_env="test", jwt_secret=SECRET, token_encryption_keys="k:" + base64.b64encode(b"k" * 32).decode()
    )


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base = {
        "sub": "u1",
        "name": "Alice",
        "tenant_id": str(TENANT),
        "role": "agent",
        "iss": "tms",
        "aud": "tms-console",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, object], key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg)


def test_valid_token() -> None:
    identity = verify_token(sign(claims()), settings())
    assert identity == Identity("u1", "Alice", TENANT, "agent")


def test_issue_then_verify() -> None:
    token = issue_token(Identity("u2", "Ada", TENANT, "admin"), settings())
    assert verify_token(token, settings()).role == "admin"


def _unsigned(alg: str) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims())}."


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_unsigned("none"), id="alg-none"),
        pytest.param(_unsigned("None"), id="alg-None"),
        pytest.param(_unsigned("NONE"), id="alg-NONE"),
        pytest.param(sign(claims(), key="another-secret-0123456789abcdef0123"), id="wrong-key"),
        pytest.param(sign(claims(exp=int(time.time()) - 60)), id="expired"),
        pytest.param(sign(claims(nbf=int(time.time()) + 600)), id="not-yet-valid"),
        pytest.param(sign(claims(iss="evil")), id="wrong-issuer"),
        pytest.param(sign(claims(aud="other")), id="wrong-audience"),
        pytest.param(sign(claims(tenant_id=None)), id="no-tenant"),
        pytest.param(sign(claims(tenant_id="acme")), id="malformed-tenant"),
        pytest.param(sign(claims(role="root")), id="unknown-role"),
        pytest.param(sign(claims(exp=None)), id="no-exp"),
        pytest.param(sign(claims(), alg="HS512"), id="other-hs-alg"),
        pytest.param("a" * 9000, id="oversized"),
        pytest.param("", id="empty"),
        pytest.param("not.a.jwt", id="garbage"),
    ],
)
def test_rejected(token: str) -> None:
    with pytest.raises(AuthError):
        verify_token(token, settings())


def test_header_supplied_keys_are_ignored() -> None:
    token = jwt.encode(
        claims(),
        "attacker-key-0123456789abcdef012345",
        algorithm="HS256",
        headers={"jku": "http://127.0.0.1:1/keys", "kid": "../../etc/passwd"},
    )
    with pytest.raises(AuthError):
        verify_token(token, settings())


def test_the_service_role_is_recognised_and_has_no_console_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from tms_console.security import session

    service, agent = sign(claims(role="service")), sign(claims())
    identity = verify_token(service, settings())
    assert (identity.role, identity.is_service, identity.is_admin) == ("service", True, False)
    monkeypatch.setattr(session, "get_settings", settings)
    assert session.identity_from_cookie_header(f"tms_session={service}") is None
    assert session.identity_from_cookie_header(f"tms_session={agent}") == Identity(
        "u1", "Alice", TENANT, "agent"
    )


def test_keys_prepared_once_still_refuse_another_key_and_an_asymmetric_secret() -> None:
    """The decoder prepares each key once (a cache): a token signed with another secret is refused right
    after a valid one, and a PEM public key given as the HMAC secret is refused on every call."""
    assert isinstance(identity._DECODER._jws.get_algorithm_by_name("HS256"), identity._HS256)
    assert isinstance(identity._DECODER._jws.get_algorithm_by_name("RS256"), identity._RS256)
    assert verify_token(sign(claims()), settings()).user_id == "u1"
    with pytest.raises(AuthError):
        verify_token(sign(claims(), key="another-secret-0123456789abcdef0123456789"), settings())
    assert verify_token(sign(claims(sub="u3")), settings()).user_id == "u3"
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
    pem_settings = Settings(
        tms_env="test", jwt_secret=pem, token_encryption_keys="k:" + base64.b64encode(b"k" * 32).decode()
    )
    for _ in range(2):
        with pytest.raises(AuthError):
            verify_token(sign(claims()), pem_settings)
