"""Typed settings, read once from the environment.

Every setting has one environment variable. Unset servers mean the embedded
defaults: qdrant-edge under the data directory, an embedded PostgreSQL, the
offline LLM backend.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import (
    AliasChoices, Field, SecretStr, ValidationError, ValidatorFunctionWrapHandler, field_validator, model_validator,
)
import pydantic_settings
from pydantic_settings import BaseSettings, SettingsConfigDict

from whisper_assets.core.days import FIRST_DAY, check_first_day

DEFAULT_DATA_DIR = Path(".whisper")
_log = logging.getLogger(__name__)
# (variable, absolute path) already announced by this process: one line each, at most.
_ANNOUNCED: set[tuple[str, str]] = set()
# > 0 inside `stores_not_opened()`: settings loaded then announce nothing (and remember nothing).
_QUIET = {"depth": 0}


class SettingsError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


def _absolute(path: Path) -> Path:
    """`~` expanded; a relative path joined to the current directory and normalised (symlinks kept)."""
    path = path.expanduser()
    return path if path.is_absolute() else Path(os.path.abspath(path))


@contextlib.contextmanager
def stores_not_opened() -> Iterator[None]:
    """Settings loaded inside say nothing about where the embedded stores are: for a command that
    never opens the stores the environment names (`whisper-assets eval` runs in a temporary
    workspace of its own). Settings loaded afterwards announce as usual."""
    _QUIET["depth"] += 1
    try:
        yield
    finally:
        _QUIET["depth"] -= 1


def _announce(variable: str, message: str, path: Path) -> None:
    if _QUIET["depth"]:
        return
    if (variable, str(path)) not in _ANNOUNCED:
        _ANNOUNCED.add((variable, str(path)))
        _log.warning("whisper_assets: %s", message)


class Settings(BaseSettings):
    """Settings from the environment (variables `WHISPER_<FIELD>` unless aliased), frozen.

    Paths: `data_dir` (WHISPER_DATA_DIR, default `.whisper`) and `qdrant_path` (WHISPER_QDRANT_PATH)
    are made absolute once, when the settings are loaded: a relative value (and `~`) is resolved
    against the current directory at that moment, so a process that changes directory later keeps
    its stores, and settings passed on (e.g. to a Dagster resource) name the same directory. Because
    a relative value silently means other, empty stores when a command runs from another directory,
    loading says once per process (one line on stderr, through the `whisper_assets.core.settings`
    logger, only while an embedded store uses that directory):

    - a relative WHISPER_DATA_DIR or WHISPER_QDRANT_PATH that was set: always, with the absolute path;
    - WHISPER_DATA_DIR unset (the default `.whisper`): only when that directory does not exist yet,
      i.e. new, empty stores are about to be created there. Running from the directory that holds
      the data stays quiet.

    An absolute path is used as given and never announced. A command that never opens these stores
    loads its settings inside `stores_not_opened()`, which silences the announcement.
    """

    model_config = SettingsConfigDict(
        env_prefix="WHISPER_", extra="ignore", frozen=True, populate_by_name=True
    )

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR, validate_default=True,
        description="Where embedded stores live; made absolute (against the current directory) at load.",
    )
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
        default=None, description="Embedded Qdrant directory; defaults to data_dir/qdrant; made absolute at load."
    )
    qdrant_local: Literal["edge", "client"] = "edge"  # no QDRANT_URL: qdrant-edge, or qdrant-client's local mode
    messages_collection: str = Field(default="messages", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    summaries_collection: str = Field(default="summaries", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    max_message_chars: int = Field(default=8000, ge=1, le=1_000_000)
    torch_threads: int = Field(default=2, ge=1, le=64)

    # The first bot x day partition (UTC): the hot path refuses earlier timestamps. Later means fewer
    # partitions, all of them real (README, "Partition coverage"); the default keeps LoCoMo's 2022 dates.
    first_day: date = Field(default=FIRST_DAY, description="YYYY-MM-DD, the first day partition (UTC)")

    # Automation (the Qdrant sensor and the maintenance schedules).
    # Defaults chosen for write -> enriched p99 <= 60 s under `whisper-assets dev` (README): a tick
    # every 10 s, a run once a bot-day's oldest pending message waited 15 s (a conversation lull).
    sensor_interval_s: int = Field(default=10, ge=1)
    sensor_debounce_s: float = Field(default=15.0, ge=0)
    sensor_pile_up: int = Field(default=200, ge=1)
    # A bot-day still pending this long after its run was requested (the run failed, e.g. an LLM
    # outage outlasting Dagster's run retries) is requested again.
    sensor_retry_s: float = Field(default=120.0, gt=0)
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

    @field_validator("first_day", mode="before")
    @classmethod
    def _first_day(cls, v: object) -> date:
        if isinstance(v, str):
            try:
                v = date.fromisoformat(v.strip())
            except ValueError:
                raise ValueError(f"{v[:40]!r} is not a YYYY-MM-DD date") from None
        if not isinstance(v, date) or isinstance(v, datetime):
            raise ValueError("must be a YYYY-MM-DD date")
        return check_first_day(v, datetime.now(timezone.utc).date())

    @field_validator("llm_prices")
    @classmethod
    def _prices(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        if any(p < 0 for pair in v.values() for p in pair):
            raise ValueError("prices must be >= 0")
        return v

    def llm_price(self, model: str) -> tuple[float, float] | None:
        return self.llm_prices.get(model)

    @field_validator("data_dir", "qdrant_path")
    @classmethod
    def _absolute_path(cls, v: Path | None) -> Path | None:
        return None if v is None else _absolute(v)

    @model_validator(mode="wrap")
    @classmethod
    def _announce_relative_paths(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Settings:
        """After a successful load, say where data lives when a relative path decided it (see the class doc)."""
        settings = handler(data)
        given = data if isinstance(data, dict) else {}
        embedded_pg = settings.database_url is None
        embedded_qdrant = settings.qdrant_url is None
        raw_dir = given.get("data_dir")
        if embedded_pg or (embedded_qdrant and settings.qdrant_path is None):
            if raw_dir is None and not settings.data_dir.exists():
                _announce("WHISPER_DATA_DIR", (
                    f"WHISPER_DATA_DIR is unset: new embedded stores will be created in {settings.data_dir} "
                    "(the default .whisper, under the current directory); set WHISPER_DATA_DIR to an absolute "
                    "path to use the same stores from any directory"), settings.data_dir)
            elif raw_dir is not None and not Path(str(raw_dir)).expanduser().is_absolute():
                _announce("WHISPER_DATA_DIR", (
                    f"WHISPER_DATA_DIR={raw_dir} is relative to the current directory: the embedded stores "
                    f"are in {settings.data_dir}; set an absolute path to use the same stores from any directory"),
                    settings.data_dir)
        raw_qdrant = given.get("qdrant_path")
        if embedded_qdrant and raw_qdrant is not None and settings.qdrant_path is not None \
                and not Path(str(raw_qdrant)).expanduser().is_absolute():
            _announce("WHISPER_QDRANT_PATH", (
                f"WHISPER_QDRANT_PATH={raw_qdrant} is relative to the current directory: the embedded Qdrant "
                f"is in {settings.qdrant_path}; set an absolute path to use the same store from any directory"),
                settings.qdrant_path)
        return settings

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
    except pydantic_settings.SettingsError as exc:  # a list or dict variable that is not JSON
        m = re.search(r'field "(\w+)"', str(exc))
        field = m.group(1) if m else "?"
        name = _env_name(field) if field in Settings.model_fields else field
        raise SettingsError(f"invalid settings: {name}: not valid JSON (a list is written like "
                            f'["alice", "bob"])') from None
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
