"""PostgreSQL: the engine (a server via DATABASE_URL, else an embedded PostgreSQL) and migrations."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import signal
import threading
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import Iterator

import sqlalchemy as sa
from psycopg2.extras import register_uuid
from sqlalchemy.engine import Engine

from whisper_assets.core.settings import Settings

# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_ID = 0x5748_4953  # "WHIS"
_MIGRATION_RE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
register_uuid()  # uuid and uuid[] columns come back as uuid.UUID, not '{...}' strings


def sql_dir() -> Path:
    """sql/ ships inside the wheel; an editable install reads the checkout's top-level sql/."""
    packaged = Path(__file__).resolve().parents[1] / "sql"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "sql"


def import_pgserver() -> ModuleType:
    """`import pgserver`, without platformdirs' RuntimeDirWarning when XDG_RUNTIME_DIR is unset.

    pgserver picks its lock directory at import, from `platformdirs.user_runtime_path`, which warns
    when XDG_RUNTIME_DIR is unset -- the usual case outside a desktop login (services, containers,
    cron, ssh without a session) -- and then uses its documented fallback, `runtime-<uid>` in the
    temporary directory, which is all pgserver needs. Only that cause is silenced, only around this
    import: an XDG_RUNTIME_DIR that is set but unsafe still warns.
    """
    import platformdirs

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"XDG_RUNTIME_DIR is not set",
            category=getattr(platformdirs, "RuntimeDirWarning", UserWarning),
        )
        import pgserver
    return pgserver


def _forget_dead_holders(pgdata: Path) -> None:
    """Drop processes that no longer run from pgserver's list of the server's holders.

    pgserver (cleanup_mode 'stop') stops the server when the last process in
    `pgdata/.handle_pids.json` exits, from an atexit hook. A holder killed outright (SIGKILL, the
    OOM killer) never leaves that list, and then no later process ever stops the server. Run at
    start and again at exit (before pgserver's own hook), under pgserver's lock.
    """
    import psutil
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    with PostgresServer._lock:
        holders = DiskList(pgdata / ".handle_pids.json")
        pids = holders.get()
        alive = [pid for pid in pids if pid == os.getpid() or psutil.pid_exists(pid)]
        if alive != pids:
            holders.put(alive)


@functools.cache
def _embedded_uri(pgdata: Path) -> str:
    pgserver = import_pgserver()

    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata = pgdata.resolve()
    _forget_dead_holders(pgdata)
    # 'stop': the server stops when the last process using it exits (pgserver's atexit hook; see
    # `stop_embedded_postgres_on_sigterm` for processes ended by a signal).
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    atexit.register(_forget_dead_holders, pgdata)  # runs before pgserver's hook, registered earlier
    return server.get_uri()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def stop_embedded_postgres_on_sigterm() -> None:
    """Make SIGTERM end this process like an exception (SystemExit, exit code 143), so `finally`
    blocks and atexit hooks run -- among them pgserver's, which stops the embedded PostgreSQL this
    process started. Python's default for SIGTERM ends the process at once and skips them.

    uvicorn handles SIGTERM itself for a graceful shutdown, then restores the handler it found and
    raises the signal again: with this handler installed first, that second delivery exits cleanly.
    Only from the main thread, and only over the default action (a handler someone else installed
    is left alone).
    """
    if threading.current_thread() is threading.main_thread() \
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


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
    with engine.connect() as conn:  # all applied: no DDL, so a role without it (deploy/worker_role.sql) works
        if conn.execute(sa.text("SELECT to_regclass('schema_migrations') IS NOT NULL")).scalar() and {
                m.version for m in migrations(directory)} <= set(conn.execute(sa.text("SELECT version FROM schema_migrations")).scalars()):
            return applied_now
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


class ScratchDatabaseError(RuntimeError):
    """The server refused to create a scratch database; the message names the host and why."""


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[tuple[str, str]]:
    """A new, empty database `<prefix><hex>` on the server of `server_url`, dropped (WITH FORCE) on
    exit. Yields its URL and a description (`scratch database <name> on <host>:<port>`)."""
    url = sa.engine.make_url(re.sub(r"^postgres://", "postgresql://", server_url))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg2")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    try:
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise ScratchDatabaseError(f"({url.host}): {reason}") from None
        try:
            yield (url.set(database=name).render_as_string(hide_password=False),
                   f"scratch database {name} on {url.host or 'localhost'}:{url.port or 5432}")
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def stop_embedded_postgres(pgdata: Path) -> None:
    """Stop the embedded PostgreSQL of `pgdata` now (not at exit), if this process started one."""
    try:
        import pgserver
        from pgserver.postgres_server import PostgresServer
    except ImportError:  # pragma: no cover
        return
    server = PostgresServer._instances.get(pgdata.resolve())
    if server is None:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    server.cleanup()


_CONNECT_FAILURE_RE = re.compile(
    r'connection to server (?:at "(?P<host>[^"]+)"(?: \([^)]*\))?, port (?P<port>\d+)|on socket "(?P<socket>[^"]+)")'
    r" failed: (?P<why>[^\n]*)"
)


def connection_failure(exc: BaseException) -> str | None:
    """One line for an exception that means PostgreSQL cannot be reached ("cannot reach PostgreSQL at
    127.0.0.1:1: connection refused"), or None for any other exception. Reads psycopg2's message,
    directly or wrapped by SQLAlchemy (and by `__cause__` chains)."""
    seen = 0
    while exc is not None and seen < 10:
        orig = getattr(exc, "orig", None)
        for candidate in (orig, exc):
            if candidate is None:
                continue
            m = _CONNECT_FAILURE_RE.search(str(candidate))
            if m:
                where = m["socket"] or f"{m['host']}:{m['port']}"
                why = m["why"].strip().rstrip(".")
                return f"cannot reach PostgreSQL at {where}: {why[:1].lower() + why[1:] or 'connection failed'}"
            if type(candidate).__name__ == "OperationalError" and "could not translate host name" in str(candidate):
                return f"cannot reach PostgreSQL: {str(candidate).splitlines()[0].strip()}"
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return None
