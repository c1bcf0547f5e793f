"""The `petunia` command: a thin shell over the same functions the API uses."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from api import migrations
from api.access import tokens
from api.access.models import Role
from api.audit.log import record
from api.config import Settings, get_settings
from api.db import Database
from api.directory.loading import LoadError, load_directory
from api.directory.models import GpPractice, LinkWorker, Locality, Provider
from api.directory.postcodes import PostcodeFileError, import_postcodes

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_DATA = REPO_ROOT / "directory_data"

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
    except LoadError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False, markup=False)
        raise _fail(f"{len(exc.problems)} problem(s) in {folder}; nothing was loaded") from None
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
    settings = _settings(data_dir)
    db = _database(settings)
    migrations.upgrade(db.engine)
    with db.session() as session:
        empty = session.scalar(select(func.count()).select_from(Provider)) == 0
    if empty:
        console.print(f"Loading the demo directory from {DEMO_DATA} ...")
        _load(db, DEMO_DATA)
    _build_site(db, settings, settings.resolved_site_dir, fail=False)
    db.dispose()
    _serve(settings, host, port, workers=1)


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
    data_dir: DataDir = None,
) -> None:
    """Serve the API (the database must be migrated: `petunia db upgrade`)."""
    settings = _settings(data_dir)
    _serve(settings, host, port, workers=workers)


def _serve(settings: Settings, host: str | None, port: int | None, *, workers: int) -> None:
    import uvicorn

    host, port = host or settings.host, port or settings.port
    console.print(f"Petunia on http://{host}:{port}/graphql (GraphiQL in a browser)")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


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


@practices_app.command("list")
def practices_list(data_dir: DataDir = None) -> None:
    """List GP practices with their locality and named link worker."""
    db = _database(_settings(data_dir))
    with db.session() as session:
        rows = session.execute(
            select(GpPractice.ods_code, GpPractice.name, Locality.name, LinkWorker.name)
            .join(Locality, Locality.id == GpPractice.locality_id)
            .outerjoin(LinkWorker, LinkWorker.id == GpPractice.link_worker_id)
            .order_by(GpPractice.ods_code)
        ).all()
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


def _build_site(db: Database, settings: Settings, out: Path, *, fail: bool = True) -> None:
    """Build the public site with a progress bar. With ``fail=False`` (``up``), a failed
    build is reported and the previous site keeps being served."""
    from sitegen.build import BuildError, build_site
    from sitegen.swap import BuildLocked

    with Progress(console=err, transient=True) as progress:
        tasks: dict[str, object] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        try:
            result = build_site(db, settings, out, progress=report)
        except (BuildError, BuildLocked, OSError) as exc:
            if fail:
                raise _fail(
                    f"the site was not built: {exc}; the previous site is unchanged"
                ) from None
            err.print(f"[yellow]warning:[/yellow] the site was not built: {exc}", highlight=False)
            return
    console.print(f"{result.summary()}. Site in {out}", highlight=False)


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
    Meilisearch and the site searches there."""
    settings = _settings(data_dir)
    db = _database(settings)
    _build_site(db, settings, out or settings.resolved_site_dir)


@export_app.command("oruk")
def export_oruk(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the JSON files into.")],
    data_dir: DataDir = None,
) -> None:
    """Write the public directory as Open Referral UK (HSDS 3.0) JSON files."""
    from api.directory.public import FreshnessPolicy, read_public_directory
    from api.oruk.export import write_export
    from sitegen.build import london_today

    settings = _settings(data_dir)
    db = _database(settings)
    with db.session() as session:
        directory = read_public_directory(
            session, today=london_today(), policy=FreshnessPolicy.of(settings)
        )
        count = write_export(directory, settings, out)
    console.print(f"Wrote {count} services as Open Referral UK JSON to {out}", highlight=False)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
