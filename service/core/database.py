"""The async database engine and the one-transaction-per-request session.

The request's session dependency owns the transaction: services flush, the dependency commits
when the route returns and rolls back when it raises. It is declared with `scope="function"` so
the commit happens before the response is sent; a failed commit is a 500, never a false 201.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import DateTime, MetaData, TypeDecorator, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel

metadata: MetaData = SQLModel.metadata


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE so concurrent writers queue instead of failing.

    pysqlite's own transaction handling is switched off (SQLAlchemy's documented recipe) so that
    SAVEPOINT works and every transaction takes the write lock up front.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite file URL, so a fresh checkout runs with nothing set up."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """`hide_parameters`: a failed statement's error text (which reaches the log) names the SQL
    but not the bound values, which may be a child's name or PIN hash."""
    if url.startswith("sqlite"):
        ensure_sqlite_directory(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        hide_parameters=True,
    )


def links_in_request(session: AsyncSession) -> bool:
    """Whether this session's transaction links what it records (audit events, feed positions)
    itself, rather than leaving them to the sequencer: see `Database`."""
    return bool(session.info.get(LINK_IN_REQUEST, False))


LINK_IN_REQUEST = "link_in_request"


class Database:
    """Engine plus session factory. Tests may bind it to one connection in an outer transaction
    (`join_transaction_mode="create_savepoint"`) so every test is rolled back.

    `link_in_request`: whether a transaction links the audit events and feed positions it
    records before it commits (taking the chain's head for its duration), instead of leaving
    them to the sequencer. By default SQLite does (it has one writer at a time anyway), and so
    does a database bound to one connection (the tests' rolled-back transaction, which no
    sequencer could see into); PostgreSQL otherwise leaves linking to the sequencer.
    """

    def __init__(
        self, engine: AsyncEngine, bind: AsyncConnection | None = None, *, link_in_request: bool | None = None
    ) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        if link_in_request is None:
            link_in_request = self.is_sqlite or bind is not None
        self.link_in_request = link_in_request
        options: dict[str, Any] = {"expire_on_commit": False, "info": {LINK_IN_REQUEST: self.link_in_request}}
        if bind is not None:
            options["join_transaction_mode"] = "create_savepoint"
        self.sessionmaker = async_sessionmaker(bind or engine, **options)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on normal exit, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    async with database.transaction() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both engines (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


API_PREFIX = "/api/v1"


def api_router(**options: Any) -> APIRouter:
    """A router for the versioned API; the prefix is part of every route's template."""
    return APIRouter(prefix=API_PREFIX, **options)
