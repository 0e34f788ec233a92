"""The console as an OpenID Connect relying party: the authorization code flow with PKCE (S256),
a `state` bound to the browser and used once, a `nonce` checked in the ID token, and the ID token
verified with the issuer's keys (the JWKS the API trusts for its bearer tokens), one pinned
algorithm, the console's client id as audience and the issuer as `iss`.

The issuer's endpoints come from its discovery document, read once and kept; the document must
name the configured issuer."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from service.auth.jwt import TokenInvalid, decode_verified, unverified_header_and_issuer
from service.auth.tokens import ExternalKeys
from service.core.settings import Settings

CALLBACK_PATH = "/login/oidc/callback"
HTTP_TIMEOUT_SECONDS = 10.0
#: OAuth 2.0 error codes an issuer may send back (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6); any
#: other value is recorded as `error`, never as sent
KNOWN_ERRORS = frozenset({
    "access_denied", "invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope",
    "server_error", "temporarily_unavailable", "interaction_required", "login_required",
    "account_selection_required", "consent_required", "invalid_request_uri", "invalid_request_object",
    "request_not_supported", "request_uri_not_supported", "registration_not_supported",
})


class IssuerUnavailable(Exception):
    """The issuer did not answer as an OpenID Connect issuer should; the message says how."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one sign-in sends to the issuer, and keeps to check what comes back."""

    state: str
    nonce: str
    code_verifier: str

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_attempt() -> Attempt:
    # RFC 7636 §4.1: a verifier of 43 to 128 characters from the unreserved set
    return Attempt(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                   code_verifier=secrets.token_urlsafe(64))


def known_error(error: str | None) -> str:
    return error if error in KNOWN_ERRORS else "error"


class OidcClient:
    def __init__(self, settings: Settings, keys: ExternalKeys) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("the console's OpenID Connect sign-in needs OBHVAT_OIDC_ISSUER and OBHVAT_OIDC_CLIENT_ID")
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.keys = keys
        self._discovery: dict[str, Any] | None = None

    @property
    def redirect_uri(self) -> str:
        return self.settings.effective_public_url + CALLBACK_PATH

    async def _endpoints(self) -> dict[str, Any]:
        if self._discovery is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as client:
                    response = await client.get(url)
                    response.raise_for_status()
                    document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise IssuerUnavailable(f"discovery document unavailable: {type(exc).__name__}") from exc
            if not isinstance(document, dict) or document.get("issuer") != self.issuer:
                raise IssuerUnavailable("the discovery document names another issuer")
            for name in ("authorization_endpoint", "token_endpoint"):
                if not isinstance(document.get(name), str):
                    raise IssuerUnavailable(f"the discovery document has no {name}")
            self._discovery = document
        return self._discovery

    async def authorization_url(self, attempt: Attempt) -> str:
        endpoints = await self._endpoints()
        query = urlencode({
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.settings.oidc_scopes,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": attempt.code_challenge,
            "code_challenge_method": "S256",
        })
        endpoint = str(endpoints["authorization_endpoint"])
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        """The token endpoint's answer for an authorization code (raises `TokenInvalid` when
        the issuer refuses it)."""
        endpoints = await self._endpoints()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        if self.settings.oidc_client_secret:
            # RFC 6749 §2.3.1: both halves form-encoded before Basic
            pair = f"{quote(self.client_id, safe='')}:{quote(self.settings.oidc_client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form["client_id"] = self.client_id
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as client:
                response = await client.post(str(endpoints["token_endpoint"]), data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise IssuerUnavailable(f"token endpoint unavailable: {type(exc).__name__}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200 or not isinstance(answer, dict):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise TokenInvalid(f"the issuer refused the code: {response.status_code} {known_error(error)}")
        if not isinstance(answer.get("id_token"), str):
            raise TokenInvalid("the issuer answered no ID token")
        return answer

    async def verify_id_token(self, id_token: str, *, nonce: str, access_token: str | None) -> dict[str, Any]:
        """The claims of an ID token of this issuer for this client and this sign-in."""
        header, issuer = unverified_header_and_issuer(id_token)
        if issuer != self.issuer:
            raise TokenInvalid("ID token from another issuer")
        kid = header.get("kid")
        key = await self.keys.key(kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise TokenInvalid("ID token signed with an unknown key")
        leeway = self.settings.token_leeway_seconds
        claims = decode_verified(
            id_token,
            key=key,
            algorithm=self.settings.oidc_algorithm,
            audience=self.client_id,
            issuer=self.issuer,
            leeway=leeway,
            required=("exp", "iat", "aud", "iss", "sub"),
            access_token=access_token,
        )
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise TokenInvalid("ID token for several audiences without this client as azp")
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(str(claims["nonce"]), nonce):
            raise TokenInvalid("ID token nonce does not match the sign-in")
        issued_at = claims.get("iat")
        if not isinstance(issued_at, int) or issued_at > time.time() + leeway:
            raise TokenInvalid("ID token issued in the future")
        return claims
