"""Secrets the service must read back (webhook signing secrets) kept encrypted at rest:
AES-256-GCM under a key derived from a configured secret, each bound to the row it belongs to."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "aesgcm1:"
_NONCE_BYTES = 12


class SecretUnreadable(ValueError):
    """Not sealed by this key (the key changed) or altered."""


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


class SecretBox:
    def __init__(self, key_material: str, *, purpose: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"obhvat:" + purpose).derive(
            key_material.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, context: str) -> str:
        """`context` (the owning row's id) is authenticated: a sealed value moved to another row
        does not open."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, context: str) -> str:
        if not is_sealed(sealed):
            raise SecretUnreadable("not an encrypted value")
        try:
            raw = base64.urlsafe_b64decode(sealed.removeprefix(PREFIX))
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretUnreadable("cannot decrypt: another key, or altered") from exc
