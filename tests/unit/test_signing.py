"""Delivery signatures: a fixed vector, the receiver-side check, and the recipe shown to users."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import pytest

from tms_console.security.signing import (
    VERIFY_RECIPE,
    delivery_headers,
    new_signing_secret,
    sign,
    standard_headers,
    standard_key,
    verify,
)

SECRET = "whsec_test-secret"
BODY = b'{"id":"evt_1"}'
TS = 1_700_000_000
# printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac 'whsec_test-secret'
VECTOR = "86504ca838957ec97acf37c1d76e9e0c2acdd8699c4965f24cab90b9bff876dc"


def test_sign_matches_an_independently_computed_vector() -> None:
    assert sign(SECRET, BODY, timestamp=TS, delivery_id="dlv_1") == {
        "X-TMS-Signature": f"t={TS},v1={VECTOR}",
        "X-TMS-Timestamp": str(TS),
        "X-TMS-Delivery": "dlv_1",
    }


def test_sign_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        sign("", BODY, timestamp=TS, delivery_id="d")


def test_verify_accepts_a_fresh_signature_with_any_header_case() -> None:
    headers = sign(SECRET, BODY, timestamp=TS, delivery_id="d")
    assert verify(SECRET, BODY, headers, now=TS + 5)
    assert verify(SECRET, BODY, {k.lower(): v for k, v in headers.items()}, now=TS)
    assert verify(SECRET, BODY, {k.upper(): v for k, v in headers.items()}, now=TS)


@pytest.mark.parametrize("now", [TS + 300, TS - 300])
def test_verify_accepts_the_edges_of_the_window(now: int) -> None:
    assert verify(SECRET, BODY, sign(SECRET, BODY, timestamp=TS, delivery_id="d"), now=now)


@pytest.mark.parametrize("now", [TS + 301, TS - 301, TS + 86_400])
def test_verify_rejects_replays_outside_the_window(now: int) -> None:
    assert not verify(SECRET, BODY, sign(SECRET, BODY, timestamp=TS, delivery_id="d"), now=now)


def test_verify_honours_a_custom_tolerance() -> None:
    headers = sign(SECRET, BODY, timestamp=TS, delivery_id="d")
    assert not verify(SECRET, BODY, headers, now=TS + 61, tolerance=60)
    assert verify(SECRET, BODY, headers, now=TS + 60, tolerance=60)


def test_verify_rejects_a_tampered_body_or_a_wrong_secret() -> None:
    headers = sign(SECRET, BODY, timestamp=TS, delivery_id="d")
    assert not verify(SECRET, BODY + b" ", headers, now=TS)
    assert not verify(SECRET, b'{"id":"evt_2"}', headers, now=TS)
    assert not verify("whsec_other", BODY, headers, now=TS)
    assert not verify("", BODY, headers, now=TS)


def test_verify_rejects_a_timestamp_moved_without_resigning() -> None:
    headers = sign(SECRET, BODY, timestamp=TS, delivery_id="d")
    moved = headers["X-TMS-Signature"].replace(f"t={TS}", f"t={TS + 1000}")
    assert not verify(SECRET, BODY, {"X-TMS-Signature": moved}, now=TS + 1000)


def test_verify_accepts_any_matching_v1_during_secret_rotation() -> None:
    old = sign("whsec_old", BODY, timestamp=TS, delivery_id="d")["X-TMS-Signature"]
    new = sign(SECRET, BODY, timestamp=TS, delivery_id="d")["X-TMS-Signature"]
    both = old + "," + new.split(",")[1]
    assert verify(SECRET, BODY, {"X-TMS-Signature": both}, now=TS)
    assert verify("whsec_old", BODY, {"X-TMS-Signature": both}, now=TS)
    assert not verify("whsec_third", BODY, {"X-TMS-Signature": both}, now=TS)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"v1={VECTOR}",  # no timestamp
        f"t={TS}",  # no signature
        f"t=abc,v1={VECTOR}",
        f"t=-{TS},v1={VECTOR}",
        f"t={TS},t={TS},v1={VECTOR}",  # ambiguous timestamp
        f"t=１７００００００００,v1={VECTOR}",  # fullwidth digits  # noqa: RUF001
        f"t=²,v1={VECTOR}",  # "²".isdigit() is True
        f"t={TS},v1={VECTOR.upper()}",
        f"t={TS},v1={VECTOR[:-1]}",
        f"t={TS},v1={VECTOR}é",
        f"t={TS},v0={VECTOR}",
        f"t={TS}," + ",".join(["v1=" + "0" * 64] * 40),  # oversized header
    ],
)
def test_verify_rejects_malformed_headers_without_raising(header: str | None) -> None:
    headers = {} if header is None else {"X-TMS-Signature": header}
    assert verify(SECRET, BODY, headers, now=TS) is False


def test_new_signing_secret_is_prefixed_random_standard_base64_of_32_bytes() -> None:
    secrets_ = {new_signing_secret() for _ in range(50)}
    assert len(secrets_) == 50
    for secret in secrets_:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def recipe() -> Any:
    namespace: dict[str, Any] = {}
    exec(VERIFY_RECIPE, namespace)  # exactly the text the console shows
    return namespace["verify_tms_signature"]


def test_the_recipe_shown_to_users_verifies_our_signatures() -> None:
    verify_tms_signature = recipe()
    secret = new_signing_secret()
    body = '{"type":"ticket.created","ticket":{"title":"Ünïcode ✓ ok"}}'.encode()
    headers = sign(secret, body, timestamp=int(time.time()), delivery_id="dlv_9")
    assert verify_tms_signature(secret, body, headers) is True
    assert verify_tms_signature(secret, body, {k.lower(): v for k, v in headers.items()}) is True


def test_the_recipe_rejects_forgeries_and_replays() -> None:
    verify_tms_signature = recipe()
    secret = new_signing_secret()
    now = int(time.time())
    fresh = sign(secret, BODY, timestamp=now, delivery_id="d")
    assert verify_tms_signature(secret, BODY + b"x", fresh) is False
    assert verify_tms_signature(new_signing_secret(), BODY, fresh) is False
    assert (
        verify_tms_signature(secret, BODY, sign(secret, BODY, timestamp=now - 3600, delivery_id="d")) is False
    )
    assert verify_tms_signature(secret, BODY, {}) is False
    assert verify_tms_signature(secret, BODY, {"X-TMS-Signature": f"t={now},v1=é"}) is False
    assert verify_tms_signature(secret, BODY, {"X-TMS-Signature": f"t=²,v1={VECTOR}"}) is False


def test_the_recipe_agrees_with_verify() -> None:
    verify_tms_signature = recipe()
    now = int(time.time())
    for headers in (
        sign(SECRET, BODY, timestamp=now, delivery_id="d"),
        sign(SECRET, BODY, timestamp=now - 301, delivery_id="d"),
        {"X-TMS-Signature": f"t={now},v1={VECTOR}"},
    ):
        assert verify_tms_signature(SECRET, BODY, headers) == verify(SECRET, BODY, headers, now=time.time())


# Standard Webhooks: the spec's published example (secret, id, timestamp, payload -> signature).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_VECTOR = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_standard_headers_match_the_specs_published_vector() -> None:
    headers = standard_headers(
        SW_SECRET, b'{"test": 2432232314}', message_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": SW_VECTOR,
    }


def reference_verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def test_the_reference_receiver_verifies_what_we_sign_with_the_secret_as_shown() -> None:
    secret = new_signing_secret()
    body = '{"type":"ticket.created","ticket":{"subject":"Ünïcode ✓ ok"}}'.encode()
    headers = standard_headers(secret, body, message_id="dlv_42", timestamp=int(time.time()))
    assert reference_verifies(secret, body, headers)
    assert not reference_verifies(secret, body + b" ", headers)
    assert not reference_verifies(new_signing_secret(), body, headers)
    stale = standard_headers(secret, body, message_id="dlv_42", timestamp=int(time.time()) - 301)
    assert not reference_verifies(secret, body, stale)


def test_a_secret_issued_before_standard_webhooks_signs_both_schemes() -> None:
    # The old format: whsec_ + URL-safe base64 without padding; this one has both '-' and '_'.
    old = "whsec_" + base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")
    assert "-" in old and "_" in old
    now = int(time.time())
    assert verify(old, BODY, sign(old, BODY, timestamp=now, delivery_id="d"), now=now)
    headers = standard_headers(old, BODY, message_id="dlv_1", timestamp=now)
    assert standard_key(old) == bytes(range(200, 232))
    # A receiver's library reads the same key from the secret re-encoded in standard, padded base64.
    assert reference_verifies("whsec_" + base64.b64encode(bytes(range(200, 232))).decode(), BODY, headers)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_!!!!", "whsec_c2hvcnQ="])
def test_standard_headers_refuse_a_secret_that_is_not_base64_of_enough_bytes(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        standard_headers(secret, BODY, message_id="m", timestamp=TS)


def test_standard_headers_refuse_an_empty_message_id() -> None:
    with pytest.raises(ValueError, match="message id"):
        standard_headers(SW_SECRET, BODY, message_id="", timestamp=TS)


def test_a_delivery_carries_both_schemes_from_one_secret_and_one_id() -> None:
    secret, now = new_signing_secret(), int(time.time())
    headers = delivery_headers(secret, BODY, message_id="dlv_7", timestamp=now)
    assert headers["X-TMS-Delivery"] == headers["webhook-id"] == "dlv_7"
    assert headers["X-TMS-Timestamp"] == headers["webhook-timestamp"] == str(now)
    assert verify(secret, BODY, headers, now=now)
    assert reference_verifies(secret, BODY, headers)
