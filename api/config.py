"""Configuration, read once from the environment (``PETUNIA_*``, ``DATABASE_URL``...)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
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

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'petunia.db').resolve()}"

    @property
    def production(self) -> bool:
        return self.mode is Mode.PRODUCTION


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
