"""The token endpoint's answers, and tokens from a trusted external OpenID Connect issuer."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from service.app import create_app
from tests.conftest import DEMO_PASSWORD

TOKEN = "/api/v1/auth/token"
ISSUER = "https://idp.example.bg/realms/obhvat"


async def test_password_grant_answers_an_oauth2_token_with_the_registered_claims(client, world, app):
    response = await client.post(
        TOKEN, data={"grant_type": "password", "username": "cp-kazanlak.cp", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and 0 < body["expires_in"] <= 900
    header = jwt.get_unverified_header(body["access_token"])
    claims = jwt.get_unverified_claims(body["access_token"])
    assert header["alg"] == "RS256" and header["kid"] == app.state.tokens.keys.active.kid
    assert {"iss", "aud", "exp", "iat", "jti", "sub"} <= set(claims)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    assert all("d" not in k for k in jwks["keys"])  # public halves only


async def test_wrong_password_unknown_user_and_unsupported_grant(client, world):
    wrong = await client.post(
        TOKEN, data={"grant_type": "password", "username": "cp-kazanlak.cp", "password": "x" * 12}
    )
    unknown = await client.post(TOKEN, data={"grant_type": "password", "username": "nobody", "password": "x" * 12})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]  # no hint which one was wrong
    odd = await client.post(TOKEN, data={"grant_type": "authorization_code"})
    assert odd.status_code == 400 and odd.json()["error"] == "unsupported_grant_type"


@pytest.fixture
def idp(tmp_path):
    """An external identity provider's signing key and its JWKS file."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = jwk.construct(
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "RS256",
    ).to_dict()
    kid = "idp-key-1"
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}))

    def mint(*, roles: list[str], org: str = "cp-kazanlak", audience: str = "obhvat-api", key: str = pem) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": f"idp-user-{uuid.uuid4().hex[:6]}",
            "iat": now,
            "exp": now + 300,
            "obhvat_org": org,
            "obhvat_roles": roles,
        }
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    return path, mint


@pytest.fixture
async def oidc_client(settings, database, world, idp):
    path, _ = idp
    trusted = settings.model_copy(update={"oidc_issuer": ISSUER, "oidc_jwks": str(path), "oidc_audience": "obhvat-api"})
    app = create_app(trusted, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://obhvat.test"
    ) as client:
        yield client


async def test_external_token_maps_to_its_organisation_and_never_to_admin(oidc_client, idp):
    _, mint = idp
    response = await oidc_client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {mint(roles=['cp_officer', 'not_an_obhvat_role'])}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["cp_officer"]
    assert response.json()["organisation"]["code"] == "cp-kazanlak"
    assert response.json()["kind"] == "external"
    admin = await oidc_client.get("/api/v1/me", headers={"Authorization": f"Bearer {mint(roles=['admin'])}"})
    assert admin.status_code == 401, admin.text


async def test_external_token_mixing_auditor_or_admin_with_data_roles_is_refused(oidc_client, idp):
    _, mint = idp
    auditor = await oidc_client.get("/api/v1/me", headers={"Authorization": f"Bearer {mint(roles=['auditor'])}"})
    assert auditor.status_code == 200, auditor.text
    assert auditor.json()["roles"] == ["auditor"]
    for roles in (["auditor", "cp_officer"], ["cp_officer", "auditor"], ["cp_officer", "admin"], ["auditor", "admin"]):
        token = mint(roles=roles)
        for path in ("/api/v1/me", "/api/v1/audit/events", "/api/v1/alerts"):
            response = await oidc_client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (roles, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_external_roles_invalid_for_the_organisation_are_refused(oidc_client, idp):
    _, mint = idp
    response = await oidc_client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {mint(roles=['police_officer'])}"}
    )
    assert response.status_code == 401


async def test_external_token_with_wrong_key_audience_or_organisation_is_refused(oidc_client, idp):
    _, mint = idp
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    for token in (
        mint(roles=["cp_officer"], key=other),
        mint(roles=["cp_officer"], audience="elsewhere"),
        mint(roles=["cp_officer"], org="no-such-org"),
    ):
        response = await oidc_client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
