"""The stack's limit for the alert-creation benchmark: a bare async FastAPI endpoint that takes
the same JSON body and does one INSERT through a psycopg async pool on the same database —
no token check, no access decision, no routing, no audit, no outbox."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool

TABLE = "bench_bare_alert"


def _conninfo() -> str:
    url = os.environ["OBHVAT_DATABASE_URL"]
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_bare_app() -> FastAPI:
    pool = AsyncConnectionPool(
        _conninfo(), min_size=4, max_size=int(os.environ.get("OBHVAT_DB_POOL_SIZE", "10")), open=False
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        async with pool.connection() as connection:
            await connection.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id uuid PRIMARY KEY, body jsonb NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/alerts", status_code=201)
    async def create(request: Request) -> Any:
        body = await request.json()
        alert_id = uuid.uuid4()
        async with pool.connection() as connection:
            await connection.execute(
                f"INSERT INTO {TABLE} (id, body) VALUES (%s, %s)",  # noqa: S608 - a constant table name
                (alert_id, json.dumps(body)),
            )
        return JSONResponse({"id": str(alert_id), **body}, status_code=201)

    @app.post("/api/v1/auth/token")
    async def token() -> dict[str, str]:
        return {"access_token": "bare", "token_type": "bearer"}

    @app.post("/api/v1/children/lookup")
    async def lookup() -> dict[str, str]:
        return {"id": str(uuid.uuid4())}

    return app
