"""Signing in and out of the console, and choosing its language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service.audit.service import AuditRecord, record
from service.auth import service as auth
from service.auth.anonymous import AnonymousRequests
from service.auth.dependencies import AppPasswords
from service.core.clock import utcnow
from service.core.database import DbSession
from service.core.problems import TooManyRequests
from service.core.settings import Environment
from service.web import sessions
from service.web.dependencies import AnonymousCsrfRefused, FormPoster
from service.web.forms import FormErrors
from service.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.sessions import PRE_SESSION_COOKIE, SESSION_COOKIE

router = APIRouter(include_in_schema=False, tags=["console"])
FormText = Annotated[str, Form(max_length=500)]


def local_path(target: str | None) -> str:
    """Only a path of this service: never another site (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.environment is Environment.production)


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def _oidc_provider(request: Request) -> str | None:
    """The name on the "sign in with" button, when the console may sign in with the issuer."""
    settings = request.app.state.settings
    return str(settings.oidc_provider_name) if getattr(request.app.state, "console_oidc", None) else None


def login_page(
    request: Request, *, next_path: str, username: str = "", errors: FormErrors | None = None, status: int = 200
) -> Response:
    token = request.cookies.get(PRE_SESSION_COOKIE) or sessions.new_token()
    response = renderer(request).page(
        request,
        "login.html",
        {"csrf_token": token, "next_path": next_path, "username": username, "errors": errors or FormErrors(),
         "person": None, "oidc_provider": _oidc_provider(request)},
        status=status,
    )
    set_cookie(request, response, PRE_SESSION_COOKIE, token)
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query's name
    return login_page(request, next_path=local_path(next))


@router.post("/login")
async def login(
    request: Request,
    session: DbSession,
    passwords: AppPasswords,
    username: Annotated[str, Form(max_length=500)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=500)] = "/",
) -> Response:
    anonymous: AnonymousRequests = request.app.state.anonymous_requests
    address = request.client.host if request.client else None
    if not sessions.same_token(csrf_token, request.cookies.get(PRE_SESSION_COOKIE)):
        # no credentials: throttled and counted per address and minute, not audited one by one
        refused = anonymous.refuse(address)
        if isinstance(refused, TooManyRequests):
            raise refused
        raise AnonymousCsrfRefused
    errors = FormErrors()
    if not username.strip():
        errors.add("username", N_("Enter your username"))
    if not password:
        errors.add("password", N_("Enter your password"))
    if errors:
        return login_page(request, next_path=local_path(next_path), username=username, errors=errors, status=422)
    # a failure is a problem for the app's handler: audited and counted against the throttle
    # after this transaction is rolled back, answered late, then shown as this form again
    try:
        principal, generation = await auth.password_login(
            session, username=username, password=password, address=address, passwords=passwords
        )
    except auth.LoginThrottled as throttled:
        raise anonymous.throttled(address, throttled) from None
    token = await sessions.sign_in(
        session,
        principal=principal,
        generation=generation,
        previous_token=request.cookies.get(SESSION_COOKIE),
        now=utcnow(),
    )
    await record(session, AuditRecord(actor=principal, action="login", decision="allow", reason="console sign-in"))
    response = RedirectResponse(local_path(next_path), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, session: DbSession, person: FormPoster) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sessions.sign_out(session, token=token)
    await record(
        session, AuditRecord(actor=person.principal, action="logout", decision="allow", reason="console sign-out")
    )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language/{language}")
async def choose_language(request: Request, language: str, next: str | None = None) -> Response:  # noqa: A002
    response = RedirectResponse(local_path(next), status_code=303)
    if language in LANGUAGES:
        set_cookie(request, response, LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600)
    return response
