"""Configuration, read once from the environment (``PETUNIA_*``, ``DATABASE_URL``...)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import threading
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting Petunia reads; the README's configuration table lists them all."""

    model_config = SettingsConfigDict(env_prefix="PETUNIA_", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    data_dir: Path = Path("var")
    # DATABASE_URL is the conventional name, so it is read without the prefix.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    host: str = "127.0.0.1"
    port: int = 8000
    # DEBUG, INFO, WARNING or ERROR. What any level may hold: api/logs.py.
    log_level: str = "INFO"
    # GraphiQL at /graphql for browsers (served from Petunia's own files); unset: on in
    # development, off in production.
    graphiql: bool | None = None
    # Public listings: the largest page a client may ask for.
    max_page_size: int = 100
    # Where people reach this service: links in emails start with it. Production refuses an
    # http:// address (cookies would go unencrypted) unless allow_http_public_url is set.
    public_url: str = "http://127.0.0.1:8000"
    allow_http_public_url: bool = False
    # The reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses
    # or networks, comma-separated ("172.16.0.0/12, ::1"). Empty: none; the address that
    # connects is the caller's, and nobody can claim another by sending the header.
    trusted_proxies: str = ""
    # Signs links in emails (and anything else that must not be forged). Required in
    # production; in development a random one is kept in the data folder.
    secret_key: str | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Petunia <no-reply@petunia.invalid>"
    # The mail queue (api/mail/queue.py): an email that cannot be sent is retried with
    # back-off up to this many attempts (about 10 hours), then given up.
    mail_max_attempts: int = Field(default=12, ge=1)
    # Sent (or given-up) emails, with their bodies, are deleted this many days later.
    mail_retention_days: int = Field(default=7, ge=0)
    # How often `petunia up` (and `petunia mail deliver --watch`) looks for emails due.
    mail_poll_seconds: float = Field(default=10.0, gt=0)

    # Referrals (api/referrals). Encrypts patients' personal data at rest and keys the
    # NHS-number lookup hash. Required in production; in development a random one is kept in
    # the data folder. Losing it makes stored personal data unreadable: back it up.
    encryption_key: str | None = None
    # Each referral's own data key lives here, apart from the database, so that `petunia purge`
    # can destroy it (api/referrals/keys.py); default: a SQLite file in the data folder.
    key_store_url: str | None = None
    # `petunia purge` removes personal data from referrals closed longer than this.
    referral_retention_days: int = 730
    # The target for first contact with a referred person, in working days.
    contact_target_working_days: int = 5
    # A provider's register link (attendance, without an account) works this long.
    register_link_days: int = Field(default=90, ge=1)
    # Webhook deliveries stop after this many failed attempts.
    webhook_max_attempts: int = 6
    # Registration and listing upkeep (api/registration/).
    # How long the emailed "confirm your listing" link works, and the "edit your listing" link.
    confirm_link_days: int = 7
    # What a provider is told about how long the lead provider usually takes to check a
    # confirmed listing ("usually within N days").
    review_days: int = Field(default=5, ge=1)
    edit_link_days: int = 400
    # `petunia purge` deletes registrations (and their email addresses) never confirmed
    # within this many days.
    unconfirmed_registration_days: int = 30
    # `petunia purge` removes the email address (and phone) from registrations approved or
    # rejected longer ago than this, and the reporter's address from problem reports resolved
    # longer ago than the second.
    decided_registration_days: int = 90
    problem_report_email_days: int = 90
    # Submissions of a public form (register, report a problem) per address per hour; 0: off.
    form_rate_limit: int = 10
    # Staff sign-in link requests per connection per hour, beside the 5 per account: higher
    # than the public forms', as a practice's staff share one address behind its network.
    staff_sign_in_rate_limit: int = 60
    # `petunia remind`: listings not confirmed for this many days get a "still right?" email,
    # at most one per provider in each period of remind_every_days.
    remind_after_days: int = 300
    remind_every_days: int = 30

    # Staff sign-in (api/staff/): how long an emailed sign-in link works; a session ends
    # after this long without a request, and in any case this long after signing in.
    staff_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    staff_idle_minutes: int = Field(default=30, ge=1)
    staff_session_hours: int = Field(default=12, ge=1)

    # Care and support plans (api/referrals/plans.py): weeks from a plan to its review.
    review_weeks: int = Field(default=6, ge=1, le=52)

    # Commissioning reports (api/reports): the tariff and NHS unit-cost files; unset, the
    # defaults in directory_data/reports/.
    report_tariff_file: Path | None = None
    report_unit_costs_file: Path | None = None

    # The public directory site (sitegen/). Where it is published (links in the sitemap,
    # JSON-LD and calendars start with it); default: served by this app at public_url.
    site_url: str | None = None
    site_name: str = "Community activities directory"
    # Who runs the site, and how people reach them: the footer, the contact page, the privacy
    # notice and the accessibility statement say it (sitegen/footer_pages.py).
    site_operator: str | None = None
    site_contact_email: str | None = None
    site_contact_phone: str | None = None
    # A folder with privacy.md, accessibility.md or contact.md: each, when present, is the
    # deployer's own text for that page (Markdown) instead of the built-in one.
    site_pages_dir: Path | None = None
    # Where `petunia up` builds the site and serves it from; default: data_dir/site.
    site_dir: Path | None = None
    # Entries not confirmed for this many days are marked "may be out of date"...
    site_stale_after_days: int = Field(default=365, ge=1)
    # ...and after this many days they are left off the site, its search and the ORUK data.
    site_hide_after_days: int = Field(default=548, ge=1)
    # A background rebuild of the site runs in this deployment (`petunia up`, or `petunia
    # serve --rebuild-site`): messages then say a change shows "within a minute". Set by those
    # commands for their server processes; not meant to be set by hand.
    site_rebuild_in_background: bool = False
    # The background rebuild waits for this many seconds without a change, but never more
    # than site_rebuild_max_wait_seconds after the first change it has not built.
    site_rebuild_quiet_seconds: float = Field(default=5.0, ge=0)
    site_rebuild_max_wait_seconds: float = Field(default=30.0, ge=0)
    # Meilisearch (optional): when MEILI_URL is set, `build-site` indexes sessions and
    # providers there and the site searches it with the search-only key.
    meili_url: str | None = Field(
        default=None, validation_alias=AliasChoices("MEILI_URL", "meili_url")
    )
    meili_master_key: str | None = Field(
        default=None, validation_alias=AliasChoices("MEILI_MASTER_KEY", "meili_master_key")
    )
    meili_search_key: str | None = Field(
        default=None, validation_alias=AliasChoices("MEILI_SEARCH_KEY", "meili_search_key")
    )
    meili_index_prefix: str = "petunia"
    # Maps on the public site (optional): an OSM-compatible tile URL template, such as
    # https://tile.example.org/{z}/{x}/{y}.png, and the attribution its terms ask for. Unset,
    # no map is shown and nothing is fetched from a tile server.
    map_tiles: str | None = None
    map_attribution: str = "© OpenStreetMap contributors"
    # benchmarks/http_latency.py only: mounts its plain baseline route on the same server
    # (needs the repository's benchmarks/ folder). Never in production.
    benchmark_routes: bool = False

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (like 10.0.0.0/8); "
                    "separate several with commas"
                ) from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _split(self.trusted_proxies)

    @property
    def serve_graphiql(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.production

    def check_production(self) -> None:
        """What production cannot start without; raises :class:`UnsafeConfiguration` (or
        :class:`MissingSecret`) with a message naming the variable to set."""
        if not self.production:
            return
        for name in ("secret_key", "encryption_key"):
            self.secret(name)  # raises MissingSecret naming the variable to set
        if not self.public_url.startswith("https://") and not self.allow_http_public_url:
            raise UnsafeConfiguration(
                f"PETUNIA_PUBLIC_URL is {self.public_url!r}: in production it must start with "
                "https:// (sign-in cookies and links must not travel unencrypted). Set "
                "PETUNIA_ALLOW_HTTP_PUBLIC_URL=true only if that is really meant."
            )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'petunia.db').resolve()}"

    @property
    def resolved_key_store_url(self) -> str:
        if self.key_store_url:
            return self.key_store_url
        return f"sqlite:///{(self.data_dir / 'keys.db').resolve()}"

    @property
    def resolved_site_url(self) -> str:
        """The published site's address, always ending in '/'."""
        return (self.site_url or self.public_url).rstrip("/") + "/"

    @property
    def resolved_site_dir(self) -> Path:
        return self.site_dir or self.data_dir / "site"

    @property
    def production(self) -> bool:
        return self.mode is Mode.PRODUCTION

    def secret(self, name: str) -> str:
        """A secret setting (``secret_key``...): its configured value; in development, a
        random value kept in ``data_dir`` so it survives restarts. Production has no
        default: a missing secret stops the service with a clear message."""
        value = getattr(self, name)
        if value:
            return str(value)
        env = f"PETUNIA_{name.upper()}"
        if self.production:
            raise MissingSecret(f"{env} must be set in production (PETUNIA_MODE=production)")
        path = self.data_dir / f".{name}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Several worker processes (and threads) may start at once: write aside, then
            # link into place (atomic, and refused if another got there first), so all
            # share one.
            spare = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            spare.write_text(secrets.token_urlsafe(32))
            spare.chmod(0o600)
            try:
                os.link(spare, path)
            except FileExistsError:
                pass
            finally:
                spare.unlink()
        return path.read_text().strip()


class MissingSecret(RuntimeError):
    pass


class UnsafeConfiguration(RuntimeError):
    pass


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
