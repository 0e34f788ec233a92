"""The operator's command line, run as an operator would, against a SQLite file of its own."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from service.cli import app as cli
from service.core.settings import load_settings

PASSWORD = "correct horse battery staple"


class Operator:
    """Runs `obhvat ...` with OBHVAT_DATA_DIR in a temporary folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()
        self.env = {
            "OBHVAT_DATA_DIR": str(data_dir),
            "OBHVAT_ARGON2_TIME_COST": "1",
            "OBHVAT_ARGON2_MEMORY_KIB": "64",
        }

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(
            cli, list(args), env=self.env, input=input, catch_exceptions=False
        )

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (args, result.output)
        return result

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        connection = sqlite3.connect(self.data_dir / "obhvat.sqlite3")
        try:
            return list(connection.execute(sql, params))
        finally:
            connection.close()

    def api(self, calls: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
        """Run `calls` against the HTTP API over the same data folder, to check what the
        commands did."""
        from service.app import create_app

        with pytest.MonkeyPatch.context() as patch:
            for name, value in self.env.items():
                patch.setenv(name, value)
            settings = load_settings()

        async def main() -> None:
            app = create_app(settings, log_stream=io.StringIO())
            transport = httpx.ASGITransport(app=app)
            try:
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://obhvat.test"
                ) as client:
                    await calls(client)
            finally:
                await app.state.database.dispose()

        asyncio.run(main())


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


@pytest.fixture
def obhvat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Operator]:
    import os

    for name in list(os.environ):
        if name.startswith("OBHVAT_"):
            monkeypatch.delenv(name)
    operator = Operator(tmp_path)
    operator.ok("db", "upgrade")
    yield operator


def test_db_upgrade_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OBHVAT_DATABASE_URL", raising=False)
    operator = Operator(tmp_path / "fresh")
    result = operator.ok("db", "upgrade")
    assert "head" in result.stdout
    assert (tmp_path / "fresh" / "obhvat.sqlite3").is_file()
    tables = {r[0] for r in operator.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"organisation", "app_user", "audit_event", "alert"} <= tables


def test_an_organisation_user_and_client_set_up_from_the_command_line_work_in_the_api(obhvat):
    created = obhvat.ok(
        "orgs",
        "create",
        "--code",
        "school-test",
        "--kind",
        "school",
        "--name",
        "ОУ Тест",
        "--municipality",
        "SZR12",
    )
    assert "school-test" in created.stdout

    user = obhvat.ok(
        "users",
        "create",
        "koprinka.teacher",
        "--role",
        "school_staff",
        "--org",
        "school-test",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert "koprinka.teacher" in user.stdout
    assert PASSWORD not in user.output

    made = obhvat.ok(
        "clients", "create", "E-diary", "--org", "school-test", "--role", "school_staff"
    )
    printed = dict(line.split("=", 1) for line in made.stdout.splitlines() if "=" in line)
    assert set(printed) == {"client_id", "client_secret"}
    assert "not shown again" in made.stderr

    async def log_in(api: httpx.AsyncClient) -> None:
        login = await api.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "koprinka.teacher", "password": PASSWORD},
        )
        assert login.status_code == 200, login.text  # the password read from stdin, newline dropped
        me = await api.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.json()["organisation"]["code"] == "school-test"
        assert me.json()["organisation"]["name"] == "ОУ Тест"
        assert me.json()["organisation"]["municipality_codes"] == ["SZR12"]

        machine = await api.post(
            "/api/v1/auth/token", data={"grant_type": "client_credentials", **printed}
        )
        assert machine.status_code == 200, machine.text

    obhvat.api(log_in)

    actions = [r[0] for r in obhvat.query("SELECT action FROM audit_event ORDER BY seq")]
    assert actions[:3] == ["organisation.create", "user.create", "client.create"]
    actors = {
        r[0] for r in obhvat.query("SELECT actor_id FROM audit_event WHERE action LIKE '%.create'")
    }
    assert len(actors) == 1 and actors.pop().startswith("cli:")
    dump = json.dumps(obhvat.query("SELECT * FROM audit_event"), ensure_ascii=False)
    assert PASSWORD not in dump and printed["client_secret"] not in dump and "ОУ Тест" not in dump


