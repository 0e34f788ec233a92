"""Refusals on console pages become pages people can read: a failed sign-in shows the sign-in
form again, an object the person may not see is "not found" (as the API's 404), a refused form
is a 403 page. No session sends the person to sign in."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from service.core.problems import Problem
from service.web.auth_pages import local_path, login_page
from service.web.dependencies import SignInRequired
from service.web.forms import FormErrors
from service.web.labels import N_
from service.web.oidc_pages import OIDC_COOKIE
from service.web.rendering import renderer

CONSOLE_TAG = "console"


def is_console_request(request: Request) -> bool:
    """Answered by a console page (its routes carry the `console` tag)."""
    route = request.scope.get("route")
    return CONSOLE_TAG in (getattr(route, "tags", None) or [])


async def problem_page(request: Request, problem: Problem) -> Response:
    if request.url.path == "/login" and problem.status in (401, 429):
        errors = FormErrors()
        errors.general.append(
            N_("Too many failed sign-ins. Try again later.") if problem.status == 429
            else N_("The username or password is wrong.")
        )
        response = login_page(request, next_path="/", errors=errors, status=problem.status)
        if "Retry-After" in problem.headers:
            response.headers["Retry-After"] = problem.headers["Retry-After"]
        return response
    if request.url.path.startswith("/login/oidc") and problem.status in (401, 429):
        response = renderer(request).page(
            request, "oidc_error.html", {"reason": "throttled" if problem.status == 429 else "failed", "person": None},
            status=problem.status,
        )
        if "Retry-After" in problem.headers:
            response.headers["Retry-After"] = problem.headers["Retry-After"]
        response.delete_cookie(OIDC_COOKIE, path="/")  # this sign-in is over: start again
        return response
    return renderer(request).page(
        request, "problem.html", {"status": problem.status, "person": None}, status=problem.status
    )


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)  # noqa: S101 - registered for it only
    return RedirectResponse(f"/login?next={local_path(exc.next_path)}", status_code=303)


HttpHandler = Callable[[Request, Any], Response | Awaitable[Response]]


def console_http_errors(api_handler: HttpHandler) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A form too large for the service (an upload over the limit) is a page that says so on a
    console page; everything else is answered as the API answers it."""

    async def on_http(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 413 and is_console_request(request):
            return renderer(request).page(request, "problem.html", {"status": 413, "person": None}, status=413)
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    return on_http
