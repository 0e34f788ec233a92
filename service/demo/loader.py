"""Loading the fictional demonstration data (organisations, users, children) idempotently."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from service.access.principal import Principal
from service.core.database import Database
from service.core.passwords import Passwords
from service.core.settings import Settings
from service.organisations import repository, service
from service.organisations.schemas import OrganisationCreate, UserCreate

DEFAULT_DEMO_FILE = Path(__file__).with_name("demo.json")


@dataclass
class DemoSummary:
    password: str
    organisations_created: int = 0
    users_created: int = 0
    children_created: int = 0
    usernames: list[str] = field(default_factory=list)

    def describe(self) -> str:
        sample = ", ".join(
            u for u in self.usernames if u.startswith(("school-koprinka", "cp-kazanlak", "platform"))
        )
        return (
            f"demo loaded: {self.organisations_created} organisations, {self.users_created} users, "
            f"{self.children_created} children created\n"
            f"every demo user's password is {self.password!r}; users include {sample}\n"
            "log in: POST /api/v1/auth/token with grant_type=password, or 'Authorize' at "
            "http://127.0.0.1:8000/docs"
        )


async def load_demo(
    *, settings: Settings, database: Database, path: Path, actor: Principal
) -> DemoSummary:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    passwords = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
    summary = DemoSummary(password=settings.demo_password)
    async with database.transaction() as session:
        organisation_ids = {}
        for entry in document.get("organisations", []):
            existing = await repository.organisation_by_code(session, entry["code"])
            if existing is None:
                created = await service.create_organisation(
                    session, actor=actor, data=OrganisationCreate(**entry)
                )
                organisation_ids[entry["code"]] = created.id
                summary.organisations_created += 1
            else:
                organisation_ids[entry["code"]] = existing.id
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
    return summary
