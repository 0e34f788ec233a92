"""`obhvat`: the operator's command line (serve, migrate, administer, load the demo)."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import OrganisationKind, Role
from service.core.database import Database, create_engine
from service.core.problems import Problem
from service.core.settings import Settings, SettingsError, load_settings

T = TypeVar("T")

app = typer.Typer(
    help="Obhvat: interagency child-at-risk data exchange service.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
clients_app = typer.Typer(help="System accounts (e.g. a school's e-diary).", no_args_is_help=True)
token_app = typer.Typer(help="Access tokens.", no_args_is_help=True)
demo_app = typer.Typer(help="Demonstration data.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
absences_app = typer.Typer(help="Schools' monthly absence figures.", no_args_is_help=True)
worklists_app = typer.Typer(help="Lists of children to find (national enrolment mechanism).", no_args_is_help=True)
enrolments_app = typer.Typer(help="Schools' rosters: registering and enrolling a school's pupils at once.",
                             no_args_is_help=True)
settlements_app = typer.Typer(help="The EKATTE classifier of settlements (where children live).",
                              no_args_is_help=True)
retention_app = typer.Typer(help="Data retention: anonymise, clear and purge what was kept long enough.",
                            no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(clients_app, name="clients")
app.add_typer(token_app, name="token")
app.add_typer(demo_app, name="demo")
app.add_typer(audit_app, name="audit")
app.add_typer(absences_app, name="absences")
app.add_typer(worklists_app, name="worklists")
app.add_typer(enrolments_app, name="enrolments")
app.add_typer(settlements_app, name="settlements")
app.add_typer(retention_app, name="retention")


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def _operator() -> Principal:
    """The actor recorded in the audit trail for command-line changes."""
    who = os.environ.get("USER") or getpass.getuser() or "unknown"
    return Principal(id=f"cli:{who}", kind=PrincipalKind.system, roles=frozenset({Role.admin}))


def _run(work: Callable[[Settings, Database], Awaitable[T]]) -> T:
    """Run async `work` against the configured database; problems become a one-line error."""
    settings = _settings()

    async def main() -> T:
        database = Database(create_engine(settings.effective_database_url, pool_size=2))
        try:
            done = await work(settings, database)
            if not database.link_in_request:
                from service.audit import sequencer

                # what the command recorded is in the chain when it returns, unless a running
                # service's sequencer holds the linker's lock (then it links it)
                await sequencer.link_committed(database)
            return done
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except Problem as problem:
        if problem.errors and "row" in problem.errors[0]:
            for error in problem.errors:
                typer.secho(f"row {error['row']}, {error.get('field') or 'row'}: {error['detail']}", err=True)
            raise _fail(f"error: {problem.detail}") from None
        pointer = ""
        if problem.errors:
            first = problem.errors[0]
            pointer = str(first.get("pointer") or first.get("parameter") or "") + ": "
        raise _fail(f"error: {pointer}{problem.detail or problem.title}") from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(envvar="OBHVAT_WORKERS", help="worker processes")] = 1,
) -> None:
    """Run the HTTP API (uvicorn). Apply migrations first with `obhvat db upgrade`."""
    import uvicorn

    settings = _settings()  # fail fast, with one line, on a bad setting
    uvicorn.run(
        "service.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        # only these may name the client in X-Forwarded-For: per-address throttles count it
        forwarded_allow_ips=settings.trusted_proxies,
        access_log=False,
        timeout_graceful_shutdown=20,
    )


@contextmanager
def _migration_errors() -> Iterator[None]:
    """An unknown revision or a step past base is a one-line error, not a traceback."""
    from alembic.util import CommandError

    try:
        yield
    except CommandError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(f"error: {message}") from None


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from service.core.migrations import upgrade

    with _migration_errors():
        upgrade(_settings().effective_database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="target revision, or -1 for one step")] = "-1",
) -> None:
    """Revert migrations down to REVISION (default: one step back; `base` empties the schema)."""
    from service.core.migrations import downgrade

    with _migration_errors():
        downgrade(_settings().effective_database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("grant-app-role")
def db_grant_app_role(role: Annotated[str, typer.Argument(help="PostgreSQL role the API uses")]) -> None:
    """Grant ROLE what the API needs, without UPDATE, DELETE or TRUNCATE on the audit trail."""
    from sqlalchemy import text

    from service.audit.ddl import app_role_grants

    async def work(settings: Settings, database: Database) -> None:
        if database.is_sqlite:
            raise _fail("error: grant-app-role applies to PostgreSQL only")
        async with database.engine.begin() as connection:
            for statement in app_role_grants(role):
                await connection.execute(text(statement))

    _run(work)
    typer.echo(f"role {role} may read and append the audit trail, not change it")


@orgs_app.command("create")
def orgs_create(
    code: Annotated[str, typer.Option(help="short unique slug, e.g. school-koprinka")],
    kind: Annotated[OrganisationKind, typer.Option(help="kind of organisation")],
    name: Annotated[str, typer.Option(help="full name")],
    municipality: Annotated[list[str], typer.Option(help="EKATTE municipality code served (repeatable)")],
) -> None:
    """Create an organisation."""
    from service.organisations import service
    from service.organisations.schemas import OrganisationCreate

    data = _validated(
        OrganisationCreate,
        code=code,
        kind=kind,
        name=name,
        municipality_codes=municipality,
    )

    async def work(_: Settings, database: Database) -> Any:
        async with database.transaction() as session:
            return await service.create_organisation(session, actor=_operator(), data=data)

    created = _run(work)
    typer.echo(f"organisation {created.code} created: {created.id}")


def _validated(model: Any, **values: Any) -> Any:
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _fail(f"error: {where}: {first['msg']}") from None


async def _organisation_id(database: Database, code: str | None) -> Any:
    from service.organisations import repository

    if code is None:
        return None
    async with database.transaction() as session:
        organisation = await repository.organisation_by_code(session, code)
    if organisation is None:
        raise _fail(f"error: no organisation with code {code!r}")
    return organisation.id


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="login name, e.g. koprinka.teacher")],
    role: Annotated[list[Role], typer.Option(help="role (repeatable)")],
    org: Annotated[str | None, typer.Option(help="organisation code (none for admin)")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a user; the password is read from a prompt or, with --password-stdin, stdin."""
    from service.core.passwords import Passwords
    from service.organisations import service
    from service.organisations.schemas import UserCreate

    password = _read_password(password_stdin)

    async def work(settings: Settings, database: Database) -> Any:
        organisation_id = await _organisation_id(database, org)
        data = _validated(
            UserCreate,
            username=username,
            password=password,
            organisation_id=organisation_id,
            roles=role,
        )
        passwords = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
        async with database.transaction() as session:
            return await service.create_user(session, actor=_operator(), data=data, passwords=passwords)

    created = _run(work)
    typer.echo(f"user {created.username} created: {created.id}")


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Argument(help="what the system is, e.g. 'Koprinka e-diary'")],
    org: Annotated[str, typer.Option(help="organisation code")],
    role: Annotated[list[Role], typer.Option(help="role (repeatable)")],
) -> None:
    """Create a system account; prints its client id and secret (shown once)."""
    from service.core.passwords import Passwords
    from service.organisations import service
    from service.organisations.schemas import ClientCreate

    async def work(settings: Settings, database: Database) -> Any:
        organisation_id = await _organisation_id(database, org)
        data = _validated(ClientCreate, name=name, organisation_id=organisation_id, roles=role)
        passwords = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
        async with database.transaction() as session:
            return await service.create_client(session, actor=_operator(), data=data, passwords=passwords)

    created = _run(work)
    typer.echo(f"client_id={created.client_id}")
    typer.echo(f"client_secret={created.client_secret}")
    typer.echo("store the secret now: it is not shown again", err=True)


