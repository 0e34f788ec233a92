"""Every forged, stale or misdirected bearer token gets a 401 problem, and is audited (counted
per address and minute when it is not even valid).

python-jose accepts some of these when used carelessly (no `algorithms`, no `require_*`); the
service decodes only through service/auth/jwt.py, which pins all of it."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt
from sqlalchemy import select

from service.audit.models import AuditEvent

ME = "/api/v1/me"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _hs256(claims: dict, secret: bytes, kid: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class Minter:
    """Tokens with chosen claims, signed with the service's own key unless told otherwise."""

    def __init__(self, app, user_id: uuid.UUID, organisation_id: uuid.UUID | None, roles: list[str]) -> None:
        self.key = app.state.tokens.keys.active
        self.settings = app.state.settings
        self.base = {
            "iss": self.settings.token_issuer,
            "aud": self.settings.token_audience,
            "sub": str(user_id),
            "jti": uuid.uuid4().hex,
            "kind": "user",
            "org": str(organisation_id) if organisation_id else None,
            "roles": roles,
            "gen": 0,
        }

    def claims(self, **changes) -> dict:
        now = int(time.time())
        claims = {**self.base, "iat": now, "nbf": now, "exp": now + 300, **changes}
        return {k: v for k, v in claims.items() if v is not ...}

    def sign(self, claims: dict, *, private_pem: str | None = None, kid: str | None = None) -> str:
        return jwt.encode(
            claims, private_pem or self.key.private_pem, algorithm="RS256", headers={"kid": kid or self.key.kid}
        )


@pytest.fixture
async def minter(app, world):
    from service.organisations import repository

    async with world.database.transaction() as session:
        user = await repository.user_by_username(session, "cp-kazanlak.cp")
    return Minter(app, user.id, user.organisation_id, user.roles)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _assert_401(client, headers: dict[str, str]) -> None:
    response = await client.get(ME, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_well_formed_token_is_accepted(client, minter):
    response = await client.get(ME, headers=_bearer(minter.sign(minter.claims())))
    assert response.status_code == 200
    assert response.json()["roles"] == ["cp_officer"]


async def test_no_token_and_garbage_are_rejected(client, minter):
    await _assert_401(client, {})
    await _assert_401(client, _bearer("not-a-token"))
    await _assert_401(client, _bearer("a.b.c"))
    await _assert_401(client, {"Authorization": "Basic " + _b64(b"cp-kazanlak.cp:x")})


async def test_alg_none_is_rejected(client, minter):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": minter.key.kid}).encode())
    payload = _b64(json.dumps(minter.claims()).encode())
    await _assert_401(client, _bearer(f"{header}.{payload}."))


@pytest.mark.parametrize("encoding", ["pem", "der"])
async def test_hs256_signed_with_the_services_public_key_is_rejected(client, minter, encoding):
    public = serialization.load_pem_public_key(minter.key.public_pem.encode())
    secret = (
        minter.key.public_pem.encode()
        if encoding == "pem"
        else public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    await _assert_401(client, _bearer(_hs256(minter.claims(roles=["admin"]), secret, minter.key.kid)))


async def test_another_key_claiming_the_services_kid_is_rejected(client, minter):
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    await _assert_401(client, _bearer(minter.sign(minter.claims(), private_pem=other)))


@pytest.mark.parametrize("missing", ["exp", "aud", "iat", "iss", "sub", "jti"])
async def test_a_token_missing_a_required_claim_is_rejected(client, minter, missing):
    await _assert_401(client, _bearer(minter.sign(minter.claims(**{missing: ...}))))


async def test_expired_and_not_yet_valid_tokens_are_rejected(client, minter):
    now = int(time.time())
    await _assert_401(client, _bearer(minter.sign(minter.claims(iat=now - 1000, nbf=now - 1000, exp=now - 100))))
    await _assert_401(client, _bearer(minter.sign(minter.claims(nbf=now + 600, exp=now + 900))))
    await _assert_401(client, _bearer(minter.sign(minter.claims(iat=now + 600, nbf=now, exp=now + 900))))


async def test_wrong_audience_issuer_and_unknown_kid_are_rejected(client, minter):
    await _assert_401(client, _bearer(minter.sign(minter.claims(aud="another-service"))))
    await _assert_401(client, _bearer(minter.sign(minter.claims(iss="https://evil.example"))))
    await _assert_401(client, _bearer(minter.sign(minter.claims(), kid="no-such-kid")))


async def test_a_tampered_payload_is_rejected(client, minter):
    header, _, signature = minter.sign(minter.claims()).split(".")
    forged = _b64(json.dumps(minter.claims(roles=["admin"], org=None)).encode())
    await _assert_401(client, _bearer(f"{header}.{forged}.{signature}"))


async def test_a_disabled_users_token_fails_at_once(client, world, admin, minter):
    token = minter.sign(minter.claims())
    assert (await client.get(ME, headers=_bearer(token))).status_code == 200
    disabled = await client.patch(f"/api/v1/users/{minter.base['sub']}", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200, disabled.text
    await _assert_401(client, _bearer(token))


async def test_rejected_tokens_are_counted_into_the_audit_trail_as_denials(app, client, world, minter):
    await client.get(ME, headers=_bearer(minter.sign(minter.claims(aud="another-service"))))
    await app.state.anonymous_requests.flush(world.database, everything=True)
    async with world.database.transaction() as session:
        events = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.action == "authenticate", AuditEvent.decision == "deny")
                )
            )
            .scalars()
            .all()
        )
    assert events and events[-1].reason.startswith("1 requests without valid credentials")


def test_no_module_but_auth_jwt_decodes_tokens():
    root = Path(__file__).resolve().parents[2] / "service"
    offenders = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "decode"
                and isinstance(node.value, ast.Name)
                and node.value.id == "jwt"
                and path.relative_to(root).as_posix() != "auth/jwt.py"
            ):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
