"""Issuing the service's access tokens and verifying bearer tokens (ours or a trusted OIDC
issuer's)."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from jose.backends.base import Key
from jose.exceptions import JOSEError

from service.auth.jwt import (
    TokenInvalid,
    decode_verified,
    encode_signed,
    parsed_key,
    unverified_header_and_issuer,
)
from service.auth.keys import SIGNING_ALGORITHM, KeyRing
from service.core.settings import Settings


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    claims: dict[str, Any]
    external: bool


class ExternalKeys:
    """The JWKS of a trusted OpenID Connect issuer, from a file or an https URL (refetched at
    most every five minutes when a token names an unknown `kid`). Each key is parsed once, when
    the set is loaded, for the pinned algorithm."""

    REFRESH_SECONDS = 300

    def __init__(self, source: str, algorithm: str) -> None:
        self.source = source
        self.algorithm = algorithm
        self._keys: dict[str, Key] = {}
        self._fetched_at = 0.0

    async def key(self, kid: str) -> Key | None:
        stale = time.monotonic() - self._fetched_at > self.REFRESH_SECONDS
        if kid not in self._keys and (stale or not self._fetched_at):
            await self._load()
        return self._keys.get(kid)

    async def _load(self) -> None:
        if self.source.startswith("https://"):
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(self.source)
                response.raise_for_status()
                document = response.json()
        else:
            document = json.loads(Path(self.source).read_text())
        keys = {}
        for jwk in document.get("keys", []):
            if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str):
                with contextlib.suppress(JOSEError):  # a key of another kind cannot verify our tokens
                    keys[jwk["kid"]] = parsed_key(jwk, self.algorithm)
        self._keys = keys
        self._fetched_at = time.monotonic()


class TokenService:
    def __init__(self, settings: Settings, keys: KeyRing) -> None:
        self.settings = settings
        self.keys = keys
        #: our own public keys, parsed once: parsing a PEM costs more than verifying a signature
        self._own = {kid: parsed_key(key.public_pem, SIGNING_ALGORITHM) for kid, key in keys.by_kid.items()}
        self.external = ExternalKeys(settings.oidc_jwks, settings.oidc_algorithm) if settings.oidc_jwks else None

    def issue(
        self,
        *,
        subject: uuid.UUID,
        kind: str,
        organisation_id: uuid.UUID | None,
        roles: list[str],
        generation: int = 0,
    ) -> tuple[str, int]:
        now = int(time.time())
        lifetime = self.settings.token_lifetime_seconds
        claims = {
            "iss": self.settings.token_issuer,
            "aud": self.settings.token_audience,
            "sub": str(subject),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            "kind": kind,
            "org": str(organisation_id) if organisation_id else None,
            "roles": roles,
            "gen": generation,
        }
        active = self.keys.active
        token = encode_signed(claims, private_pem=active.private_pem, algorithm=SIGNING_ALGORITHM, kid=active.kid)
        return token, lifetime

    async def verify(self, token: str) -> VerifiedToken:
        header, issuer = unverified_header_and_issuer(token)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenInvalid("token has no kid")
        settings = self.settings
        if issuer == settings.token_issuer:
            own = self._own.get(kid)
            if own is None:
                raise TokenInvalid("unknown kid")
            claims = decode_verified(
                token,
                key=own,
                algorithm=SIGNING_ALGORITHM,
                audience=settings.token_audience,
                issuer=settings.token_issuer,
                leeway=settings.token_leeway_seconds,
            )
            external = False
        elif self.external is not None and issuer is not None and issuer == settings.oidc_issuer:
            jwk = await self.external.key(kid)
            if jwk is None:
                raise TokenInvalid("unknown kid")
            claims = decode_verified(
                token,
                key=jwk,
                algorithm=settings.oidc_algorithm,
                audience=settings.oidc_audience or settings.token_audience,
                issuer=issuer,
                leeway=settings.token_leeway_seconds,
                required=("exp", "iat", "aud", "iss", "sub"),
            )
            external = True
        else:
            raise TokenInvalid("untrusted issuer")
        issued_at = claims.get("iat")
        if not isinstance(issued_at, int) or issued_at > time.time() + settings.token_leeway_seconds:
            raise TokenInvalid("token issued in the future")
        return VerifiedToken(claims, external)
