"""`/me/notifications`: which notices I get by e-mail, at which address, how often."""

from __future__ import annotations

from service.auth.dependencies import CurrentPrincipal
from service.core.database import DbSession, api_router
from service.core.problems import Forbidden, Unauthenticated, ValidationProblem, problem_responses
from service.notices import service
from service.notices.schemas import NoticePreferences, NoticePreferencesRead

router = api_router(tags=["notices"])


@router.get(
    "/me/notifications",
    response_model=NoticePreferencesRead,
    responses=problem_responses(Unauthenticated, Forbidden),
    summary="Which notices I get by e-mail",
)
async def read_notifications(session: DbSession, principal: CurrentPrincipal) -> NoticePreferencesRead:
    return await service.preferences(session, actor=principal)


@router.put(
    "/me/notifications",
    response_model=NoticePreferencesRead,
    responses=problem_responses(Unauthenticated, Forbidden, ValidationProblem),
    summary="Choose which notices I get by e-mail, the address, and at once or a daily digest",
)
async def replace_notifications(
    body: NoticePreferences, session: DbSession, principal: CurrentPrincipal
) -> NoticePreferencesRead:
    return await service.set_preferences(session, actor=principal, data=body)