async def _client_id(database: Database, name: str) -> Any:
    """A client by its id, or by its name when exactly one client has it."""
    import uuid

    from service.organisations import repository

    try:
        return uuid.UUID(name)
    except ValueError:
        pass
    async with database.transaction() as session:
        found = await repository.clients_named(session, name)
    if not found:
        raise _fail(f"error: no client named {name!r}")
    if len(found) > 1:
        raise _fail(f"error: {len(found)} clients are named {name!r}; give the client id instead")
    return found[0].id


def _update_client(name: str, **change: bool) -> Any:
    from service.core.passwords import Passwords
    from service.organisations import service
    from service.organisations.schemas import ClientUpdate

    async def work(settings: Settings, database: Database) -> Any:
        client_id = await _client_id(database, name)
        passwords = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
        async with database.transaction() as session:
            return await service.update_client(
                session, actor=_operator(), client_id=client_id, data=ClientUpdate(**change), passwords=passwords
            )

    return _run(work)


@clients_app.command("disable")
def clients_disable(name: Annotated[str, typer.Argument(help="the client's name or id")]) -> None:
    """Disable a system account: its secret and every token it holds stop working at once."""
    updated = _update_client(name, disabled=True)
    typer.echo(f"client {updated.id} disabled")


@clients_app.command("rotate")
def clients_rotate(name: Annotated[str, typer.Argument(help="the client's name or id")]) -> None:
    """Give a system account a new secret (printed once); the old secret and its tokens stop at once."""
    updated = _update_client(name, rotate_secret=True)
    typer.echo(f"client_id={updated.id}")
    typer.echo(f"client_secret={updated.client_secret}")
    typer.echo("store the secret now: it is not shown again", err=True)


