"""The `petunia` command: a thin shell over the same functions the API uses."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, orm, select

from api import logs, migrations
from api.access import tokens
from api.access.models import Role
from api.audit.log import record
from api.config import MissingSecret, Settings, UnsafeConfiguration, get_settings
from api.db import Database
from api.directory.enums import Domain
from api.directory.loading import LoadError, load_directory
from api.directory.models import GpPractice, LinkWorker, Locality, Provider
from api.directory.postcodes import PostcodeFileError, import_postcodes
from api.referrals.loading import load_referral_data
from api.staff.commands import staff_app
from api.staff.demo import DEMO_TOTP_SECRET, create_demo_accounts, demo_accounts
from directory_data import DATA_DIR

if TYPE_CHECKING:
    from sitegen.memo import BuildMemo

DEMO_DATA = DATA_DIR

app = typer.Typer(
    help="Petunia: the directory, referrals and outcomes of local social prescribing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema (alembic migrations).", no_args_is_help=True)
practices_app = typer.Typer(help="GP practices and their named link workers.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients and their bearer tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(practices_app, name="practices")
app.add_typer(clients_app, name="clients")
app.add_typer(staff_app, name="staff")
export_app = typer.Typer(help="Export the directory as open data.", no_args_is_help=True)
app.add_typer(export_app, name="export")

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder for the SQLite database and local files "
        "[env: PETUNIA_DATA_DIR; default: var/]. Ignored for the database when "
        "DATABASE_URL is set.",
        show_default=False,
    ),
]


def _settings(data_dir: Path | None, **overrides: object) -> Settings:
    if data_dir is not None:
        # Also for worker processes that uvicorn starts: they read the environment.
        os.environ["PETUNIA_DATA_DIR"] = str(data_dir)
        overrides["data_dir"] = data_dir
    settings = get_settings(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _database(settings: Settings) -> Database:
    return Database.from_url(settings.resolved_database_url)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code=1)


def _load(db: Database, folder: Path) -> None:
    try:
        with db.session() as session:
            report = load_directory(session, folder)
            # Outcome instruments (folder/outcomes/) and, for a demo folder, synthetic
            # referrals: in the same transaction, so a problem anywhere loads nothing.
            load_referral_data(session, folder, get_settings(), report)
    except LoadError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False, markup=False)
        raise _fail(f"{len(exc.problems)} problem(s) in {folder}; nothing was loaded") from None
    if report.changed:
        db.analyze()
    console.print(
        report.summary() if report.changed else "Already up to date: nothing changed.",
        highlight=False,
    )


@app.command()
def up(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on [env: PETUNIA_HOST; default: 127.0.0.1].", show_default=False
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to listen on [env: PETUNIA_PORT; default: 8000].", show_default=False
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create or upgrade the database, load the demo directory into an empty one, and serve.

    Safe to run again: an existing database keeps its data and only gains new migrations."""
    chosen = {**_listening_url(host, port), **_rebuilding_site()}
    settings = _settings(data_dir, **chosen)
    _check_production(settings)
    db = _database(settings)
    migrations.upgrade(db.engine)
    with db.session() as session:
        empty = session.scalar(select(func.count()).select_from(Provider)) == 0
    if empty:
        console.print(f"Loading the demo directory from {DEMO_DATA} ...")
        _load(db, DEMO_DATA)
        if not settings.production:
            with db.session() as session:
                create_demo_accounts(session, settings)
    _print_demo_sign_ins(db, settings)
    from sitegen.memo import BuildMemo

    memo = BuildMemo()  # what the start build made, for the background rebuild to reuse
    _build_site(db, settings, settings.resolved_site_dir, fail=False, memo=memo)
    db.dispose()
    # Queued email, the periodic jobs (nudge, remind, purge, webhooks) and the site rebuild
    # run in threads of this process, however many workers serve: the embedded default needs
    # no cron, and an approved listing is on the site within a minute.
    from api.jobs import Scheduler

    with (
        _server_environment(chosen),
        _mail_deliverer(settings),
        Scheduler(settings),
        _site_rebuilder(settings, memo=memo),
    ):
        _serve(settings, host, port, workers=1)


def _rebuilding_site() -> dict[str, object]:
    """This deployment rebuilds the site in the background: messages say "within a minute"
    (and _server_environment passes it to the server processes)."""
    return {"site_rebuild_in_background": True}


