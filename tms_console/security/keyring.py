"""AES-256-GCM for credentials at rest: key ids, a random 96-bit nonce per encryption, and AAD.

The AAD names the row a ciphertext belongs to (tenant, project, type, row id), so a ciphertext
copied to another row fails to decrypt instead of handing one tenant another tenant's token.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tms_console.domain.keys import KeyringError, parse_key_spec
from tms_console.domain.values import Sealed
from tms_console.settings import get_settings

__all__ = ["DecryptError", "Keyring", "KeyringError", "Sealed", "configured_keyring", "generate_key_spec"]


class DecryptError(Exception):
    """A ciphertext could not be decrypted: unknown key id, wrong AAD, or tampering."""


@dataclass(frozen=True)
class Keyring:
    """Ordered keys: the first encrypts, every one decrypts."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        return cls(parse_key_spec(spec))

    @property
    def primary_id(self) -> str:
        return self.keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every configured kid, so a caller can tell an unknown kid from changed key material."""
        return tuple(kid for kid, _ in self.keys)

    def reseal(self, sealed: Sealed, *, aad: bytes) -> Sealed:
        """Decrypt with whichever key sealed it, encrypt under the first key (key rotation)."""
        return self.seal(self.open(sealed, aad=aad), aad=aad)

    def seal(self, payload: dict[str, object], *, aad: bytes) -> Sealed:
        kid, key = self.keys[0]
        nonce = os.urandom(12)
        plaintext = json.dumps(payload, separators=(",", ":")).encode()
        return Sealed(kid, nonce, AESGCM(key).encrypt(nonce, plaintext, aad))

    def open(self, sealed: Sealed, *, aad: bytes) -> dict[str, object]:
        key = dict(self.keys).get(sealed.key_id)
        if key is None:
            raise DecryptError(f"unknown key id {sealed.key_id!r}")
        try:
            plaintext = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, aad)
        except InvalidTag:
            raise DecryptError("ciphertext does not authenticate for this row") from None
        value = json.loads(plaintext)
        if not isinstance(value, dict):
            raise DecryptError("credential bundle is not an object")
        return value


def row_aad(*, tenant_id: object, project_id: object, integration_type: str, row_id: object) -> bytes:
    return f"tms:v1|{tenant_id}|{project_id}|{integration_type}|{row_id}".encode()


def generate_key_spec(kid: str = "k1") -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


def configured_keyring() -> Keyring:
    """The keyring of this deployment's `TOKEN_ENCRYPTION_KEYS` (already validated by Settings)."""
    keys = get_settings().token_encryption_keys
    assert keys is not None
    return Keyring.parse(keys.get_secret_value())