@token_app.command("issue")
def token_issue(username: Annotated[str, typer.Argument(help="user to issue a token for")]) -> None:
    """Print a bearer token for USERNAME (for scripts and support). The issue is audited."""
    from service.audit.service import AuditRecord, record
    from service.auth.keys import KeyRing
    from service.auth.tokens import TokenService
    from service.organisations import repository

    async def work(settings: Settings, database: Database) -> str:
        tokens = TokenService(settings, KeyRing.from_directory(settings.effective_keys_dir))
        async with database.transaction() as session:
            user = await repository.user_by_username(session, username)
            if user is None or user.disabled:
                raise _fail(f"error: no active user {username!r}")
            token, _ = tokens.issue(
                subject=user.id,
                kind="user",
                organisation_id=user.organisation_id,
                roles=user.roles,
                generation=user.token_generation,
            )
            await record(
                session,
                AuditRecord(
                    actor=_operator(),
                    action="token.issue",
                    decision="allow",
                    reason="token issued from the command line",
                    resource_type="user",
                    resource_id=str(user.id),
                ),
            )
        return token

    typer.echo(_run(work))


@demo_app.command("load")
def demo_load(
    file: Annotated[Path | None, typer.Argument(help="demo JSON (default: the copy shipped with Obhvat)")] = None,
) -> None:
    """Load demonstration organisations, users and children; safe to run twice. Refused in
    production (the demo accounts have a published password)."""
    from service.core.settings import Environment
    from service.demo.loader import DEFAULT_DEMO_FILE, REFUSED_IN_PRODUCTION, load_demo

    if _settings().environment is Environment.production:
        raise _fail(f"error: {REFUSED_IN_PRODUCTION}")
    path = file or DEFAULT_DEMO_FILE
    if not path.is_file():
        raise _fail(f"error: no such file {path}")

    async def work(settings: Settings, database: Database) -> Any:
        return await load_demo(settings=settings, database=database, path=path, actor=_operator())

    summary = _run(work)
    typer.echo(summary.describe())


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="a checkpoint kept outside the database (from `obhvat audit checkpoint`)"),
    ] = None,
) -> None:
    """Recompute the whole hash chain. Exit 0 when intact, 1 naming the first bad event."""
    from sqlalchemy import select
    from sqlmodel import col

    from service.audit.models import AuditHead
    from service.audit.verify import verify_chain
    from service.auditor import checkpoints
    from service.auth.keys import KeyRing

    document = None
    if checkpoint is not None:
        try:
            document = json.loads(checkpoint.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _fail(f"error: cannot read checkpoint {checkpoint}: {exc}") from None

    async def work(settings: Settings, database: Database) -> Any:
        async with database.transaction() as session:
            total = (await session.execute(select(col(AuditHead.seq)))).scalar_one()
            with typer.progressbar(length=int(total), label="verifying audit chain", file=sys.stderr) as bar:
                result = await verify_chain(session, progress=bar.update)
            if document is not None:
                keys = KeyRing.from_directory(settings.effective_keys_dir)
                result = await checkpoints.verify_against(session, result, document, keys)
        return result

    result = _run(work)
    if result.ok:
        suffix = f", extends the checkpoint at event {document['seq']}" if document else ""
        typer.echo(f"audit chain intact: {result.checked} events, head {result.head['seq']}{suffix}")
        return
    typer.secho(
        f"audit chain BROKEN at event {result.first_bad_seq}: {result.problem} ({result.checked} events read)",
        fg=typer.colors.RED,
        err=True,
    )
    raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    output: Annotated[Path | None, typer.Option(help="also write the checkpoint to this file")] = None,
) -> None:
    """Sign the chain head now and print the checkpoint; keep a copy outside the database."""
    from service.auditor import checkpoints
    from service.auth.keys import KeyRing

    async def work(settings: Settings, database: Database) -> Any:
        keys = KeyRing.from_directory(settings.effective_keys_dir)
        async with database.transaction() as session:
            made = await checkpoints.create(session, keys) or await checkpoints.latest(session)
            return checkpoints.exported(made) if made else None

    document = _run(work)
    if document is None:
        raise _fail("error: the audit trail is empty; there is nothing to checkpoint")
    text = json.dumps(document, indent=2)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


