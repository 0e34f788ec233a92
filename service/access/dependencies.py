"""Request-level inputs to access decisions: the declared purpose of use."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from service.access.vocabulary import Purpose


# async, like every dependency here: FastAPI runs a plain `def` one in a thread pool, a hop per request
async def _purpose_of_use(
    x_purpose_of_use: Annotated[
        Purpose | None,
        Header(
            alias="X-Purpose-Of-Use",
            description="why the data is needed; default: the role's default purpose",
        ),
    ] = None,
) -> Purpose | None:
    return x_purpose_of_use


PurposeOfUse = Annotated[Purpose | None, Depends(_purpose_of_use)]
