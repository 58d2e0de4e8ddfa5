"""PostgreSQL: the engine (a server via DATABASE_URL, else an embedded PostgreSQL) and migrations."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from psycopg2.extras import register_uuid
from sqlalchemy.engine import Engine

from whisper_assets.settings import Settings

# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_ID = 0x5748_4953  # "WHIS"
_MIGRATION_RE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
register_uuid()  # uuid and uuid[] columns come back as uuid.UUID, not '{...}' strings


def sql_dir() -> Path:
    """sql/ ships inside the wheel; an editable install reads the checkout's top-level sql/."""
    packaged = Path(__file__).resolve().parents[1] / "sql"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "sql"


@functools.cache
def _embedded_uri(pgdata: Path) -> str:
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    # 'stop': the server stops when the last process using it exits.
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return server.get_uri()


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL: DATABASE_URL, or the embedded server under the data directory."""
    url = settings.database_url or _embedded_uri(settings.pgdata_path)
    return re.sub(r"^postgresql(\+\w+)?://", "postgresql+psycopg2://", url)


_ENGINES: dict[str, Engine] = {}
_MIGRATED: set[str] = set()


def get_engine(settings: Settings) -> Engine:
    """One pooled engine per database per process, migrated on first use.

    Every entry point (CLI, Dagster run workers, the sensor, the API) reaches the database through
    here, so a fresh database (e.g. the embedded one) is never used unmigrated; `upgrade` is
    idempotent and safe when several processes start at once.
    """
    url = database_url(settings)
    if url not in _ENGINES:
        # UTC sessions: timestamps read back (summary windows, ids built from them) never shift.
        _ENGINES[url] = sa.create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"options": "-c timezone=UTC"}
        )
    engine = _ENGINES[url]
    if url not in _MIGRATED:
        try:
            upgrade(engine)
            _MIGRATED.add(url)
        except sa.exc.OperationalError:
            pass  # server unreachable: callers meet the error on use (e.g. a 503); retried next time
    return engine


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _MIGRATED.clear()


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path


def migrations(directory: Path | None = None) -> list[Migration]:
    found = []
    for path in sorted((directory or sql_dir()).glob("*.sql")):
        match = _MIGRATION_RE.match(path.name)
        if not match:
            raise RuntimeError(f"migration file {path.name} does not match NNN_name.sql")
        found.append(Migration(match.group(1), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions in {directory or sql_dir()}")
    return found


def upgrade(engine: Engine, directory: Path | None = None) -> list[str]:
    """Apply pending migrations in order; returns the versions applied.

    One transaction under a transaction-level advisory lock, so concurrent upgrades
    serialize and the second one finds nothing left to do.
    """
    applied_now = []
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        done = set(conn.execute(sa.text("SELECT version FROM schema_migrations")).scalars())
        for migration in migrations(directory):
            if migration.version in done:
                continue
            conn.exec_driver_sql(migration.path.read_text())
            conn.execute(
                sa.text("INSERT INTO schema_migrations (version, name) VALUES (:v, :n)"),
                {"v": migration.version, "n": migration.name},
            )
            applied_now.append(migration.version)
    return applied_now