@audit_app.command("export")
def audit_export(
    format: Annotated[str, typer.Option(help="jsonl or csv")] = "jsonl",  # noqa: A002
    output: Annotated[Path | None, typer.Option(help="file to write (default: standard output)")] = None,
) -> None:
    """Export every audit event as JSON lines or CSV (formula cells neutralised)."""
    from service.audit.repository import EventFilter
    from service.auditor.export import export_lines

    if format not in ("jsonl", "csv"):
        raise _fail("error: --format must be jsonl or csv")

    async def work(_: Settings, database: Database) -> int:
        sink = output.open("wb") if output else sys.stdout.buffer
        written = 0
        try:
            async for chunk in export_lines(database, EventFilter(), format):
                sink.write(chunk)
                written += len(chunk)
        finally:
            if output:
                sink.close()
        return written

    written = _run(work)
    if output:
        typer.echo(f"wrote {written} bytes to {output}", err=True)


@absences_app.command("import")
def absences_import(
    file: Annotated[Path, typer.Argument(help="CSV from the e-diary (UTF-8 or Windows-1251; , or ;)")],
    school: Annotated[str, typer.Option(help="code of the school the figures come from")],
) -> None:
    """Import a school's absence CSV: all rows or none, with the same checks as the API."""
    from service.absences import service
    from service.absences.parsing import BatchInvalid, csv_rows, decode
    from service.auth.keys import pin_secret_for
    from service.core.clock import local_today
    from service.organisations import repository

    try:
        rows = list(csv_rows(decode(file.read_bytes())))
    except OSError as exc:
        raise _fail(f"error: cannot read {file}: {exc}") from None
    except BatchInvalid as exc:
        raise _fail(f"error: {file}: {exc}") from None

    async def work(settings: Settings, database: Database) -> Any:
        async with database.transaction() as session:
            organisation = await repository.organisation_by_code(session, school)
            if organisation is None or organisation.kind != OrganisationKind.school.value:
                raise _fail(f"error: no school with code {school!r}")
            codes = (await repository.municipality_codes(session, [organisation.id]))[organisation.id]
            actor = Principal(
                id=_operator().id,
                kind=PrincipalKind.system,
                roles=frozenset({Role.school_admin}),
                organisation_id=organisation.id,
                organisation_kind=OrganisationKind.school,
                municipality_codes=frozenset(codes),
            )
            with typer.progressbar(length=len(rows), label="importing rows", file=sys.stderr) as bar:
                return await service.submit(
                    session,
                    actor=actor,
                    rows=rows,
                    source="cli",
                    pin_secret=pin_secret_for(settings),
                    today=local_today(),
                    progress=bar.update,
                )

    result = _run(work)
    typer.echo(
        f"batch {result.id}: {result.rows_accepted} rows accepted, {len(result.alerts_raised)} alerts raised, "
        f"{len(result.alerts_updated)} updated"
    )


def _school_principal(organisation: Any, codes: list[str]) -> Principal:
    """The operator acting as the school's administrator, for imports on the school's behalf."""
    return Principal(
        id=_operator().id,
        kind=PrincipalKind.system,
        roles=frozenset({Role.school_admin}),
        organisation_id=organisation.id,
        organisation_kind=OrganisationKind.school,
        municipality_codes=frozenset(codes),
    )


