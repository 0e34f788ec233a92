"""Fixtures of the console's browser walks: a real server on a fresh PostgreSQL database with the
demo data, and the folder the screenshots go to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import fresh_database, server_process
from tests.conftest import DEMO_PASSWORD, POSTGRES_ADMIN_URL, RUN_ID, require_postgresql


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    require_postgresql()
    env = {"OBHVAT_DATA_DIR": str(tmp_path / "data"), "OBHVAT_DEMO_PASSWORD": DEMO_PASSWORD}
    with fresh_database(admin_url=POSTGRES_ADMIN_URL, prefix=f"obhvat_test_{RUN_ID}", env=env) as url, \
            server_process(url, env=env, log=tmp_path / "server.log") as (base, _pid):
        yield base


@pytest.fixture
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("OBHVAT_TEST_ARTIFACTS")
    folder = Path(chosen) / "console" if chosen else tmp_path_factory.mktemp("console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
