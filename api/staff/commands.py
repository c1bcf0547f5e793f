"""`petunia staff ...`: invite, list, deactivate and sign out staff accounts from the command
line (the operator: every account, audited as "command line"). Same functions as the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.access.models import Role
from api.config import get_settings
from api.db import Database
from api.mail.queue import deliver_due
from api.registration.mails import queue
from api.staff import accounts

staff_app = typer.Typer(
    help="Staff accounts: the people who sign in to Petunia's pages.", no_args_is_help=True
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="As for every command [env: PETUNIA_DATA_DIR].", show_default=False
    ),
]


def _database(data_dir: Path | None):  # type: ignore[no-untyped-def]
    settings = get_settings(**({"data_dir": data_dir} if data_dir else {}))
    return settings, Database.from_url(settings.resolved_database_url)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code=1)


@staff_app.command("invite")
def invite(
    email: Annotated[str, typer.Option(help="Their work email address.")],
    name: Annotated[str, typer.Option(help="Their full name.")],
    role: Annotated[Role, typer.Option(help="What they may see and do.")],
    practice: Annotated[str | None, typer.Option(help="ODS code (GP_PRACTICE).")] = None,
    provider: Annotated[
        str | None, typer.Option(help="Provider key or id (LEAD_PROVIDER, PROVIDER).")
    ] = None,
    link_worker: Annotated[
        str | None, typer.Option(help="Link worker key: their caseload (LEAD_PROVIDER).")
    ] = None,
    coordinator: Annotated[
        bool, typer.Option(help="A lead provider's coordinator (manages its accounts).")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create an account and email them how to sign in."""
    from api.web.staff_accounts import invitation_email

    settings, db = _database(data_dir)
    invitation = accounts.Invitation(
        name, email, role, practice, provider, link_worker, coordinator
    )
    try:
        with db.session() as session:
            account = accounts.invite(session, None, invitation)
            account_id, label = account.id, account.name
            # Queued with the account, in its transaction (api/mail/queue.py).
            mail = queue(
                session,
                [invitation_email(settings, account.name, account.email, "Your administrator")],
            )
    except accounts.StaffError as exc:
        raise _fail(exc.message) from None
    report = deliver_due(db, settings, only=mail, purge=False)
    console.print(f"Invited {label} (account {account_id}).", highlight=False)
    if report.unsent:
        console.print(
            "The invitation email is delayed: `petunia mail deliver` (or `petunia up`) keeps "
            "trying. They can also sign in at /staff/sign-in."
        )


@staff_app.command("list")
def list_accounts(data_dir: DataDir = None) -> None:
    """Every staff account, with its role and state."""
    _settings, db = _database(data_dir)
    table = Table("id", "name", "email", "role", "second factor", "last sign-in", "state")
    with db.session() as session:
        for a in accounts.manageable(session, None):
            table.add_row(
                str(a.id),
                a.name,
                a.email,
                a.role.value
                + (" (coordinator)" if a.coordinator else "")
                + (" (link worker)" if a.link_worker_id else ""),
                "set up" if a.totp_confirmed_at else "not yet",
                f"{a.last_sign_in_at:%Y-%m-%d %H:%M}" if a.last_sign_in_at else "never",
                "deactivated" if a.deactivated_at else ("demo" if a.demo else "active"),
            )
    console.print(table)


def _act(fn, account_id: int, data_dir: Path | None, done: str) -> None:  # type: ignore[no-untyped-def]
    _settings, db = _database(data_dir)
    try:
        with db.session() as session:
            fn(session, None, account_id)
    except accounts.StaffError as exc:
        raise _fail(exc.message) from None
    console.print(done.format(id=account_id), highlight=False)


AccountId = Annotated[int, typer.Argument(help="The account's id (see `petunia staff list`).")]


@staff_app.command("deactivate")
def deactivate(account_id: AccountId, data_dir: DataDir = None) -> None:
    """The account can no longer sign in; its sessions end now."""
    _act(accounts.deactivate, account_id, data_dir, "Deactivated account {id}; it is signed out.")


@staff_app.command("sign-out")
def sign_out(account_id: AccountId, data_dir: DataDir = None) -> None:
    """End every session of the account (it can sign in again)."""
    _act(accounts.end_sessions, account_id, data_dir, "Signed account {id} out everywhere.")


@staff_app.command("reset-second-factor")
def reset_second_factor(account_id: AccountId, data_dir: DataDir = None) -> None:
    """For a lost phone: the next sign-in sets up the authenticator app again."""
    _act(
        accounts.reset_second_factor,
        account_id,
        data_dir,
        "Account {id} sets up its authenticator app again at its next sign-in.",
    )