@enrolments_app.command("import")
def enrolments_import(
    file: Annotated[
        Path,
        typer.Argument(help="roster CSV: UTF-8 (with or without BOM) or Windows-1251, comma or semicolon"),
    ],
    school: Annotated[str, typer.Option(help="code of the school whose roster this is, e.g. school-koprinka")],
    start_date: Annotated[
        str | None, typer.Option(help="when new enrolments start, YYYY-MM-DD (default today)")
    ] = None,
) -> None:
    """Import a school's whole roster: all rows or none, with the same checks as the API.

    The header names the columns, in Bulgarian or English: ЕГН (pin), Име (given_name),
    Фамилия (family_name), Пол (sex: м/ж or male/female), Клас (grade, 0 for the preschool
    group), and optionally Дата на раждане (date_of_birth), ЕКАТТЕ (settlement_code), Адрес
    (address). Pupils new to Obhvat are registered and enrolled, known ones matched (their grade
    updated); a pupil enrolled at another school that has not released the pupil is a row error.
    Pupils of the school missing from the roster are listed, never ended."""
    from datetime import date

    from service.auth.keys import pin_secret_for
    from service.children import rosters
    from service.core.clock import local_today
    from service.core.csv_reader import BatchInvalid, decode
    from service.organisations import repository

    try:
        starts = date.fromisoformat(start_date) if start_date else None
    except ValueError:
        raise _fail(f"error: --start-date {start_date!r} is not a date (YYYY-MM-DD)") from None
    try:
        rows = list(rosters.csv_rows(decode(file.read_bytes())))
    except OSError as exc:
        raise _fail(f"error: cannot read {file}: {exc}") from None
    except BatchInvalid as exc:
        raise _fail(f"error: {file}: {exc}") from None

    async def work(settings: Settings, database: Database) -> Any:
        async with database.transaction() as session:
            organisation = await repository.organisation_by_code(session, school)
            if organisation is None or organisation.kind != OrganisationKind.school.value:
                raise _fail(f"error: no school with code {school!r}")
            codes = (await repository.municipality_codes(session, [organisation.id]))[organisation.id]
            with typer.progressbar(length=len(rows), label="importing pupils", file=sys.stderr) as bar:
                return await rosters.import_roster(
                    session,
                    actor=_school_principal(organisation, codes),
                    rows=rows,
                    pin_secret=pin_secret_for(settings),
                    today=local_today(),
                    start_date=starts,
                    progress=bar.update,
                )

    result = _run(work)
    typer.echo(
        f"roster of {school}: {result.rows} pupils, {result.registered} registered, {result.enrolled} enrolled, "
        f"{result.matched} already enrolled ({result.grade_changed} changed grade)"
    )
    if result.not_in_roster:
        typer.echo(
            f"{len(result.not_in_roster)} current pupils of the school are not on the roster (nothing was ended; "
            "release them or end their enrolments): " + ", ".join(str(e) for e in result.not_in_roster),
            err=True,
        )


@settlements_app.command("load")
def settlements_load(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="CSV of the national EKATTE classifier (NSI's Ek_atte as CSV: columns ekatte, name, obstina; "
            "or ЕКАТТЕ, Наименование, Община). Default: the demo municipalities' settlements shipped with Obhvat"
        ),
    ] = None,
) -> None:
    """Load or update the EKATTE classifier of settlements, which children's `settlement_code`
    must name. Run it once with the national list from the National Statistical Institute
    (nsi.bg, EKATTE), saved as CSV (UTF-8 or Windows-1251, comma or semicolon), and again when
    NSI publishes changes: settlements are inserted or updated by code, never deleted."""
    from service.children import settlements
    from service.core.csv_reader import BatchInvalid

    path = file or settlements.DEMO_SETTLEMENTS
    try:
        rows = settlements.parse(path.read_bytes())
    except OSError as exc:
        raise _fail(f"error: cannot read {path}: {exc}") from None
    except BatchInvalid as exc:
        for error in exc.errors[:50]:
            typer.secho(f"row {error['row']}, {error.get('field') or 'row'}: {error['detail']}", err=True)
        raise _fail(f"error: {path}: {len(exc.errors)} problem(s); nothing was loaded") from None

    async def work(settings: Settings, database: Database) -> int:
        async with database.transaction() as session:
            with typer.progressbar(length=len(rows), label="loading settlements", file=sys.stderr) as bar:
                return await settlements.load(session, rows, progress=bar.update)

    typer.echo(f"{_run(work)} settlements loaded from {path}")


