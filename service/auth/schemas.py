"""Bodies of the token endpoint and `/me`."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from service.access.principal import PrincipalKind
from service.access.vocabulary import OrganisationKind, Purpose, Role


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class MeOrganisation(BaseModel):
    id: uuid.UUID
    code: str
    kind: OrganisationKind
    name: str
    municipality_codes: list[str]


class Me(BaseModel):
    id: str
    kind: PrincipalKind
    username: str | None
    roles: list[Role]
    organisation: MeOrganisation | None
    allowed_purposes: list[Purpose]
    default_purpose: Purpose | None