def test_orgs_create_takes_several_municipalities(obhvat):
    obhvat.ok(
        "orgs",
        "create",
        "--code",
        "police-two",
        "--kind",
        "police",
        "--name",
        "РУ",
        "--municipality",
        "SZR12",
        "--municipality",
        "LOV19",
    )
    rows = obhvat.query(
        "SELECT m.municipality_code FROM organisation_municipality m JOIN organisation o "
        "ON o.id = m.organisation_id WHERE o.code = 'police-two' ORDER BY 1"
    )
    assert rows == [("LOV19",), ("SZR12",)]


def test_duplicate_organisation_code_is_a_one_line_error(obhvat):
    args = (
        "orgs",
        "create",
        "--code",
        "school-test",
        "--kind",
        "school",
        "--name",
        "ОУ Тест",
        "--municipality",
        "SZR12",
    )
    obhvat.ok(*args)
    line = _one_line_error(obhvat(*args))
    assert "school-test" in line
    assert obhvat.query("SELECT count(*) FROM organisation") == [(1,)]


@pytest.mark.parametrize(
    "args",
    [
        ("--code", "Bad Code", "--kind", "school", "--name", "X", "--municipality", "SZR12"),
        ("--code", "school-x", "--kind", "school", "--name", "X", "--municipality", "sofia"),
    ],
)
def test_invalid_organisation_values_are_one_line_errors(obhvat, args):
    _one_line_error(obhvat("orgs", "create", *args))
    assert obhvat.query("SELECT count(*) FROM organisation") == [(0,)]


def test_an_unknown_kind_is_refused(obhvat):
    result = obhvat(
        "orgs",
        "create",
        "--code",
        "x-y-z",
        "--kind",
        "kindergarten",
        "--name",
        "X",
        "--municipality",
        "SZR12",
    )
    assert result.exit_code != 0
    assert "kindergarten" in result.output
    assert obhvat.query("SELECT count(*) FROM organisation") == [(0,)]