@contextmanager
def _server_environment(overrides: dict[str, object]) -> Iterator[None]:
    """Settings this command chose, in the environment of the server processes uvicorn
    starts (they read their settings from it), and out of it again when serving ends, so
    nothing else run from this process inherits them."""
    values = {
        f"PETUNIA_{name.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in overrides.items()
    }
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _site_rebuilder(
    settings: Settings, *, enabled: bool = True, memo: BuildMemo | None = None
) -> Iterator[None]:
    if not enabled:
        yield
        return
    from sitegen.background import Rebuilder

    with Rebuilder(settings, memo=memo):
        yield


def _listening_url(host: str | None, port: int | None) -> dict[str, object]:
    """`up` on another host or port: every link Petunia writes (emails, calendars, "report a
    problem", demo sign-ins) points where it listens, unless PETUNIA_PUBLIC_URL says where
    people reach it (and _server_environment passes it to the server processes)."""
    if os.environ.get("PETUNIA_PUBLIC_URL") or (host is None and port is None):
        return {}
    defaults = get_settings()
    shown = host or defaults.host
    if shown in ("0.0.0.0", "::", ""):  # every address: this machine's own, for a newcomer
        shown = "127.0.0.1"
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port or defaults.port}"
    return {"public_url": url}


def _print_demo_sign_ins(db: Database, settings: Settings) -> None:
    """The demo accounts, one per role (never in production: they cannot sign in there)."""
    if settings.production:
        return
    with db.session() as session:
        demo = demo_accounts(session)
    if not demo:
        return
    table = Table("Try the staff pages as", "Email address")
    for account in demo:
        table.add_row(account.role, account.email)
    console.print(table)
    console.print(
        f"Sign in at {settings.public_url.rstrip('/')}/staff/sign-in with one of these addresses. "
        "Demo accounts (development only) show the sign-in link and the current code on the "
        f"page; the authenticator app secret of all of them is {DEMO_TOTP_SECRET}.",
        highlight=False,
    )


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on [env: PETUNIA_HOST; default: 127.0.0.1].", show_default=False
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to listen on [env: PETUNIA_PORT; default: 8000].", show_default=False
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    deliver_mail: Annotated[
        bool,
        typer.Option(
            "--deliver-mail",
            help="Also deliver queued email in the background (once, however many workers), "
            "instead of `petunia mail deliver` from cron.",
        ),
    ] = False,
    rebuild_site: Annotated[
        bool,
        typer.Option(
            "--rebuild-site",
            help="Also rebuild the public site in the background (once, however many "
            "workers) when listings change, instead of `petunia build-site` from cron.",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Serve the API (the database must be migrated: `petunia db upgrade`)."""
    chosen = _rebuilding_site() if rebuild_site else {}
    settings = _settings(data_dir, **chosen)
    with (
        _server_environment(chosen),
        _mail_deliverer(settings, enabled=deliver_mail),
        _site_rebuilder(settings, enabled=rebuild_site),
    ):
        _serve(settings, host, port, workers=workers)


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL), with every description: for client generators and
    schema linters (`petunia schema > schema.graphql`)."""
    from api.graphql.schema import build_schema

    print(build_schema(production=False).as_str())


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run the periodic jobs (webhooks every minute; nudge, remind and purge daily) and
    deliver queued email, until stopped: one per deployment with several hosts. `petunia up`
    does this itself."""
    import time

    from api.jobs import JOBS, Scheduler

    settings = _settings(data_dir)
    console.print(
        "Running "
        + ", ".join(f"{job.name} (every {job.every})" for job in JOBS)
        + ", and delivering queued email. Stop with Ctrl+C.",
        highlight=False,
    )
    try:
        with _mail_deliverer(settings), Scheduler(settings):
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        console.print("Stopped.")


@contextmanager
def _mail_deliverer(settings: Settings, *, enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    from api.mail.background import Deliverer

    with Deliverer(settings):
        yield


def _check_production(settings: Settings) -> None:
    """What create_app checks too, here first, so a refusal is one line, not a traceback."""
    try:
        settings.check_production()
    except (MissingSecret, UnsafeConfiguration) as exc:
        raise _fail(str(exc)) from None


def _serve(settings: Settings, host: str | None, port: int | None, *, workers: int) -> None:
    import uvicorn

    from api.serving import uvicorn_options

    _check_production(settings)
    options = uvicorn_options(settings, host, port, workers=workers)
    console.print(
        f"Petunia on http://{options['host']}:{options['port']}/graphql (GraphiQL in a browser)"
    )
    uvicorn.run(**options)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    data_dir: DataDir = None,
) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    db = _database(_settings(data_dir))
    migrations.upgrade(db.engine, revision)
    console.print(f"Database at revision {migrations.current_revision(db.engine)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' empties it).")],
    data_dir: DataDir = None,
) -> None:
    """Undo migrations down to REVISION."""
    db = _database(_settings(data_dir))
    migrations.downgrade(db.engine, revision)
    console.print(f"Database at revision {migrations.current_revision(db.engine)}")


@app.command()
def load(
    folder: Annotated[Path, typer.Argument(help="A directory folder (see directory_data/).")],
    data_dir: DataDir = None,
) -> None:
    """Load localities, venues, providers, sessions and practices from FOLDER.

    Every problem is reported with its file and line, and nothing is loaded until there are
    none. Loading the same folder again changes nothing."""
    db = _database(_settings(data_dir))
    _load(db, folder)


@app.command("import-postcodes")
def import_postcodes_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="An ONS Postcode Directory CSV (pcds, lat, "
            "long columns) or any postcode,latitude,longitude CSV.",
            exists=True,
            dir_okay=False,
        ),
    ],
    data_dir: DataDir = None,
) -> None:
    """Fill the postcode table used by `near` searches. All or nothing."""
    db = _database(_settings(data_dir))
    size = file.stat().st_size
    try:
        with (
            file.open(newline="", encoding="utf-8-sig") as handle,
            Progress(console=err, transient=True) as progress,
        ):
            task = progress.add_task("Importing postcodes", total=size)

            def advance(_rows: int) -> None:
                progress.update(task, completed=handle.buffer.tell())

            with db.session() as session:
                result = import_postcodes(session, handle, on_progress=advance)
    except PostcodeFileError as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise _fail(f"{exc.total} bad row(s) in {file}; nothing was imported") from None
    console.print(
        f"Imported {result.imported} postcodes; skipped "
        f"{result.skipped_no_location} with no location."
    )


imd_app = typer.Typer(help="The Index of Multiple Deprivation lookup.", no_args_is_help=True)
app.add_typer(imd_app, name="imd")


@imd_app.command("import")
def imd_import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A CSV with a postcode column (pcds or postcode) and an IMD decile column "
            "(imd_decile, decile, imd19_decile or imd25_decile), 1 = most deprived.",
            exists=True,
            dir_okay=False,
        ),
    ],
    data_dir: DataDir = None,
) -> None:
    """Replace the IMD lookup (a postcode's deprivation decile, for "who is reached" in the
    report). All or nothing. Referrals take their decile when their equality data is
    recorded."""
    from api.reports.imd import ImdFileError, import_imd

    db = _database(_settings(data_dir))
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle, db.session() as session:
            result = import_imd(session, handle)
    except ImdFileError as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise _fail(f"{len(exc.problems)} bad row(s) in {file}; nothing was imported") from None
    console.print(f"Imported the IMD decile of {result.imported} postcodes.")


@practices_app.command("list")
def practices_list(data_dir: DataDir = None) -> None:
    """List localities with their lead provider's key (for `clients create --provider`), then
    GP practices with their locality and named link worker."""
    db = _database(_settings(data_dir))
    with db.session() as session:
        localities = session.execute(
            select(Locality.key, Locality.name, Provider.key, Provider.name)
            .outerjoin(Provider, Provider.id == Locality.lead_provider_id)
            .order_by(Locality.name)
        ).all()
        rows = session.execute(
            select(GpPractice.ods_code, GpPractice.name, Locality.name, LinkWorker.name)
            .join(Locality, Locality.id == GpPractice.locality_id)
            .outerjoin(LinkWorker, LinkWorker.id == GpPractice.link_worker_id)
            .order_by(GpPractice.ods_code)
        ).all()
    leads = Table("Locality key", "Locality", "Lead provider key", "Lead provider")
    for key, name, lead_key, lead in localities:
        leads.add_row(key, name, lead_key or "(none)", lead or "(none named)")
    console.print(leads)
    table = Table("ODS code", "Practice", "Locality", "Link worker")
    for ods, name, locality, worker in rows:
        table.add_row(ods, name, locality, worker or "(none named)")
    console.print(table)
    if not rows:
        console.print("No practices yet: load some with `petunia load DIR`.")


@clients_app.command("create")
def clients_create(
    role: Annotated[Role, typer.Option(help="What the client may see and do.")],
    practice: Annotated[str | None, typer.Option(help="ODS code (GP_PRACTICE).")] = None,
    provider: Annotated[
        str | None, typer.Option(help="Provider key or id (LEAD_PROVIDER, PROVIDER).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label for listings.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API client. Its token is printed once, on the last line: store it now."""
    db = _database(_settings(data_dir))
    try:
        with db.session() as session:
            client, token = tokens.create_client(
                session, role=role, name=name, practice=practice, provider=provider
            )
            record(session, None, "client.create", "api_client", client.id, role=role.value)
            client_id, label = client.id, client.name
    except tokens.ClientError as exc:
        raise _fail(str(exc)) from None
    console.print(f"Created client {client_id} ({label}). Its token, shown only now:")
    print(token)


@clients_app.command("list")
def clients_list(data_dir: DataDir = None) -> None:
    """List API clients (tokens are never shown again: only their first characters)."""
    db = _database(_settings(data_dir))
    with db.session() as session:
        rows = tokens.list_clients(session)
        table = Table("id", "name", "role", "token starts", "created", "last used", "revoked")
        for c in rows:
            table.add_row(
                str(c.id),
                c.name,
                c.role.value,
                c.token_prefix + "...",
                f"{c.created_at:%Y-%m-%d}",
                f"{c.last_used_at:%Y-%m-%d %H:%M}" if c.last_used_at else "never",
                f"{c.revoked_at:%Y-%m-%d}" if c.revoked_at else "",
            )
    console.print(table)


@clients_app.command("rotate")
def clients_rotate(
    client_id: Annotated[int, typer.Argument(help="The client's id.")], data_dir: DataDir = None
) -> None:
    """Give a client a new token; the old one stops working at once. Prints the new token
    on the last line."""
    db = _database(_settings(data_dir))
    try:
        with db.session() as session:
            _client, token = tokens.rotate(session, client_id)
            record(session, None, "client.rotate", "api_client", client_id)
    except tokens.ClientError as exc:
        raise _fail(str(exc)) from None
    console.print(f"New token for client {client_id}, shown only now:")
    print(token)


@clients_app.command("revoke")
def clients_revoke(
    client_id: Annotated[int, typer.Argument(help="The client's id.")], data_dir: DataDir = None
) -> None:
    """Revoke a client's token for good."""
    db = _database(_settings(data_dir))
    try:
        with db.session() as session:
            tokens.revoke(session, client_id)
            record(session, None, "client.revoke", "api_client", client_id)
    except tokens.ClientError as exc:
        raise _fail(str(exc)) from None
    console.print(f"Revoked client {client_id}.")


webhooks_app = typer.Typer(help="Webhooks that tell GP systems of status changes.")
app.add_typer(webhooks_app, name="webhooks")
mail_app = typer.Typer(help="The mail queue: every email Petunia sends.", no_args_is_help=True)
app.add_typer(mail_app, name="mail")


@mail_app.command("deliver")
def mail_deliver(
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running, looking every PETUNIA_MAIL_POLL_SECONDS (for a worker "
            "process); without it, one pass (for cron, e.g. every minute).",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Send the queued emails that are due, retrying failed ones with back-off, and delete
    those sent or given up over PETUNIA_MAIL_RETENTION_DAYS ago. Safe to run from several
    places at once: each email is sent by one of them."""
    import time

    from api.mail.models import MailStatus
    from api.mail.queue import counts, deliver_due

    settings = _settings(data_dir)
    db = _database(settings)
    if watch:
        from api.mail.background import Deliverer

        console.print("Delivering queued email; Ctrl+C stops.")
        with Deliverer(settings, db):
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return
    report = deliver_due(db, settings)
    with db.session() as session:
        left = counts(session)
    console.print(f"Email: {report}; {left.get(MailStatus.PENDING, 0)} waiting.", highlight=False)


@app.command()
def nudge(data_dir: DataDir = None) -> None:
    """Email link workers about referrals not contacted after 3 working days, and lead
    providers about those past the 5-working-day target (each at most once)."""
    from api.referrals.nudge import nudge as run_nudge

    settings = _settings(data_dir)
    db = _database(settings)
    with db.session() as session:
        report = run_nudge(session, settings)
    console.print(f"Nudged: {report}.", highlight=False)
    _deliver_now(db, settings, report.mail)


@app.command()
def purge(
    retention_days: Annotated[
        int | None,
        typer.Option(
            help="Purge referrals closed longer ago than this "
            "[env: PETUNIA_REFERRAL_RETENTION_DAYS; default: 730].",
            show_default=False,
        ),
    ] = None,
    unconfirmed_days: Annotated[
        int | None,
        typer.Option(
            help="Delete registrations not confirmed within this many days "
            "[env: PETUNIA_UNCONFIRMED_REGISTRATION_DAYS; default: 30].",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Remove personal data past its time: from referrals closed longer than the retention
    period (keeping the anonymous facts reports need; their data keys are destroyed), the
    registrations nobody confirmed, and the email addresses of decided registrations and of
    resolved problem reports."""
    from api.retention import purge as purge_all

    settings = _settings(data_dir)
    for option, value in (
        ("--retention-days", retention_days),
        ("--unconfirmed-days", unconfirmed_days),
    ):
        if value is not None and value < 0:
            raise _fail(f"{option} cannot be negative")
    try:
        report = purge_all(
            _database(settings),
            settings,
            referral_days=retention_days,
            unconfirmed_days=unconfirmed_days,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    console.print(
        f"Purged personal data from {report.referrals} referral(s) closed over "
        f"{report.referral_days} days ago (their data keys destroyed)."
    )
    console.print(
        f"Deleted {report.unconfirmed} registration(s) not confirmed within "
        f"{report.unconfirmed_days} days."
    )
    console.print(
        f"Deleted {report.emails} email(s) sent or given up over "
        f"{settings.mail_retention_days} days ago."
    )
    console.print(
        f"Removed the email address from {report.decided} registration(s) decided over "
        f"{report.decided_days} days ago and {report.reports} problem report(s) resolved over "
        f"{report.report_days} days ago."
    )


@app.command()
def rekey(data_dir: DataDir = None) -> None:
    """Once, after upgrading: give each referral written before per-referral data keys its
    own key, re-encrypting its personal data with it (so that purge can destroy it)."""
    from api.referrals.protection import protector
    from api.referrals.rekey import rekey as rekey_referrals

    settings = _settings(data_dir)
    db = _database(settings)
    with db.session() as session:
        moved = rekey_referrals(session, protector(settings))
    console.print(f"Moved {moved} referral(s) onto a data key of their own.")


@webhooks_app.command("deliver")
def webhooks_deliver(data_dir: DataDir = None) -> None:
    """Send the webhook calls that are due (run it every minute, e.g. from cron); failed
    calls are retried later with back-off."""
    import httpx

    from api.referrals.protection import protector
    from api.referrals.webhooks import deliver_due

    settings = _settings(data_dir)
    db = _database(settings)
    with httpx.Client() as http:
        report = deliver_due(
            db.session,
            protector(settings),
            http,
            max_attempts=settings.webhook_max_attempts,
            production=settings.production,
        )
    console.print(f"Webhooks: {report}.", highlight=False)


@app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A .csv or .xlsx file, one session a row. Columns (header names, any order): "
            "organisation, title, domains, schedule (required); description, venue, postcode, "
            "address, delivery, times, starts, contact, contact_name, email, phone, website, "
            "cost, concessions, languages, who_for, how_to_join, accessibility, locality, "
            "provider_key, session_key, organisation_description. Usual headings are "
            "recognised (Activity, What happens, Where, When, Day, Time, Contact...); see the "
            "README. Or the word `oruk`, "
            "then another directory's Open Referral UK API address or export folder.",
        ),
    ],
    source: Annotated[
        str | None,
        typer.Argument(help="With `oruk`: the feed's API address (https://...) or folder."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report; change nothing.")
    ] = False,
    domain: Annotated[
        Domain | None,
        typer.Option(help="With `oruk`: the domain of services whose own words say none."),
    ] = None,
    locality: Annotated[
        str | None,
        typer.Option(
            help="With `oruk`: the locality key for new organisations (default: by "
            "postcode, from the nearest venue)."
        ),
    ] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="What a heading holds, when it is not a column's name or a usual heading: "
            '--map "When=schedule" --map "Notes=description", or "Notes=skip" to leave it '
            "out. Repeat for each heading.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Import providers and sessions from a spreadsheet, or (`petunia import oruk SOURCE`) from
    another directory's Open Referral UK feed. All or nothing: everything that cannot be read
    is reported (the line, or the feed record) with the reason, and nothing changes until
    there is nothing. Importing the same file or feed twice creates no duplicates."""
    from api.registration.headings import HeadingProblem, parse_map
    from api.registration.importing import ImportProblems, import_file

    if str(file) == "oruk":
        if not source:
            raise _fail("give the feed: petunia import oruk https://... or a folder")
        _import_oruk(source, dry_run=dry_run, domain=domain, locality=locality, data_dir=data_dir)
        return
    if source is not None:
        raise _fail(f"one file at a time: {source} was not expected after {file}")
    if not file.is_file():
        raise _fail(f"{file} is not a file: give a .csv or .xlsx spreadsheet")
    try:
        mapping = parse_map(column_map or [])
    except HeadingProblem as problem:
        raise _fail(str(problem)) from None

    db = _database(_settings(data_dir))
    session = orm.Session(db.engine, expire_on_commit=False)
    try:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("Importing", total=None)
            report = import_file(
                session,
                file,
                on_progress=lambda n: progress.update(task, completed=n),
                column_map=mapping,
            )
        if dry_run:
            session.rollback()
        else:
            session.commit()
            db.analyze()
    except ImportProblems as exc:
        session.rollback()
        for problem in exc.problems:
            err.print(f"{file.name}: {problem}", highlight=False, markup=False)
        raise _fail(f"{len(exc.problems)} problem(s) in {file}; nothing was imported") from None
    finally:
        session.close()
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    for warning in report.warnings:
        console.print(f"warning: {warning}", highlight=False, markup=False)
    prefix = "Dry run, nothing changed. It would import: " if dry_run else "Imported "
    console.print(prefix + report.summary(), highlight=False)


def _import_oruk(
    source: str,
    *,
    dry_run: bool,
    domain: Domain | None,
    locality: str | None,
    data_dir: Path | None,
) -> None:
    from api.oruk import feed as oruk_feed
    from api.oruk.importing import ImportProblems, apply_feed, check_feed

    db = _database(_settings(data_dir))
    session = orm.Session(db.engine, expire_on_commit=False)
    try:
        if locality and not session.scalar(select(Locality.id).where(Locality.key == locality)):
            raise _fail(f"no locality has the key '{locality}' (see `petunia practices list`)")
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("Reading the feed", total=None)
            items = oruk_feed.read_feed(
                source, on_progress=lambda n, t: progress.update(task, completed=n, total=t)
            )
            services = check_feed(session, items, default_domain=domain)
            progress.update(task, description="Importing", completed=0, total=len(services))
            report = apply_feed(
                session,
                oruk_feed.source_name(source),
                services,
                locality_key=locality,
                on_progress=lambda n: progress.update(task, completed=n),
            )
        if dry_run:
            session.rollback()
        else:
            session.commit()
            db.analyze()
    except oruk_feed.FeedError as exc:
        session.rollback()
        raise _fail(f"cannot read the feed: {exc}") from None
    except ImportProblems as exc:
        session.rollback()
        for problem in exc.problems:
            err.print(str(problem), highlight=False, markup=False)
        raise _fail(f"{len(exc.problems)} problem(s) in {source}; nothing was imported") from None
    finally:
        session.close()
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    for title in report.kept:
        console.print(
            f"kept: {title} (gone from the feed, but referrals point at it)",
            highlight=False,
            markup=False,
        )
    prefix = "Dry run, nothing changed. It would import: " if dry_run else "Imported "
    console.print(prefix + report.summary(), highlight=False)


@app.command()
def remind(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List who would be emailed; send nothing.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Email every listing not confirmed for PETUNIA_REMIND_AFTER_DAYS a one-click "still
    right" link and its edit link; nobody is emailed twice in PETUNIA_REMIND_EVERY_DAYS.
    Each reminder is recorded with its email in the mail queue, then sent at once; an email
    that cannot be sent now is retried by the mail queue."""
    from api.registration.answers import today
    from api.registration.upkeep import send_reminders

    settings = _settings(data_dir)
    db = _database(settings)
    report = send_reminders(db, settings, today=today(), dry_run=dry_run)
    verb = "Would email" if dry_run else "Emailed"
    console.print(f"{verb} {len(report.sent)} provider(s).", highlight=False)
    for name in report.sent:
        console.print(f"  {name}", highlight=False, markup=False)
    if report.skipped_recent:
        console.print(f"{report.skipped_recent} already reminded in this period: skipped.")
    for name in report.no_address:
        err.print(f"no email address for {name}: not reminded", highlight=False, markup=False)
    if report.mail:
        _deliver_now(db, settings, report.mail)


def _deliver_now(db: Database, settings: Settings, mail: list[int]) -> None:
    """Send the emails a command just queued; what cannot go now stays queued for
    `petunia mail deliver` (or `petunia up`) to retry."""
    from api.mail.queue import deliver_due

    if not mail:
        return
    report = deliver_due(db, settings, only=mail, purge=False)
    console.print(f"Email: {report}.", highlight=False)
    if report.unsent:
        err.print(
            f"{len(report.unsent)} email(s) could not be sent now: they stay queued and are "
            "retried by `petunia mail deliver` (or `petunia up`)",
            highlight=False,
            markup=False,
        )


@app.command("revoke-edit-links")
def revoke_edit_links(
    provider: Annotated[str, typer.Argument(help="The provider's key or id.")],
    data_dir: DataDir = None,
) -> None:
    """Stop every emailed edit link of a listing for good (e.g. an email was forwarded);
    the provider asks for a fresh one at /listing/edit-link."""
    from api.registration.flow import revoke_edit_links as revoke

    db = _database(_settings(data_dir))
    with db.session() as session:
        row = session.get(Provider, int(provider)) if provider.isdigit() else None
        row = row or session.scalars(select(Provider).where(Provider.key == provider)).first()
        if row is None:
            raise _fail(f"no provider '{provider}'")
        version = revoke(session, row)
        name = row.name
    console.print(
        f"Every edit link of {name} sent so far has stopped (link version {version}).",
        highlight=False,
    )


@app.command("prize-draw")
def prize_draw_command(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")],
    data_dir: DataDir = None,
) -> None:
    """Draw the month's prize among the providers that confirmed or updated their entry
    that month. Drawn once, from a recorded random seed (audited); run again, it shows
    the recorded draw and checks that the seed reproduces it."""
    from api.registration.upkeep import DrawError, prize_draw

    db = _database(_settings(data_dir))
    try:
        with db.session() as session:
            result = prize_draw(session, month)
    except DrawError as exc:
        raise _fail(str(exc)) from None
    state = "Drawn now" if result.new else f"Drawn on {result.drawn_at:%Y-%m-%d %H:%M}"
    console.print(f"Prize draw for {result.month}: {state}.", highlight=False)
    console.print(f"Entrants: {len(result.entrants)} (provider ids {result.entrants})")
    console.print(f"Seed: {result.seed}")
    console.print(
        f"Winner: {result.winner_name} (provider {result.winner_id})"
        if result.winner_id
        else "No entrants: no winner.",
        highlight=False,
    )
    if not result.reproduced:
        raise _fail("the recorded seed does not give the recorded winner: the record was changed")
    if not result.new:
        console.print("Checked: the recorded seed and entrants give the same winner.")


@app.command()
def report(
    start: Annotated[
        dt.datetime,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day of the period (YYYY-MM-DD)."),
    ],
    end: Annotated[
        dt.datetime,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of the period (YYYY-MM-DD)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html and the CSV files.")],
    locality: Annotated[
        list[str] | None,
        typer.Option(help="Only this locality (key or name); repeat for several. Default: all."),
    ] = None,
    tariff: Annotated[
        Path | None,
        typer.Option(help="Tariff file (default: directory_data/reports/tariff.yaml)."),
    ] = None,
    unit_costs: Annotated[
        Path | None,
        typer.Option(
            help="NHS unit costs file (default: directory_data/reports/nhs_unit_costs.yaml)."
        ),
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Directory health as at this date (default: today)."
        ),
    ] = None,
    exact: Annotated[
        bool,
        typer.Option(
            "--exact",
            help="The exact figures for any period, without noise: for the operator, not for "
            "publication (reports of overlapping periods can then be compared).",
        ),
    ] = False,
    population: Annotated[
        Path | None,
        typer.Option(
            help="The area's population by sex, ethnic category, long term condition and IMD "
            'decile (CSV: dimension,code,people; see README) for "who is reached".',
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the commissioning report for referrals received from --from to --to (a calendar
    month, a quarter or a financial year): a self-contained HTML page (prints on A4) and a
    CSV file per table, perturbed by the cell key method with small numbers suppressed."""
    from api.reports import costs
    from api.reports.render import write_report
    from api.reports.report import STEPS, ReportError, ReportRequest, build_report

    settings = _settings(data_dir)
    try:
        tariff_table = costs.load_tariff(tariff or costs.DEFAULT_TARIFF)
        unit_table = costs.load_unit_costs(unit_costs or costs.DEFAULT_UNIT_COSTS)
    except costs.CostFileError as exc:
        for problem in exc.problems:
            err.print(f"{exc.path}: {problem}", highlight=False, markup=False)
        raise _fail(f"fix {exc.path} (or pass another file); no report was written") from None
    from api.referrals.protection import protector
    from api.reports.reached import PopulationFileError, load_population

    try:
        people = load_population(population) if population else None
    except PopulationFileError as exc:
        for problem in exc.problems:
            err.print(f"{exc.path}: {problem}", highlight=False, markup=False)
        raise _fail(f"fix {exc.path}; no report was written") from None
    db = _database(settings)
    with db.session() as session:
        ids = _locality_ids(session, locality) if locality else None
    request = ReportRequest(
        start.date(), end.date(), ids, as_of.date() if as_of else None, exact=exact
    )
    try:
        with Progress(console=err, transient=True) as progress, db.session() as session:
            task = progress.add_task("Report", total=len(STEPS) + 3)

            def on_step(name: str) -> None:
                progress.update(task, description=name, advance=1)

            result = build_report(
                session,
                request,
                tariff=tariff_table,
                unit_costs=unit_table,
                target_days=settings.contact_target_working_days,
                on_step=on_step,
                compare=True,  # the summary page compares with the previous period
                protector=protector(settings),  # equality data is counted, never shown
                population=people,
            )
            progress.update(task, description="Writing files")
            written = write_report(result, out)
            record(
                session,
                None,
                "report.generate",
                "report",
                None,
                start=request.start.isoformat(),
                end=request.end.isoformat(),
                localities=list(ids) if ids else None,
                **({"exact": True} if exact else {}),
            )
            progress.update(task, advance=2)
    except ReportError as exc:
        raise _fail(str(exc)) from None
    console.print(f"Wrote {len(written)} files to {out}: open {out / 'report.html'}")


def _locality_ids(session: object, wanted: list[str]) -> tuple[int, ...]:
    """Locality ids by key or name (case does not matter); a clear error for unknown ones."""
    rows = session.execute(select(Locality.id, Locality.key, Locality.name)).all()  # type: ignore[attr-defined]
    found, unknown = [], []
    for text in wanted:
        match = [i for i, key, name in rows if text.strip().lower() in (key.lower(), name.lower())]
        (found if match else unknown).append(match[0] if match else text)
    if unknown:
        known = ", ".join(sorted(key for _i, key, _n in rows)) or "none: load a directory first"
        raise _fail(f"no locality {', '.join(map(repr, unknown))}; the localities are: {known}")
    return tuple(dict.fromkeys(found))


# `petunia build-site` published, but left listings out (each is named on stderr).
EXIT_PARTIAL = 3
log = logging.getLogger("petunia.site")


def _build_site(
    db: Database, settings: Settings, out: Path, *, fail: bool = True, memo: BuildMemo | None = None
) -> bool:
    """Build the public site with a progress bar; False when listings were left out. With
    ``fail=False`` (``up``), a failed build is one line on stderr and the previous site (or
    the "being built" page) keeps being served."""
    from sitegen.build import BuildError, build_site, rebuild
    from sitegen.swap import BuildLocked

    with Progress(console=err, transient=True) as progress:
        tasks: dict[str, object] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        try:
            if out.resolve() == settings.resolved_site_dir.resolve():
                # The served folder: the build also marks the queued changes as shown.
                result = rebuild(db, settings, progress=report, memo=memo)
            else:
                result = build_site(db, settings, out, progress=report)
        except (BuildError, BuildLocked, OSError) as exc:
            if fail:
                raise _fail(
                    f"the site was not built: {exc}; the previous site is unchanged"
                ) from None
            err.print(f"[yellow]warning:[/yellow] the site was not built: {exc}", highlight=False)
            return False
        except Exception as exc:
            if fail:
                raise
            # Not a data problem (those are left out listing by listing): a fault, whose
            # traceback helps; the previous site is still served.
            err.print(
                f"[yellow]warning:[/yellow] the site was not built ({type(exc).__name__}); "
                "the previous site is unchanged",
                highlight=False,
            )
            log.error("the site was not built", exc_info=True)
            return False
    for left in result.left_out:
        err.print(f"[yellow]warning:[/yellow] left out {left}", highlight=False)
    console.print(f"{result.summary()}. Site in {out}", highlight=False)
    return not result.left_out


@app.command("build-site")
def build_site_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to build into (replaced atomically when the build is complete) "
            "[env: PETUNIA_SITE_DIR; default: DATA_DIR/site].",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Build the public directory site (static files) from the published listings.

    Pages unchanged since the last build into the same folder are reused; the search index
    is always rebuilt whole. With MEILI_URL set, sessions and providers are also indexed in
    Meilisearch and the site searches there. A listing that cannot be published is left
    out and named, the rest is published, and the exit status is 3."""
    settings = _settings(data_dir)
    db = _database(settings)
    if not _build_site(db, settings, out or settings.resolved_site_dir):
        raise typer.Exit(code=EXIT_PARTIAL)


@export_app.command("oruk")
def export_oruk(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the JSON files into.")],
    data_dir: DataDir = None,
) -> None:
    """Write the public directory as Open Referral UK (HSDS 3.0) JSON files."""
    from api.directory.public import FreshnessPolicy
    from api.oruk.export import stream_export
    from sitegen.build import london_today

    settings = _settings(data_dir)
    db = _database(settings)
    with db.session() as session:
        if db.dialect == "postgresql":
            # Read in batches, but of one moment: every batch sees the same snapshot.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        count = stream_export(
            session, settings, out, today=london_today(), policy=FreshnessPolicy.of(settings)
        )
    console.print(f"Wrote {count} services as Open Referral UK JSON to {out}", highlight=False)


def main() -> None:
    try:
        logs.configure(get_settings().log_level)
    except ValueError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        raise SystemExit(1) from None
    app()


if __name__ == "__main__":
    main()
