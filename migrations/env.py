"""Alembic environment: runs migrations through the async engine (psycopg 3 or aiosqlite)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from service.core.database import UtcDateTime
from service.models import metadata

config = context.config


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render the service's UTC timestamp type by its own name in generated migrations."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "UtcDateTime()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url  # noqa: S101
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async())