def test_role_not_valid_in_the_organisation_is_a_one_line_error(obhvat):
    obhvat.ok(
        "orgs",
        "create",
        "--code",
        "school-test",
        "--kind",
        "school",
        "--name",
        "ОУ Тест",
        "--municipality",
        "SZR12",
    )
    result = obhvat(
        "users",
        "create",
        "school.cop",
        "--role",
        "police_officer",
        "--org",
        "school-test",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    line = _one_line_error(result)
    assert "police_officer" in line and "#/roles/0" in line
    assert obhvat.query("SELECT count(*) FROM app_user") == [(0,)]

    wrong_client = obhvat(
        "clients", "create", "E-diary", "--org", "school-test", "--role", "cp_officer"
    )
    _one_line_error(wrong_client)
    assert "client_secret" not in wrong_client.output


def test_auditor_with_another_role_is_a_one_line_error(obhvat):
    obhvat.ok(
        "orgs", "create", "--code", "school-test", "--kind", "school", "--name", "ОУ Тест", "--municipality", "SZR12",
    )
    mixed = obhvat(
        "users", "create", "school.dpo", "--role", "auditor", "--role", "school_staff", "--org", "school-test",
        "--password-stdin", input=PASSWORD + "\n",
    )
    line = _one_line_error(mixed)
    assert "#/roles:" in line and "auditor" in line
    assert obhvat.query("SELECT count(*) FROM app_user") == [(0,)]
    mixed_client = obhvat(
        "clients", "create", "E-diary", "--org", "school-test", "--role", "school_staff", "--role", "auditor"
    )
    assert "#/roles:" in _one_line_error(mixed_client)
    assert "client_secret" not in mixed_client.output
    assert obhvat.query("SELECT count(*) FROM api_client") == [(0,)]

    obhvat.ok(
        "users", "create", "school.dpo", "--role", "auditor", "--org", "school-test",
        "--password-stdin", input=PASSWORD + "\n",
    )
    assert obhvat.query("SELECT roles FROM app_user") == [('["auditor"]',)]


def test_user_errors_are_one_line(obhvat):
    obhvat.ok(
        "orgs",
        "create",
        "--code",
        "school-test",
        "--kind",
        "school",
        "--name",
        "ОУ Тест",
        "--municipality",
        "SZR12",
    )
    create = (
        "users",
        "create",
        "koprinka.teacher",
        "--role",
        "school_staff",
        "--org",
        "school-test",
        "--password-stdin",
    )
    assert "no organisation" in _one_line_error(
        obhvat(*create[:6], "nowhere", *create[7:], input=PASSWORD + "\n")
    )
    short = _one_line_error(obhvat(*create, input="short\n"))
    assert "password" in short and "short" not in short.split("password", 1)[1]
    obhvat.ok(*create, input=PASSWORD + "\n")
    assert "#/username" in _one_line_error(obhvat(*create, input=PASSWORD + "\n"))
    assert obhvat.query("SELECT count(*) FROM app_user") == [(1,)]


def test_token_issue_prints_a_working_token_and_is_audited(obhvat):
    obhvat.ok(
        "orgs",
        "create",
        "--code",
        "school-test",
        "--kind",
        "school",
        "--name",
        "ОУ Тест",
        "--municipality",
        "SZR12",
    )
    obhvat.ok(
        "users",
        "create",
        "koprinka.teacher",
        "--role",
        "school_staff",
        "--org",
        "school-test",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    (user_id,) = obhvat.query("SELECT id FROM app_user WHERE username = 'koprinka.teacher'")[0]

    result = obhvat.ok("token", "issue", "koprinka.teacher")

    token = result.stdout.strip()
    assert len(token.splitlines()) == 1
    assert len(token.split(".")) == 3  # a JWT
    events = obhvat.query(
        "SELECT action, decision, resource_type, resource_id, actor_id FROM audit_event "
        "WHERE action = 'token.issue'"
    )
    assert len(events) == 1
    action, decision, resource_type, resource_id, actor_id = events[0]
    assert (decision, resource_type) == ("allow", "user")
    assert resource_id.replace("-", "") == str(user_id).replace("-", "")
    assert actor_id.startswith("cli:")

    async def use(api: httpx.AsyncClient) -> None:
        me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "koprinka.teacher"

    obhvat.api(use)


def test_token_issue_for_an_unknown_user_is_a_one_line_error(obhvat):
    line = _one_line_error(obhvat("token", "issue", "nobody.here"))
    assert "nobody.here" in line
    assert obhvat.query("SELECT count(*) FROM audit_event WHERE action = 'token.issue'") == [(0,)]


def test_demo_load_says_how_to_log_in_and_is_idempotent(obhvat):
    first = obhvat.ok("demo", "load")
    assert "POST /api/v1/auth/token" in first.stdout
    assert "platform.admin" in first.stdout
    assert "obhvat-demo-2026" in first.stdout  # the default demo password
    assert "loaded: 0 organisations" not in first.stdout
    counts = obhvat.query(
        "SELECT (SELECT count(*) FROM organisation), (SELECT count(*) FROM app_user), "
        "(SELECT count(*) FROM child)"
    )[0]
    assert all(n > 0 for n in counts)

    second = obhvat.ok("demo", "load")
    assert "0 organisations, 0 users, 0 children created" in second.stdout
    assert (
        obhvat.query(
            "SELECT (SELECT count(*) FROM organisation), (SELECT count(*) FROM app_user), "
            "(SELECT count(*) FROM child)"
        )[0]
        == counts
    )

    async def log_in(api: httpx.AsyncClient) -> None:
        login = await api.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "password",
                "username": "platform.admin",
                "password": "obhvat-demo-2026",
            },
        )
        assert login.status_code == 200, login.text

    obhvat.api(log_in)


def test_demo_load_of_a_missing_file_is_a_one_line_error(obhvat, tmp_path):
    line = _one_line_error(obhvat("demo", "load", str(tmp_path / "missing.json")))
    assert "missing.json" in line


