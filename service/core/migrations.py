"""Running alembic from the service and the CLI, and telling whether the schema is current."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.core.database import ensure_sqlite_directory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option(
        "file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s"
    )
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have one head, found {heads}")
    return heads[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(database_url), revision)


async def current_revision(bind: AsyncEngine | AsyncConnection) -> str | None:
    """The revision recorded in `alembic_version`; None when the schema was never migrated."""
    if isinstance(bind, AsyncEngine):
        async with bind.connect() as connection:
            return await current_revision(connection)
    # Look before selecting: a failed SELECT would abort an enclosing PostgreSQL transaction.
    if not await bind.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
        return None
    row = (await bind.execute(text("SELECT version_num FROM alembic_version"))).first()
    return row[0] if row else None
