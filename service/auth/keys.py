"""The service's signing keys: RSA, kept as PEM files in the keys directory.

The newest file signs; every file's public half is published in the JWKS, so a rotation adds a
new key, waits one token lifetime, then removes the old one. Keys are generated on first start.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.core.settings import Settings

SIGNING_ALGORITHM = "RS256"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_pem: str
    public_pem: str
    public_jwk: dict[str, Any]


def _load(path: Path) -> SigningKey:
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError(f"{path.name} is not an RSA private key")
    numbers = private.public_key().public_numbers()
    jwk = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    thumbprint = hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode())
    kid = base64.urlsafe_b64encode(thumbprint.digest()).decode().rstrip("=")
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return SigningKey(
        kid=kid,
        private_pem=path.read_text(),
        public_pem=public_pem,
        public_jwk={**jwk, "kid": kid, "alg": SIGNING_ALGORITHM, "use": "sig"},
    )


def generate_key_file(keys_dir: Path) -> Path:
    keys_dir.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = keys_dir / f"signing-{stamp}.pem"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return path


class KeyRing:
    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("no signing keys")
        self.active = keys[-1]
        self.by_kid = {key.kid: key for key in keys}

    @classmethod
    def from_directory(cls, keys_dir: Path) -> KeyRing:
        """Load `signing-*.pem` (the newest signs); generate one when there is none."""
        paths = sorted(keys_dir.glob("signing-*.pem")) if keys_dir.is_dir() else []
        if not paths:
            paths = [generate_key_file(keys_dir)]
        return cls([_load(path) for path in paths])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk for key in self.by_kid.values()]}


def load_or_create_secret(path: Path) -> str:
    """A development secret kept beside the keys, so PIN hashes survive restarts."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = base64.urlsafe_b64encode(os.urandom(48)).decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def pin_secret_for(settings: Settings) -> bytes:
    """The PIN-hashing key: the configured secret, or in development one kept beside the keys."""
    return (settings.pin_secret or load_or_create_secret(settings.effective_keys_dir / "pin-secret")).encode()


def webhook_secret_key_for(settings: Settings) -> str:
    """The key material that encrypts webhook signing secrets: the configured
    OBHVAT_WEBHOOK_SECRET_KEY (required in production), or in development one kept beside the keys."""
    return settings.webhook_secret_key or load_or_create_secret(settings.effective_keys_dir / "webhook-secret-key")
