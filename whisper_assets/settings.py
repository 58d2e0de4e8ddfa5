"""Typed settings, read once from the environment.

Every setting has one environment variable. Unset servers mean the embedded
defaults: qdrant-edge under the data directory, an embedded PostgreSQL, the
offline LLM backend.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WHISPER_", extra="ignore", frozen=True, populate_by_name=True
    )

    data_dir: Path = Field(default=Path(".whisper"), description="Where embedded stores live.")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL"),
        description="PostgreSQL URL; unset starts an embedded PostgreSQL under data_dir.",
    )
    qdrant_url: str | None = Field(default=None, validation_alias=AliasChoices("QDRANT_URL"))
    qdrant_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("QDRANT_API_KEY")
    )
    qdrant_path: Path | None = Field(
        default=None, description="Embedded Qdrant directory; defaults to data_dir/qdrant."
    )
    messages_collection: str = Field(default="messages", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    summaries_collection: str = Field(default="summaries", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    max_message_chars: int = Field(default=8000, ge=1, le=1_000_000)
    torch_threads: int = Field(default=2, ge=1, le=64)

    # Automation (the Qdrant sensor and the maintenance schedules).
    sensor_interval_s: int = Field(default=30, ge=1)
    sensor_debounce_s: float = Field(default=120.0, ge=0)
    sensor_pile_up: int = Field(default=200, ge=1)
    fast_track_users: list[str] = Field(default_factory=list, description="JSON list of user ids")
    ttl_days: int = Field(default=90, ge=1)
    freshness_sla_s: float = Field(default=900.0, gt=0)
    # Asset checks: a fact under check_min_confidence is "low"; more than check_max_low_share
    # of a run's facts being low is a blocking error.
    check_min_confidence: float = Field(default=0.5, ge=0, le=1)
    check_max_low_share: float = Field(default=0.5, ge=0, le=1)

    llm_backend: Literal["offline", "openai"] = "offline"
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY")
    )
    llm_model: str = "gpt-4o-mini"
    llm_concurrency: int = Field(default=4, ge=1, le=256)
    llm_requests_per_minute: int = Field(default=600, ge=1)
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(default=4, ge=0, le=20)
    # USD per million tokens (input, output) by model, as JSON in WHISPER_LLM_PRICES;
    # a model missing here is accounted at zero cost and flagged in the run metadata.
    llm_prices: dict[str, tuple[float, float]] = Field(
        default={
            "gpt-4o-mini": (0.15, 0.60),
            "gpt-4.1-mini": (0.40, 1.60),
            "gpt-4.1-nano": (0.10, 0.40),
            "gpt-4o": (2.50, 10.00),
        }
    )

    @field_validator("llm_prices")
    @classmethod
    def _prices(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        if any(p < 0 for pair in v.values() for p in pair):
            raise ValueError("prices must be >= 0")
        return v

    def llm_price(self, model: str) -> tuple[float, float] | None:
        return self.llm_prices.get(model)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return v.replace("postgres://", "postgresql://", 1)

    @field_validator("qdrant_url", "openai_base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")

    @property
    def resolved_qdrant_path(self) -> Path:
        return (self.qdrant_path or self.data_dir / "qdrant").resolve()

    @property
    def pgdata_path(self) -> Path:
        return (self.data_dir / "pgdata").resolve()


def _env_name(field: str) -> str:
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"WHISPER_{field.upper()}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (plus explicit overrides, for tests and the CLI)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = _env_name(field) if field in Settings.model_fields else field
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (read on first use, never at import time)."""
    return load_settings()
