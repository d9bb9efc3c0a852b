"""The signature primitives against the providers' own test vectors (PROVIDERS.md §1.9, §2.9, §6.6)."""

from __future__ import annotations

import pytest

from tms_console.security.provider_signatures import body_id, is_fresh, matches_ed25519, matches_hmac

SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
DISCORD_KEY = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
DISCORD_SIGNATURE = (
    "c1098e97d711377f30225d53d94b89d43537f92e5b3afaddc590781b1f9f9d4b"
    "2eeab335d370be3b9a090bc61a85b86448bc140dcd195f1569c2bff181257607"
)
META_BODY = b'{"object":"whatsapp_business_account","entry":[]}'
META_SIGNATURE = "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756"


def test_slack_v0_signature_vector() -> None:
    secret, message = "8f742231b10e8888abcd99yyyzzz85a5", b"v0:1531420618:" + SLACK_BODY
    assert matches_hmac(SLACK_SIGNATURE, secret=secret, message=message, prefix="v0=")
    assert not matches_hmac(SLACK_SIGNATURE, secret=secret, message=message + b" ", prefix="v0=")
    assert not matches_hmac(SLACK_SIGNATURE, secret="other", message=message, prefix="v0=")
    assert not matches_hmac(SLACK_SIGNATURE[3:], secret=secret, message=message, prefix="v0=")
    assert not matches_hmac(SLACK_SIGNATURE, secret="", message=message, prefix="v0=")
    assert not matches_hmac("v0=\u00e9" + SLACK_SIGNATURE[4:], secret=secret, message=message, prefix="v0=")


def test_meta_sha256_signature_vector() -> None:
    assert matches_hmac(META_SIGNATURE, secret="test_app_secret", message=META_BODY, prefix="sha256=")
    assert not matches_hmac(
        META_SIGNATURE.upper(), secret="test_app_secret", message=META_BODY, prefix="sha256="
    )


def test_discord_ed25519_vector() -> None:
    message = b'1700000000{"type":1}'
    assert matches_ed25519(DISCORD_SIGNATURE, public_key_hex=DISCORD_KEY, message=message)
    assert not matches_ed25519(DISCORD_SIGNATURE, public_key_hex=DISCORD_KEY, message=b'1700000001{"type":1}')


@pytest.mark.parametrize(
    ("signature", "key"),
    [
        ("zz", DISCORD_KEY),
        (DISCORD_SIGNATURE[:-2], DISCORD_KEY),
        (DISCORD_SIGNATURE, "00"),
        (DISCORD_SIGNATURE, ""),
    ],
)
def test_malformed_ed25519_input_is_a_plain_no(signature: str, key: str) -> None:
    assert matches_ed25519(signature, public_key_hex=key, message=b"x") is False


def test_freshness_window_both_ways() -> None:
    assert is_fresh("1000", now=1300, window=300) and is_fresh(1300, now=1000, window=300)
    assert not is_fresh("999", now=1300, window=300) and not is_fresh(1301, now=1000, window=300)
    for bad in (None, "", "abc", "nan", "inf"):
        assert not is_fresh(bad, now=1000, window=300)


def test_body_ids_tell_calls_apart() -> None:
    assert body_id(b"a", b"b") == body_id(b"a", b"b") != body_id(b"ab") != body_id(b"a", b"c")
