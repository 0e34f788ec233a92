"""Signing in to the console with a real OpenID Connect provider (the npm package `oidc-provider`,
started by these tests): the whole redirect flow with PKCE, the session it opens, its audit event,
and a page for every way it can fail (a tampered or replayed state, an expired sign-in, consent
refused, an ID token signed by another key, an identity that names no organisation)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk
from sqlalchemy import select, update
from sqlmodel import col

from service.audit.models import AuditEvent
from service.auth.throttle import LoginThrottle
from service.core.clock import utcnow
from service.core.database import Database
from service.core.settings import Settings
from service.web.models import OidcSignIn
from service.web.oidc_pages import OIDC_COOKIE
from service.web.sessions import SESSION_COOKIE
from tests.conftest import World, demo_world, make_app
from tests.web import oidc_provider
from tests.web.oidc_provider import RunningProvider

CONSOLE = "http://obhvat.test"
CALLBACK = CONSOLE + "/login/oidc/callback"
HOME = "203.0.113.7"


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProvider]:
    yield from oidc_provider.start(CALLBACK, tmp_path_factory.mktemp("idp"))


def _trusting(settings: Settings, provider: RunningProvider, jwks_file: Path) -> Settings:
    return settings.model_copy(update={
        "public_url": CONSOLE,
        "oidc_issuer": provider.issuer,
        "oidc_jwks": str(jwks_file),
        "oidc_audience": "obhvat-api",
        "oidc_client_id": provider.client_id,
        "oidc_client_secret": provider.client_secret,
        "oidc_scopes": "openid obhvat",
        "oidc_provider_name": "Тестов доставчик",
    })


@pytest.fixture
async def console(settings: Settings, database: Database, provider: RunningProvider) -> Any:
    app = make_app(_trusting(settings, provider, provider.jwks_file), database)
    await demo_world(app, database, settings)
    return app


def _browser(app: Any) -> httpx.AsyncClient:
    """A browser: the console in-process, the provider over the network, one cookie jar."""
    console = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(HOME, 50000))
    return httpx.AsyncClient(mounts={CONSOLE: console}, base_url=CONSOLE, timeout=30)


@pytest.fixture
async def browser(console: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _browser(console) as client:
        yield client


async def _follow(browser: httpx.AsyncClient, response: httpx.Response, *, until: str | None = None) -> httpx.Response:
    """Follows redirects one by one, stopping at one that points at `until`."""
    for _ in range(20):
        if not response.is_redirect:
            return response
        location = urljoin(str(response.url), response.headers["location"])
        if until and location.startswith(until):
            return response
        response = await browser.get(location)
    raise AssertionError("too many redirects")


async def _submit(browser: httpx.AsyncClient, page: httpx.Response, fields: dict[str, str]) -> httpx.Response:
    found = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert found, page.text[:500]
    return await browser.post(urljoin(str(page.url), found.group(1)), data=fields)


async def _at_the_provider(browser: httpx.AsyncClient, next_path: str = "/inbox") -> tuple[httpx.Response, str]:
    """Starts the sign-in from the console; returns the provider's login page and the address
    the console sent the browser to."""
    started = await browser.get("/login/oidc", params={"next": next_path})
    assert started.status_code == 303, started.text
    authorize = started.headers["location"]
    return await _follow(browser, started), authorize


async def _back_at_the_console(browser: httpx.AsyncClient, login: str) -> str:
    """Signs in at the provider and consents; returns the callback address it sends back to."""
    login_page, _ = await _at_the_provider(browser)
    consent = await _follow(
        browser, await _submit(browser, login_page, {"prompt": "login", "login": login, "password": "any-password"})
    )
    assert 'name="prompt" value="consent"' in consent.text, consent.text[:500]
    back = await _follow(browser, await _submit(browser, consent, {"prompt": "consent"}), until=CALLBACK)
    location = back.headers["location"]
    assert location.startswith(CALLBACK)
    return location


async def _events(database: Database, action: str) -> list[AuditEvent]:
    async with database.transaction() as session:
        rows = await session.execute(select(AuditEvent).where(col(AuditEvent.action) == action))
        return list(rows.scalars().all())


async def test_the_sign_in_page_offers_the_provider_only_when_one_is_configured(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, world: World
) -> None:
    offered = await browser.get("/login")
    assert "Вход с Тестов доставчик" in offered.text
    assert 'href="/login/oidc?next=/"' in offered.text
    plain = await client.get("/login")
    assert "/login/oidc" not in plain.text
    assert (await client.get("/login/oidc")).status_code == 404


async def test_signing_in_with_the_provider_opens_a_new_session_and_is_audited(
    browser: httpx.AsyncClient, database: Database
) -> None:
    browser.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="obhvat.test")
    _, authorize = await _at_the_provider(browser)
    query = parse_qs(urlsplit(authorize).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43 and len(query["state"][0]) >= 43 and query["nonce"]
    assert query["redirect_uri"] == [CALLBACK] and "code_verifier" not in query
    browser.cookies.clear()
    browser.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="obhvat.test")

    callback = await _back_at_the_console(browser, "anna.petrova")
    landed = await browser.get(callback)
    assert landed.status_code == 303 and landed.headers["location"] == "/inbox"
    session_id = browser.cookies.get(SESSION_COOKIE, domain="obhvat.test")
    assert session_id and session_id != "planted-by-an-attacker"
    cookie = next(h for h in landed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    inbox = await browser.get("/inbox")
    assert inbox.status_code == 200, inbox.text
    person = re.search(r'<p class="person">(.*?)</p>', inbox.text, re.S)
    assert person, inbox.text
    assert "anna.petrova" in person.group(1) and "Социален работник, ОЗД" in person.group(1), person.group(1)

    logins = [e for e in await _events(database, "login") if e.decision == "allow"]
    assert [(e.actor_id, e.reason) for e in logins] == [
        ("oidc:anna.petrova", "console sign-in with OpenID Connect")
    ]

    browser.cookies.set(OIDC_COOKIE, parse_qs(urlsplit(callback).query)["state"][0], domain="obhvat.test")
    replayed = await browser.get(callback)
    assert replayed.status_code == 400, "a state was accepted twice"
    assert "Вписването не може да бъде потвърдено" in replayed.text


async def test_a_tampered_state_is_refused_and_counted_without_a_session(
    browser: httpx.AsyncClient, console: Any, database: Database
) -> None:
    callback = await _back_at_the_console(browser, "anna.petrova")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    tampered = callback.replace(f"state={state}", f"state={state[:-2]}xy")
    refused = await browser.get(tampered)
    assert refused.status_code == 400
    assert "Вписването не може да бъде потвърдено" in refused.text
    assert browser.cookies.get(SESSION_COOKIE, domain="obhvat.test") is None
    assert (await browser.get("/inbox")).status_code == 303
    await console.state.anonymous_requests.flush(database, everything=True)
    counted = [e.reason for e in await _events(database, "authenticate") if e.client_address == HOME]
    assert any(reason.startswith("1 requests without valid credentials") for reason in counted), counted
    assert not [e for e in await _events(database, "login") if e.decision == "allow"]


async def test_refusing_consent_at_the_provider_is_shown_and_audited(
    browser: httpx.AsyncClient, database: Database
) -> None:
    login_page, _ = await _at_the_provider(browser)
    consent = await _follow(
        browser, await _submit(browser, login_page, {"prompt": "login", "login": "anna.petrova", "password": "x"})
    )
    action = re.search(r'<form[^>]*action="([^"]+)"', consent.text)
    assert action
    abort = await browser.get(urljoin(str(consent.url), action.group(1) + "/abort"))
    back = await _follow(browser, abort, until=CALLBACK)
    callback = back.headers["location"]
    assert "error=access_denied" in callback
    refused = await browser.get(callback)
    assert refused.status_code == 403
    assert "Не разрешихте" in refused.text
    assert browser.cookies.get(SESSION_COOKIE, domain="obhvat.test") is None
    denials = [e.reason for e in await _events(database, "login") if e.decision == "deny"]
    assert denials == ["OpenID Connect issuer did not sign the person in: access_denied"]


async def test_a_sign_in_older_than_ten_minutes_has_expired(browser: httpx.AsyncClient, database: Database) -> None:
    callback = await _back_at_the_console(browser, "anna.petrova")
    async with database.transaction() as session:
        await session.execute(update(OidcSignIn).values(created_at=utcnow() - timedelta(minutes=11)))
    expired = await browser.get(callback)
    assert expired.status_code == 400
    assert "изтече" in expired.text
    assert browser.cookies.get(SESSION_COOKIE, domain="obhvat.test") is None


@pytest.mark.parametrize(
    ("login", "why"),
    [("no.organisation", "no known organisation"), ("mixed.duties", "roles mix auditor or admin")],
)
async def test_an_identity_obhvat_cannot_map_is_refused_audited_and_counted(
    browser: httpx.AsyncClient, database: Database, login: str, why: str
) -> None:
    callback = await _back_at_the_console(browser, login)
    refused = await browser.get(callback)
    assert refused.status_code == 401
    assert "не можа да бъде проверен" in refused.text
    assert browser.cookies.get(SESSION_COOKIE, domain="obhvat.test") is None
    assert browser.cookies.get(OIDC_COOKIE, domain="obhvat.test") is None, "the failed sign-in can be retried"
    denials = [e for e in await _events(database, "login") if e.decision == "deny"]
    assert len(denials) == 1 and denials[0].actor_id == f"oidc:{login}" and why in denials[0].reason
    async with database.transaction() as session:
        counted = await session.get(LoginThrottle, f"addr:{HOME}")
    assert counted is not None and counted.failures == 1


async def test_an_id_token_signed_by_a_key_obhvat_does_not_trust_is_refused(
    settings: Settings, database: Database, provider: RunningProvider, tmp_path: Path
) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwk.construct(impostor.public_key(), "RS256").to_dict()
    published = json.loads(provider.jwks_file.read_text())["keys"][0]
    other_keys = tmp_path / "other-jwks.json"
    other_keys.write_text(json.dumps({"keys": [{**public, "kid": published["kid"], "use": "sig", "alg": "RS256"}]}))
    app = make_app(_trusting(settings, provider, other_keys), database)
    await demo_world(app, database, settings)
    async with _browser(app) as browser:
        callback = await _back_at_the_console(browser, "anna.petrova")
        refused = await browser.get(callback)
    assert refused.status_code == 401
    denials = [e.reason for e in await _events(database, "login") if e.decision == "deny"]
    assert len(denials) == 1 and denials[0].startswith("OpenID Connect sign-in refused: ")
    assert "ignature" in denials[0]


def test_the_console_client_needs_the_issuer_and_its_keys(settings: Settings) -> None:
    with pytest.raises(ValueError, match="OBHVAT_OIDC_CLIENT_ID needs OBHVAT_OIDC_ISSUER"):
        Settings.model_validate({**settings.model_dump(), "oidc_client_id": "obhvat-console"})
    with pytest.raises(ValueError, match="OBHVAT_OIDC_SCOPES must include openid"):
        Settings.model_validate({**settings.model_dump(), "oidc_scopes": "profile"})
    configured = Settings.model_validate({
        **settings.model_dump(), "oidc_issuer": "https://idp.example.bg", "oidc_jwks": "/dev/null",
        "oidc_client_id": "obhvat-console",
    })
    assert configured.console_oidc_enabled and not settings.console_oidc_enabled
