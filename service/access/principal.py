"""Who is calling: the authenticated principal every policy decision is about."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from service.access.vocabulary import ROLE_PURPOSES, OrganisationKind, Purpose, Role


class PrincipalKind(StrEnum):
    user = "user"
    client = "client"
    external = "external"
    system = "system"
    anonymous = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    kind: PrincipalKind
    roles: frozenset[Role]
    organisation_id: uuid.UUID | None = None
    organisation_kind: OrganisationKind | None = None
    municipality_codes: frozenset[str] = field(default_factory=frozenset)

    @property
    def allowed_purposes(self) -> list[Purpose]:
        seen: dict[Purpose, None] = {}
        for role in sorted(self.roles):
            for purpose in ROLE_PURPOSES[role]:
                seen.setdefault(purpose)
        return list(seen)

    @property
    def default_purpose(self) -> Purpose | None:
        for role in sorted(self.roles):
            if ROLE_PURPOSES[role]:
                return ROLE_PURPOSES[role][0]
        return None


ANONYMOUS = Principal(id="anonymous", kind=PrincipalKind.anonymous, roles=frozenset())
SYSTEM = Principal(id="system", kind=PrincipalKind.system, roles=frozenset())
