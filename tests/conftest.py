"""Test harness: every database test runs on SQLite and on PostgreSQL.

Each engine gets a fresh database for the run, built by alembic (the migrations are what is
tested, not `create_all`). Each test runs inside an outer transaction that is rolled back, so
tests never see each other's data; the app joins it with savepoints.

PostgreSQL is at OBHVAT_TEST_POSTGRES_URL (default: the local server). When it is unreachable
the PostgreSQL half is skipped, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Role
from service.app import create_app
from service.core.database import Database, create_engine
from service.core.migrations import upgrade
from service.core.settings import Environment, Settings
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from service.organisations import repository

POSTGRES_ADMIN_URL = os.environ.get(
    "OBHVAT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
DEMO_PASSWORD = "obhvat-demo-password"
#: every log line of the whole run, searched for leaked names, PINs and secrets at the end
RUN_LOG = io.StringIO()
ECHO_LOGS = os.environ.get("OBHVAT_TEST_ECHO_LOGS") == "1"


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `postgres_only` has no SQLite half: that half is deselected."""
    sqlite_halves = [
        item for item in items
        if item.get_closest_marker("postgres_only")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("engine_name") == "sqlite"  # type: ignore[attr-defined]
    ]
    if sqlite_halves:
        config.hook.pytest_deselected(items=sqlite_halves)
        dropped = set(sqlite_halves)
        items[:] = [item for item in items if item not in dropped]


def require_postgresql() -> None:
    """Skip the calling test when PostgreSQL is unreachable; under CI=true, fail it."""
    problem = _postgres_available()
    if problem:
        message = f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine_name(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgresql()
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database for this run on the given engine."""
    if engine_name == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "obhvat.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield url
        return
    name = f"obhvat_test_{RUN_ID}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(POSTGRES_ADMIN_URL, name).replace("postgresql://", "postgresql+psycopg://")
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@contextlib.asynccontextmanager
async def rolled_back_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection inside a transaction that is rolled back at the end, so nothing written
    through it outlives the test (or the module)."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield connection
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
async def database(engine: AsyncEngine) -> AsyncIterator[Database]:
    """The app's database, bound to one connection in a transaction rolled back after the test."""
    async with rolled_back_connection(engine) as connection:
        yield Database(engine, bind=connection, link_in_request=True)


@pytest.fixture
async def committed_database(
    engine_name: str, database_url: str, tmp_path: Path
) -> AsyncIterator[Database]:
    """A database of its own for one test, where transactions really commit and run
    concurrently (for feed ordering, locking and crash tests). Dropped afterwards."""
    if engine_name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'committed.sqlite3'}"
        await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
        own = Database(create_engine(url))
        yield own
        await own.dispose()
        return
    name = f"obhvat_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _with_database(POSTGRES_ADMIN_URL, name).replace("postgresql://", "postgresql+psycopg://")
        await asyncio.to_thread(upgrade, url)
        own = Database(create_engine(url, pool_size=10))
        yield own
        await own.dispose()
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


def make_settings(data_dir: Path, keys_dir: Path) -> Settings:
    return Settings(
        environment=Environment.test,
        data_dir=data_dir,
        keys_dir=keys_dir,
        pin_secret="test-pin-secret-that-is-long-enough-0123456789",
        argon2_time_cost=1,
        argon2_memory_kib=64,
        demo_password=DEMO_PASSWORD,
        log_format="json",
        log_level="DEBUG",
    )


def make_app(settings: Settings, database: Database) -> Any:
    """The app in-process, its log lines searched for leaks at the end of the run."""
    return create_app(settings, database=database, log_stream=_Tee(RUN_LOG))


def asgi_client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://obhvat.test")


@pytest.fixture
def settings(tmp_path: Path, keys_dir: Path) -> Settings:
    return make_settings(tmp_path, keys_dir)


@pytest.fixture
def app(settings: Settings, database: Database) -> Any:
    return make_app(settings, database)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


class _Tee(io.TextIOBase):
    """Log lines go to the run-wide buffer (searched at the end), and to stderr when
    OBHVAT_TEST_ECHO_LOGS=1 (for debugging a failing test)."""

    def __init__(self, sink: io.StringIO) -> None:
        self.sink = sink

    def write(self, text: str) -> int:
        if ECHO_LOGS:
            sys.stderr.write(text)
        return self.sink.write(text)

    def flush(self) -> None:
        return None


OPERATOR = Principal(id="cli:test", kind=PrincipalKind.system, roles=frozenset({Role.admin}))


class World:
    """The demo organisations and users, and bearer headers for any of them."""

    def __init__(self, app: Any, database: Database) -> None:
        self.app = app
        self.database = database

    async def headers(self, username: str, **extra: str) -> dict[str, str]:
        async with self.database.transaction() as session:
            user = await repository.user_by_username(session, username)
        assert user is not None, username
        token, _ = self.app.state.tokens.issue(
            subject=user.id, kind="user", organisation_id=user.organisation_id,
            roles=user.roles, generation=user.token_generation,
        )
        return {"Authorization": f"Bearer {token}", **extra}

    async def organisation_id(self, code: str) -> uuid.UUID:
        async with self.database.transaction() as session:
            organisation = await repository.organisation_by_code(session, code)
        assert organisation is not None, code
        return organisation.id


async def demo_world(app: Any, database: Database, settings: Settings) -> World:
    """Loads the shipped demo data (three municipalities, their agencies, schools and people)."""
    await load_demo(settings=settings, database=database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    return World(app, database)


@pytest.fixture
async def world(app: Any, database: Database, settings: Settings) -> World:
    return await demo_world(app, database, settings)


@pytest.fixture
async def admin(world: World) -> dict[str, str]:
    return await world.headers("platform.admin")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log line of any test carried a demo child's PIN or name, or a
    password. Complements tests/core/test_logging.py, which checks a focused walk."""
    from tests.secrets import forbidden_in_logs

    log = RUN_LOG.getvalue()
    leaks = [needle for needle in forbidden_in_logs() if needle in log]
    if leaks:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(  # type: ignore[union-attr]
            f"LOG LEAK: {len(leaks)} forbidden values appeared in log lines, e.g. {leaks[0][:3]}…"
        )
        session.exitstatus = 1

