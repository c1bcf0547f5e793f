"""Configuration, read once from the environment (``PETUNIA_*``, ``DATABASE_URL``...)."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field
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
    graphiql: bool = True
    # Public listings: the largest page a client may ask for.
    max_page_size: int = 100
    # Where people reach this service: links in emails start with it.
    public_url: str = "http://127.0.0.1:8000"
    # Signs links in emails (and anything else that must not be forged). Required in
    # production; in development a random one is kept in the data folder.
    secret_key: str | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Petunia <no-reply@petunia.invalid>"

    # Referrals (api/referrals). Encrypts patients' personal data at rest and keys the
    # NHS-number lookup hash. Required in production; in development a random one is kept in
    # the data folder. Losing it makes stored personal data unreadable: back it up.
    encryption_key: str | None = None
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
    edit_link_days: int = 400
    # `petunia purge` deletes registrations (and their email addresses) never confirmed
    # within this many days.
    unconfirmed_registration_days: int = 30
    # Submissions of a public form (register, report a problem) per address per hour; 0: off.
    form_rate_limit: int = 10
    # `petunia remind`: listings not confirmed for this many days get a "still right?" email,
    # at most one per provider in each period of remind_every_days.
    remind_after_days: int = 300
    remind_every_days: int = 30

    # Staff sign-in (api/staff/): how long an emailed sign-in link works; a session ends
    # after this long without a request, and in any case this long after signing in.
    staff_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    staff_idle_minutes: int = Field(default=30, ge=1)
    staff_session_hours: int = Field(default=12, ge=1)

    # Commissioning reports (api/reports): the tariff and NHS unit-cost files; unset, the
    # defaults in directory_data/reports/.
    report_tariff_file: Path | None = None
    report_unit_costs_file: Path | None = None

    # The public directory site (sitegen/). Where it is published (links in the sitemap,
    # JSON-LD and calendars start with it); default: served by this app at public_url.
    site_url: str | None = None
    site_name: str = "Community activities directory"
    # Where `petunia up` builds the site and serves it from; default: data_dir/site.
    site_dir: Path | None = None
    # Entries not confirmed for this many days are marked "may be out of date"...
    site_stale_after_days: int = Field(default=365, ge=1)
    # ...and after this many days they are left off the site, its search and the ORUK data.
    site_hide_after_days: int = Field(default=548, ge=1)
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

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'petunia.db').resolve()}"

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
            # Several worker processes may start at once: write aside, then link into
            # place (atomic, and refused if another got there first), so all share one.
            spare = path.with_name(f"{path.name}.{os.getpid()}.tmp")
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


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