@worklists_app.command("import")
def worklists_import(
    file: Annotated[Path, typer.Argument(help="CSV of the region's children to find (UTF-8 or Windows-1251; , or ;)")],
    org: Annotated[str, typer.Option(help="code of the education authority or municipality the list comes from")],
    school_year: Annotated[str | None, typer.Option(help="YYYY/YYYY; default: the current school year")] = None,
) -> None:
    """Import a list of children to find: all rows or none, with the same checks as the API."""
    from service.auth.keys import pin_secret_for
    from service.core.clock import local_today
    from service.organisations import repository
    from service.worklists import service
    from service.worklists.parsing import BatchInvalid, decode, worklist_rows

    try:
        rows = list(worklist_rows(decode(file.read_bytes())))
    except OSError as exc:
        raise _fail(f"error: cannot read {file}: {exc}") from None
    except BatchInvalid as exc:
        raise _fail(f"error: {file}: {exc}") from None

    async def work(settings: Settings, database: Database) -> Any:
        async with database.transaction() as session:
            organisation = await repository.organisation_by_code(session, org)
            if organisation is None or organisation.kind not in service.IMPORTER_KINDS:
                raise _fail(f"error: no education authority or municipality with code {org!r}")
            codes = (await repository.municipality_codes(session, [organisation.id]))[organisation.id]
            kind = OrganisationKind(organisation.kind)
            actor = Principal(
                id=_operator().id,
                kind=PrincipalKind.system,
                roles=frozenset({Role.education_officer if kind is OrganisationKind.education_authority
                                 else Role.municipal_coordinator}),
                organisation_id=organisation.id,
                organisation_kind=kind,
                municipality_codes=frozenset(codes),
            )
            with typer.progressbar(length=len(rows), label="importing children to find", file=sys.stderr) as bar:
                return await service.import_list(
                    session, actor=actor, purpose=None, rows=rows, school_year=school_year,
                    pin_secret=pin_secret_for(settings), today=local_today(), progress=bar.update,
                )

    result = _run(work)
    typer.echo(
        f"list for {result.school_year}: {result.rows_accepted} rows accepted, {result.alerts_raised} alerts raised, "
        f"{result.alerts_updated} updated, {result.alerts_unchanged} unchanged; "
        f"{result.children_registered} children registered, {result.provisional_children} without an ЕГН"
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="deliver what is due, then exit")] = False,
) -> None:
    """Deliver webhook events and e-mail notices from the outbox (e-mail over OBHVAT_SMTP_URL,
    from OBHVAT_MAIL_FROM; without it notices wait), enforce acknowledgement deadlines and decide
    the three-month follow-ups of children who returned to school.
    Several may run at once (PostgreSQL). SIGTERM finishes the batch in hand, then exits."""
    from service.alerts.deadlines import sweep
    from service.core.logging import configure_logging
    from service.delivery.worker import run_worker
    from service.followup.service import run_due

    async def work(settings: Settings, database: Database) -> None:
        configure_logging(level=settings.log_level, fmt=settings.log_format)

        async def chores() -> None:
            await sweep(database)
            await run_due(database)

        await run_worker(settings, database, once=once, chore=chores)

    _run(work)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would change; change nothing")] = False,
) -> None:
    """Anonymise, clear and purge what was kept longer than OBHVAT_RETENTION_* allow; each change is audited."""
    from service.core.clock import utcnow
    from service.retention import service

    async def work(settings: Settings, database: Database) -> tuple[Any, dict[str, int] | None]:
        periods = service.Periods.from_settings(settings)
        async with database.transaction() as session:
            plan = await service.plan(session, now=utcnow(), periods=periods)
            if dry_run:
                return plan, None
            with typer.progressbar(length=plan.total, label="applying retention", file=sys.stderr) as bar:
                done = await service.apply(session, actor=_operator(), plan=plan, progress=bar.update)
        return plan, done

    plan, done = _run(work)
    periods = plan.cutoffs.periods
    typer.echo(
        f"periods: children {periods.child_years} years, alert texts {periods.notes_years} years, "
        f"consents {periods.consent_years} years, idempotency records and delivered events {periods.keys_days} days"
    )
    if done is None:
        typer.echo("dry run, nothing was changed; a run now would give:")
        for name, count in plan.counts.items():
            typer.echo(f"  {service.label(name)}: {count}")
        return
    for name, count in done.items():
        typer.echo(f"  {service.label(name)}: {count}")
    typer.echo(f"{sum(done.values())} records changed, each recorded in the audit trail")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
