"""The person's start page: what they can do, and for a school its latest alerts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.access.vocabulary import Action, Role
from service.core.database import DbSession
from service.web.dependencies import SignedInPerson
from service.web.rendering import renderer
from service.web.views import imports_worklists, may, person_view

router = APIRouter(include_in_schema=False, tags=["console"])


@router.get("/")
async def start(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    principal = person.principal
    tasks = {
        "find_pupil": may(principal, Action.lookup_child),
        "known_to_cp": may(principal, Action.ask_known_to_cp),
        "alerts": may(principal, Action.read_alert),
        "inbox": may(principal, Action.read_inbox),
        "audit": may(principal, Action.read_audit),
        "referrals": Role.provider_worker in principal.roles,
        "worklists": imports_worklists(principal),
    }
    return renderer(request).page(
        request, "start.html", {"person": await person_view(session, person), "tasks": tasks}
    )
