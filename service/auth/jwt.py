"""The only place tokens are decoded.

python-jose is permissive by default: without `algorithms` it accepts an HS256 token whose secret
is the service's public key, and without `require_exp`/`require_aud` it accepts tokens missing
them. Every decode therefore goes through `decode_verified`, which pins one algorithm, the
audience and issuer, requires every registered claim and applies a small leeway.
"""

from __future__ import annotations

import json
from typing import Any

from jose import jwk, jws, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError


class TokenInvalid(Exception):
    """The token cannot be trusted; the message says why, for the audit trail."""


def unverified_header_and_issuer(token: str) -> tuple[dict[str, Any], str | None]:
    """Header and `iss` read without trusting them: only to choose the key to verify with."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.get_unverified_claims(token)
    except (JOSEError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise TokenInvalid("malformed token") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenInvalid("malformed token")
    issuer = claims.get("iss")
    return header, issuer if isinstance(issuer, str) else None


def parsed_key(key: str | dict[str, Any], algorithm: str) -> Key:
    """A PEM or JWK parsed once for `algorithm`, to verify many tokens with."""
    return jwk.construct(key, algorithm)


def decode_verified(
    token: str,
    *,
    key: Key,
    algorithm: str,
    audience: str,
    issuer: str,
    leeway: int,
    required: tuple[str, ...] = ("exp", "iat", "aud", "iss", "sub", "jti"),
    access_token: str | None = None,
) -> dict[str, Any]:
    """The claims of a token signed with `algorithm` (the only one accepted) by `key`. An OpenID
    Connect ID token comes with the access token issued beside it, to check its `at_hash`."""
    options = {
        "verify_signature": True,
        "verify_aud": True,
        "verify_iat": True,
        "verify_exp": True,
        "verify_nbf": True,
        "verify_iss": True,
        "verify_sub": True,
        "verify_jti": True,
        "leeway": leeway,
        **{f"require_{claim}": True for claim in required},
    }
    try:
        claims = jwt.decode(
            token, key, algorithms=[algorithm], audience=audience, issuer=issuer, options=options,
            access_token=access_token,
        )
    except JOSEError as exc:
        raise TokenInvalid(str(exc) or type(exc).__name__) from exc
    if not isinstance(claims, dict):
        raise TokenInvalid("claims are not an object")
    return claims


def encode_signed(claims: dict[str, Any], *, private_pem: str, algorithm: str, kid: str) -> str:
    return jwt.encode(claims, private_pem, algorithm=algorithm, headers={"kid": kid})


def sign_document(payload: dict[str, Any], *, private_pem: str, algorithm: str, kid: str) -> str:
    """A compact JWS over a JSON document (used for audit checkpoints)."""
    return jws.sign(payload, private_pem, headers={"kid": kid}, algorithm=algorithm)


def verify_document(token: str, *, public_pem: str, algorithm: str) -> dict[str, Any]:
    """The document a compact JWS carries, after checking its signature with one pinned
    algorithm; raises `TokenInvalid`."""
    try:
        raw = jws.verify(token, public_pem, algorithms=[algorithm])
        document = json.loads(raw)
    except (JOSEError, ValueError) as exc:
        raise TokenInvalid(str(exc) or type(exc).__name__) from exc
    if not isinstance(document, dict):
        raise TokenInvalid("signed document is not an object")
    return document


def signed_kid(token: str) -> str | None:
    try:
        kid = jws.get_unverified_header(token).get("kid")
    except (JOSEError, ValueError):
        return None
    return kid if isinstance(kid, str) else None
