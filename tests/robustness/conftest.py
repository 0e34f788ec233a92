"""Robustness tests run once (not once per engine), on PostgreSQL only: the server is a real
process, so each test gets a real database of its own, built by the migrations and loaded with
the demo data, and dropped afterwards whatever happens. An unreachable PostgreSQL skips them, or
fails them under CI=true, as it does every PostgreSQL test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import fresh_database
from tests.conftest import DEMO_PASSWORD, POSTGRES_ADMIN_URL, RUN_ID, require_postgresql
from tests.robustness.live import Live


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    require_postgresql()
    env = {
        "OBHVAT_DATA_DIR": str(tmp_path / "data"),
        "OBHVAT_DEMO_PASSWORD": DEMO_PASSWORD,
        "OBHVAT_WEBHOOKS_ALLOW_INSECURE": "true",
        # the service's default, not the benchmarks' 20: every request appends to the one audit
        # chain, so more connections only lengthen the queue on its head (and PostgreSQL's
        # connection slots are shared with whatever else runs on the machine)
        "OBHVAT_DB_POOL_SIZE": "10",
    }
    with fresh_database(admin_url=POSTGRES_ADMIN_URL, prefix=f"obhvat_test_{RUN_ID}", env=env) as url:
        live = Live(database_url=url, env=env, log=tmp_path / "server.log")
        yield live
        tail = live.log_tail()
        if tail:  # captured: pytest shows it when the test failed
            print(f"--- last lines of the server log ({live.log}) ---\n{tail}")