def test_db_downgrade_to_base_then_upgrade(obhvat):
    obhvat.ok(
        "orgs",
        "create",
        "--code",
        "school-test",
        "--kind",
        "school",
        "--name",
        "ОУ Тест",
        "--municipality",
        "SZR12",
    )

    down = obhvat.ok("db", "downgrade", "base")
    assert "base" in down.stdout
    tables = {r[0] for r in obhvat.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables <= {"alembic_version"}

    obhvat.ok("db", "upgrade")
    assert obhvat.query("SELECT count(*) FROM organisation") == [(0,)]
    obhvat.ok(
        "orgs",
        "create",
        "--code",
        "school-test",
        "--kind",
        "school",
        "--name",
        "ОУ Тест",
        "--municipality",
        "SZR12",
    )
    triggers = obhvat.query("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    assert len(triggers) == 2


def test_db_downgrade_goes_one_step_back_by_default(obhvat):
    from alembic.script import ScriptDirectory

    from service.core.migrations import alembic_config, head_revision

    head = head_revision()
    previous = (
        ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head).down_revision
    )
    obhvat.ok("db", "downgrade")
    assert obhvat.query("SELECT version_num FROM alembic_version") == (
        [(previous,)] if previous else []
    )
    obhvat.ok("db", "upgrade")
    assert obhvat.query("SELECT version_num FROM alembic_version") == [(head,)]


def test_migrating_to_a_revision_that_does_not_exist_is_a_one_line_error(obhvat):
    line = _one_line_error(obhvat("db", "upgrade", "no-such-revision"))
    assert "no-such-revision" in line
    obhvat.ok("db", "downgrade", "base")
    _one_line_error(obhvat("db", "downgrade"))  # nothing below base
    obhvat.ok("db", "upgrade")


def test_grant_app_role_is_refused_on_sqlite(obhvat):
    line = _one_line_error(obhvat("db", "grant-app-role", "obhvat_app"))
    assert "PostgreSQL" in line


@pytest.mark.parametrize(
    "group, commands",
    [
        ((), ["serve", "db", "orgs", "users", "clients", "token", "demo"]),
        (("db",), ["upgrade", "downgrade", "grant-app-role"]),
        (("orgs",), ["create"]),
        (("users",), ["create"]),
        (("clients",), ["create", "disable", "rotate"]),
        (("token",), ["issue"]),
        (("demo",), ["load"]),
    ],
)
def test_help_of_each_group(group, commands):
    result = CliRunner().invoke(cli, [*group, "--help"])
    assert result.exit_code == 0, result.output
    for command in commands:
        assert command in result.stdout


@pytest.mark.parametrize(
    "command, options",
    [
        (("orgs", "create"), ["--code", "--kind", "--name", "--municipality"]),
        (("users", "create"), ["--role", "--org", "--password-stdin"]),
        (("clients", "create"), ["--org", "--role"]),
    ],
)
def test_help_of_commands_lists_the_documented_options(command, options):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.stdout


def test_a_bad_setting_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("OBHVAT_DATABASE_URL", "mysql://nope")
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"OBHVAT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "OBHVAT_DATABASE_URL" in result.stderr


def test_demo_load_is_refused_in_production(obhvat):
    obhvat.env.update(
        {
            "OBHVAT_ENVIRONMENT": "production",
            # refused before any connection: nothing listens here
            "OBHVAT_DATABASE_URL": "postgresql://obhvat@127.0.0.1:1/obhvat",
            "OBHVAT_PIN_SECRET": "p" * 40,
            "OBHVAT_WEBHOOK_SECRET_KEY": "w" * 40,
            "OBHVAT_PUBLIC_URL": "https://obhvat.example.bg",
        }
    )
    line = _one_line_error(obhvat("demo", "load"))
    assert "production" in line and "platform.admin" in line


def test_clients_rotate_prints_a_new_secret_once_and_disable_stops_the_client(obhvat):
    obhvat.ok("orgs", "create", "--code", "school-test", "--kind", "school", "--name", "ОУ Тест",
              "--municipality", "SZR12")
    made = obhvat.ok("clients", "create", "E-diary", "--org", "school-test", "--role", "school_staff")
    first = dict(line.split("=", 1) for line in made.stdout.splitlines() if "=" in line)

    rotated = obhvat.ok("clients", "rotate", "E-diary")
    second = dict(line.split("=", 1) for line in rotated.stdout.splitlines() if "=" in line)
    assert set(second) == {"client_id", "client_secret"}
    assert second["client_id"] == first["client_id"]
    assert second["client_secret"] != first["client_secret"]
    assert "not shown again" in rotated.stderr

    async def old_refused_new_works(api: httpx.AsyncClient) -> None:
        old = await api.post("/api/v1/auth/token", data={"grant_type": "client_credentials", **first})
        assert old.status_code == 401, old.text
        new = await api.post("/api/v1/auth/token", data={"grant_type": "client_credentials", **second})
        assert new.status_code == 200, new.text

    obhvat.api(old_refused_new_works)

    disabled = obhvat.ok("clients", "disable", second["client_id"])
    assert "disabled" in disabled.stdout

    async def refused(api: httpx.AsyncClient) -> None:
        login = await api.post("/api/v1/auth/token", data={"grant_type": "client_credentials", **second})
        assert login.status_code == 401, login.text

    obhvat.api(refused)
    actions = [r[0] for r in obhvat.query("SELECT action FROM audit_event WHERE resource_type = 'client' ORDER BY seq")]
    assert actions == ["client.create", "client.rotate_secret", "client.disable"]
    dump = json.dumps(obhvat.query("SELECT * FROM audit_event"), ensure_ascii=False)
    assert second["client_secret"] not in dump


def test_clients_disable_of_an_unknown_or_ambiguous_name_is_a_one_line_error(obhvat):
    assert "Nobody" in _one_line_error(obhvat("clients", "disable", "Nobody"))
    obhvat.ok("orgs", "create", "--code", "school-test", "--kind", "school", "--name", "ОУ Тест",
              "--municipality", "SZR12")
    for _ in range(2):
        obhvat.ok("clients", "create", "E-diary", "--org", "school-test", "--role", "school_staff")
    assert "client id" in _one_line_error(obhvat("clients", "rotate", "E-diary"))


def test_serve_trusts_x_forwarded_for_only_from_the_configured_proxies(tmp_path, monkeypatch):
    import uvicorn

    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    env = {"OBHVAT_DATA_DIR": str(tmp_path), "OBHVAT_TRUSTED_PROXIES": "10.244.0.0/16"}
    result = CliRunner().invoke(cli, ["serve"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert started[0]["proxy_headers"] is True
    assert started[0]["forwarded_allow_ips"] == "10.244.0.0/16"


def test_worklists_import_raises_one_alert_per_child_and_a_second_run_none(obhvat):
    from service.demo.loader import KAZANLAK_WORKLIST

    obhvat.ok("demo", "load")
    first = obhvat.ok("worklists", "import", str(KAZANLAK_WORKLIST), "--org", "rue-stara-zagora",
                      "--school-year", "2026/2027")
    assert "7 rows accepted, 7 alerts raised" in first.stdout
    assert "2 without an ЕГН" in first.stdout
    second = obhvat.ok("worklists", "import", str(KAZANLAK_WORKLIST), "--org", "rue-stara-zagora",
                       "--school-year", "2026/2027")
    assert "0 alerts raised, 0 updated, 7 unchanged" in second.stdout
    assert obhvat.query("SELECT count(*) FROM alert WHERE type = 'not_enrolled'") == [(7,)]


def test_worklists_import_of_a_bad_list_is_refused_whole(obhvat, tmp_path):
    obhvat.ok("demo", "load")
    bad = tmp_path / "list.csv"
    bad.write_text("ЕГН;Община\n1543114120;SZR12\n123;SZR12\n", encoding="utf-8")
    result = obhvat("worklists", "import", str(bad), "--org", "rue-stara-zagora")
    assert result.exit_code == 1
    assert "row 2, pin" in result.output
    assert obhvat.query("SELECT count(*) FROM alert") == [(0,)]
