import base64

import pytest

from tms_console.security.keyring import DecryptError, Keyring, KeyringError, generate_key_spec, row_aad

AAD = row_aad(tenant_id="t", project_id="p", integration_type="discord", row_id="r1")


def test_roundtrip_and_random_nonce() -> None:
    ring = Keyring.parse(generate_key_spec("a"))
    first, second = ring.seal({"token": "x"}, aad=AAD), ring.seal({"token": "x"}, aad=AAD)
    assert first.nonce != second.nonce and len(first.nonce) == 12
    assert ring.open(first, aad=AAD) == {"token": "x"}


def test_ciphertext_moved_to_another_row_fails() -> None:
    ring = Keyring.parse(generate_key_spec("a"))
    sealed = ring.seal({"token": "x"}, aad=AAD)
    other = row_aad(tenant_id="t", project_id="p", integration_type="discord", row_id="r2")
    with pytest.raises(DecryptError):
        ring.open(sealed, aad=other)


def test_rotation_old_keys_still_decrypt_new_writes_use_first() -> None:
    old = generate_key_spec("old")
    sealed = Keyring.parse(old).seal({"a": 1}, aad=AAD)
    rotated = Keyring.parse(f"{generate_key_spec('new')},{old}")
    assert rotated.open(sealed, aad=AAD) == {"a": 1}
    assert rotated.seal({"a": 1}, aad=AAD).key_id == "new"


def test_unknown_key_id_fails() -> None:
    sealed = Keyring.parse(generate_key_spec("a")).seal({"a": 1}, aad=AAD)
    with pytest.raises(DecryptError):
        Keyring.parse(generate_key_spec("b")).open(sealed, aad=AAD)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "nokid",
        "k1:not-base64!!",
        "k1:" + base64.b64encode(b"short").decode(),
        "bad kid:AAAA",
        generate_key_spec("k") + "," + generate_key_spec("k"),
    ],
)
def test_malformed_specs_refused_without_key_material(spec: str) -> None:
    with pytest.raises(KeyringError) as info:
        Keyring.parse(spec)
    secret = spec.partition(":")[2]
    assert not secret or len(secret) < 8 or secret not in str(info.value)


def test_key_ids_in_configured_order() -> None:
    ring = Keyring.parse(f"{generate_key_spec('new')},{generate_key_spec('old')}")
    assert ring.key_ids == ("new", "old") and ring.primary_id == "new"


def test_reseal_moves_to_first_key_keeps_plaintext_and_row_binding() -> None:
    old = generate_key_spec("old")
    sealed = Keyring.parse(old).seal({"token": "x"}, aad=AAD)
    rotated = Keyring.parse(f"{generate_key_spec('new')},{old}")
    resealed = rotated.reseal(sealed, aad=AAD)
    assert resealed.key_id == "new" and resealed.nonce != sealed.nonce
    assert rotated.open(resealed, aad=AAD) == {"token": "x"}
    other = row_aad(tenant_id="t", project_id="p", integration_type="discord", row_id="r2")
    with pytest.raises(DecryptError):
        rotated.open(resealed, aad=other)


@pytest.mark.parametrize("material", ["missing", "changed"])
def test_reseal_refuses_what_it_cannot_decrypt(material: str) -> None:
    sealed = Keyring.parse(generate_key_spec("old")).seal({"token": "x"}, aad=AAD)
    keys = generate_key_spec("new") + ("," + generate_key_spec("old") if material == "changed" else "")
    with pytest.raises(DecryptError):
        Keyring.parse(keys).reseal(sealed, aad=AAD)
