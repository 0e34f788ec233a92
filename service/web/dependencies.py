"""The console's request dependencies: the signed-in person, and the CSRF check of forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.access.principal import Principal
from service.audit.service import AuditRecord
from service.core.clock import utcnow
from service.core.database import DbSession
from service.core.problems import Forbidden
from service.web import sessions
from service.web.sessions import SESSION_COOKIE, SignedIn


class SignInRequired(Exception):
    """No live session: the person is sent to the sign-in page, and back here afterwards."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


CSRF_MESSAGE = "the form's CSRF token is missing or wrong"


class CsrfRefused(Forbidden):
    """A form posted without this session's CSRF token: refused (403) and audited. `route` is the
    route's template (`/alerts/{alert_id}/close`), never the path as sent: the audit chain is
    immutable, so nothing the caller typed goes into it."""

    def __init__(self, actor: Principal, route: str) -> None:
        super().__init__(CSRF_MESSAGE)
        self.audit_entry = AuditRecord(
            actor=actor, action="console form", decision="deny", reason=f"CSRF token missing or wrong: {route}"[:200]
        )


class AnonymousCsrfRefused(Forbidden):
    """A form posted without valid credentials nor a CSRF token (the sign-in form): refused (403),
    counted with the address's requests without valid credentials, not audited one by one."""

    def __init__(self) -> None:
        super().__init__(CSRF_MESSAGE)


def route_template(request: Request) -> str:
    """The path of the route that answers (`/alerts/{alert_id}/close`), not the one sent."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "(unknown route)"


async def _signed_in(request: Request, session: DbSession) -> SignedIn:
    token = request.cookies.get(SESSION_COOKIE)
    signed = await sessions.resume(session, token=token, now=utcnow()) if token else None
    if signed is None:
        raise SignInRequired(request.url.path)
    request.state.principal = signed.principal  # for the request's log line
    return signed


SignedInPerson = Annotated[SignedIn, Depends(_signed_in)]


async def _form_checked(request: Request, person: SignedInPerson) -> SignedIn:
    form = await request.form()
    offered = form.get("csrf_token")
    if not sessions.same_token(offered if isinstance(offered, str) else None, person.csrf_token):
        raise CsrfRefused(person.principal, route_template(request))
    return person


#: a signed-in person whose form carried the session's CSRF token (every console POST)
FormPoster = Annotated[SignedIn, Depends(_form_checked)]
