"""Loading the fictional demonstration data (organisations, users, children) idempotently."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal
from service.auth.keys import pin_secret_for
from service.children import repository as children_repository
from service.children import settlements
from service.children.models import Child, Enrolment
from service.children.pin import pin_hash, validate_pin
from service.core.clock import local_today
from service.core.database import Database
from service.core.passwords import Passwords
from service.core.settings import Environment, Settings
from service.organisations import repository, service
from service.organisations.schemas import OrganisationCreate, UserCreate
from service.teams import repository as team_repository
from service.teams.models import Team, TeamMember

DEFAULT_DEMO_FILE = Path(__file__).with_name("demo.json")
#: the national enrolment mechanism's part of the default demo: the regional education office and
#: one joint enrolment team per demo municipality (loaded with the default demo file)
MECHANISM_DEMO_FILE = Path(__file__).with_name("mechanism.json")
#: a list of children to find for Kazanlak: `obhvat worklists import FILE --org rue-stara-zagora`
KAZANLAK_WORKLIST = Path(__file__).with_name("worklist-kazanlak.csv")
REFUSED_IN_PRODUCTION = (
    "demo data must not be loaded in production: it creates platform.admin and other accounts "
    "with the published demo password (OBHVAT_ENVIRONMENT=production)"
)


class DemoRefused(RuntimeError):
    """The demo was asked for in production."""


@dataclass
class DemoSummary:
    password: str
    organisations_created: int = 0
    users_created: int = 0
    children_created: int = 0
    usernames: list[str] = field(default_factory=list)

    def describe(self) -> str:
        sample = ", ".join(u for u in self.usernames if u.startswith(("school-koprinka", "cp-kazanlak", "platform")))
        return (
            f"demo loaded: {self.organisations_created} organisations, {self.users_created} users, "
            f"{self.children_created} children created\n"
            f"every demo user's password is {self.password!r}; users include {sample}\n"
            "web console (Bulgarian): http://127.0.0.1:8000/ - sign in as school-koprinka.staff (teacher), "
            "cp-kazanlak.cp (child protection), rue-lovech.auditor (auditor), "
            "rue-stara-zagora.education (regional education office)\n"
            "API: POST /api/v1/auth/token with grant_type=password, or 'Authorize' at "
            "http://127.0.0.1:8000/docs"
        )


def school_year_start(today: date) -> date:
    """15 September of the school year that `today` falls in."""
    year = today.year if (today.month, today.day) >= (9, 15) else today.year - 1
    return date(year, 9, 15)


async def _load_children(
    session: AsyncSession,
    children: list[dict[str, Any]],
    organisation_ids: dict[str, uuid.UUID],
    secret: bytes,
    today: date,
) -> int:
    """Demo pupils, each enrolled at its school since the start of the school year."""
    created = 0
    with typer.progressbar(children, label="demo children", file=None) as progress:
        for entry in progress:
            digest = pin_hash(secret, validate_pin(entry["pin"]).normalised)
            if await children_repository.child_by_pin_hash(session, digest):
                continue
            child = Child(
                pin_hash=digest,
                given_name=entry["given_name"],
                family_name=entry["family_name"],
                date_of_birth=date.fromisoformat(entry["date_of_birth"]),
                sex=entry["sex"],
                municipality_code=entry.get("municipality_code"),
                settlement_code=entry.get("settlement_code"),
                address=entry.get("address"),
            )
            session.add(child)
            await session.flush()
            session.add(
                Enrolment(
                    child_id=child.id,
                    school_id=organisation_ids[entry["school"]],
                    grade=entry["grade"],
                    start_date=school_year_start(today),
                )
            )
            created += 1
    await session.flush()
    return created


async def load_demo(
    *, settings: Settings, database: Database, path: Path, actor: Principal, today: date | None = None
) -> DemoSummary:
    if settings.environment is Environment.production:
        raise DemoRefused(REFUSED_IN_PRODUCTION)
    today = today or local_today()
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if path == DEFAULT_DEMO_FILE:
        mechanism: dict[str, Any] = json.loads(MECHANISM_DEMO_FILE.read_text(encoding="utf-8"))
        for part in ("organisations", "users", "teams"):
            document[part] = document.get(part, []) + mechanism.get(part, [])
    passwords = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
    summary = DemoSummary(password=settings.demo_password)
    async with database.transaction() as session:
        organisation_ids = {}
        for entry in document.get("organisations", []):
            existing = await repository.organisation_by_code(session, entry["code"])
            if existing is None:
                created = await service.create_organisation(session, actor=actor, data=OrganisationCreate(**entry))
                organisation_ids[entry["code"]] = created.id
                summary.organisations_created += 1
            else:
                organisation_ids[entry["code"]] = existing.id
        # the demo municipalities' settlements, which the demo children live in
        await settlements.load(session, settlements.parse(settlements.DEMO_SETTLEMENTS.read_bytes()))
        summary.children_created = await _load_children(
            session, document.get("children", []), organisation_ids, pin_secret_for(settings), today
        )
        users = document.get("users", [])
        with typer.progressbar(users, label="demo users", file=None) as progress:
            for entry in progress:
                summary.usernames.append(entry["username"])
                if await repository.user_by_username(session, entry["username"]):
                    continue
                organisation = entry.get("organisation")
                await service.create_user(
                    session,
                    actor=actor,
                    data=UserCreate(
                        username=entry["username"],
                        password=settings.demo_password,
                        organisation_id=organisation_ids[organisation] if organisation else None,
                        roles=entry["roles"],
                    ),
                    passwords=passwords,
                )
                summary.users_created += 1
        await _load_teams(session, document.get("teams", []), organisation_ids)
    return summary


async def _load_teams(
    session: AsyncSession, teams: list[dict[str, Any]], organisation_ids: dict[str, uuid.UUID]
) -> None:
    """The demo's joint enrolment teams and their members (by username)."""
    for entry in teams:
        if await team_repository.team_by_code(session, entry["code"]):
            continue
        team = Team(
            code=entry["code"], name=entry["name"], municipality_code=entry["municipality_code"],
            settlement_codes=entry.get("settlement_codes", []), lead_organisation_id=organisation_ids[entry["lead"]],
        )
        session.add(team)
        await session.flush()
        for username in entry.get("members", []):
            user = await repository.user_by_username(session, username)
            if user is not None:
                session.add(TeamMember(team_id=team.id, user_id=user.id, added_by="demo"))
    await session.flush()
