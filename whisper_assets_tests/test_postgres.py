import os
import subprocess
import sys

import sqlalchemy as sa

from whisper_assets.stores.postgres import migrations, upgrade

SEED_TABLES = {"user_facts", "conversation_summaries", "enrichment_metadata"}
ADDED_TABLES = {"fact_observations", "pending_messages", "summary_embeddings", "schema_migrations"}


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return tables


def test_upgrade_twice_applies_once(empty_database_url):
    engine = sa.create_engine(empty_database_url, poolclass=sa.pool.NullPool)
    first = upgrade(engine)
    assert first == [m.version for m in migrations()]
    assert upgrade(engine) == []
    with engine.connect() as conn:
        recorded = conn.execute(sa.text("SELECT version FROM schema_migrations ORDER BY version")).scalars().all()
        uniques = conn.execute(sa.text(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'u'"
        )).all()
    engine.dispose()
    assert recorded == first
    assert SEED_TABLES | ADDED_TABLES <= _tables(empty_database_url)
    assert ("user_facts", "UNIQUE (user_id, bot_name, fact_content)") in uniques
    assert ("conversation_summaries", "UNIQUE (user_id, bot_name, start_timestamp, end_timestamp)") in uniques


def test_concurrent_upgrades_from_two_processes(empty_database_url):
    env = {**os.environ, "DATABASE_URL": empty_database_url.replace("postgresql+psycopg2", "postgresql")}
    cmd = [sys.executable, "-m", "whisper_assets", "db", "upgrade"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    applied = sorted(out for out, _ in outs)
    # One process applied everything, the other found nothing left to do.
    assert applied[0].startswith("applied 0 migration") and "001" in applied[1], applied
    engine = sa.create_engine(empty_database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM schema_migrations")).scalar()
    engine.dispose()
    assert count == len(migrations())


def test_constraints_refuse_bad_rows(database_url):
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    bad = sa.text(
        "INSERT INTO user_facts (user_id, bot_name, fact_content, category, confidence, mention_count,"
        " first_seen, last_seen, source_message_ids, model, prompt_version)"
        " VALUES ('u', 'b', 'f', 'occupation', 1.5, 1, now(), now(), '{}', 'm', 'p')"
    )
    with engine.connect() as conn:
        try:
            conn.execute(bad)
            raised = False
        except sa.exc.IntegrityError:
            raised = True
    engine.dispose()
    assert raised


def test_get_engine_migrates_a_fresh_database(empty_database_url, tmp_path):
    # Dagster run workers reach Postgres only through get_engine: a fresh database (such as the
    # embedded one under `dagster dev`) must never be used unmigrated.
    from whisper_assets.core.settings import load_settings
    from whisper_assets.stores.postgres import get_engine

    get_engine(load_settings(data_dir=tmp_path, database_url=empty_database_url))
    assert SEED_TABLES | ADDED_TABLES <= _tables(empty_database_url)


# -- the embedded PostgreSQL (pgserver): quiet start, clean stop --------------------------------------

import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Iterator  # noqa: E402

import psutil  # noqa: E402
import pytest  # noqa: E402

CLI = str(Path(sys.executable).with_name("whisper-assets"))


def embedded_env(data_dir: Path) -> dict[str, str]:
    """The embedded defaults (no DATABASE_URL: never the shared server), Python's default warning
    filters, and no XDG_RUNTIME_DIR, as under a service manager, a container or cron."""
    env = {k: v for k, v in os.environ.items() if k not in (
        "DATABASE_URL", "QDRANT_URL", "QDRANT_API_KEY", "WHISPER_QDRANT_PATH", "XDG_RUNTIME_DIR", "PYTHONWARNINGS")}
    env["WHISPER_DATA_DIR"] = str(data_dir)
    return env


def postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def embedded_stopped(pgdata: Path, pid: int | None, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not (pgdata / "postmaster.pid").exists() and (pid is None or not psutil.pid_exists(pid)):
            return True
        time.sleep(0.2)
    return False


@pytest.fixture()
def data_dir() -> Iterator[Path]:
    """A data directory whose embedded PostgreSQL, if a test leaves one running, is stopped after it.

    Not under tmp_path: run as root, pgserver starts PostgreSQL as its own `pgserver` user after
    opening every parent directory to it, and each pytest session resets /tmp/pytest-of-<user> to
    0700 -- a concurrent session would lock the server (and pg_ctl) out of its directory mid-test.
    """
    root = Path(tempfile.mkdtemp(prefix="whisper-embedded-pg-"))
    yield root / "w"
    pid = postmaster_pid(root / "w" / "pgdata")
    if pid is not None and psutil.pid_exists(pid):
        server = psutil.Process(pid)
        if str(root) in " ".join(server.cmdline()):
            server.terminate()
            server.wait(30)
    shutil.rmtree(root, ignore_errors=True)


def test_cli_on_the_embedded_postgres_prints_no_runtime_dir_warning_and_stops_it(data_dir):
    # Any command that opens the embedded PostgreSQL imports pgserver, which used to print
    # platformdirs' "RuntimeDirWarning: XDG_RUNTIME_DIR is not set" (two lines) on every run.
    result = subprocess.run([CLI, "facts", "--bot", "x", "--user", "y"], env=embedded_env(data_dir),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 2, result
    assert "RuntimeDirWarning" not in result.stderr and "XDG_RUNTIME_DIR" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == ["error: unknown bot 'x': nothing is stored for it"]
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    assert embedded_stopped(data_dir / "pgdata", None, timeout_s=10)


def test_a_holder_killed_outright_does_not_keep_the_embedded_postgres_running(data_dir):
    pgdata = data_dir / "pgdata"
    first = subprocess.run([CLI, "facts", "--bot", "x", "--user", "y"], env=embedded_env(data_dir),
                           capture_output=True, text=True, timeout=180)
    assert first.returncode == 2 and embedded_stopped(pgdata, None, timeout_s=10), first
    # A process that held the server and was SIGKILLed stays in pgserver's list of holders, and
    # pgserver then stops the server only when the list is down to the exiting process.
    dead = subprocess.Popen(["true"])
    dead.wait()
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead.pid]))
    second = subprocess.run([CLI, "facts", "--bot", "x", "--user", "y"], env=embedded_env(data_dir),
                            capture_output=True, text=True, timeout=180)
    assert second.returncode == 2, second
    assert embedded_stopped(pgdata, None, timeout_s=10), "the embedded PostgreSQL was left running"
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_stopped_by_sigterm_stops_the_embedded_postgres(data_dir):
    port = _free_port()
    proc = subprocess.Popen([CLI, "serve", "--port", str(port)], env=embedded_env(data_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300  # the embedding model loads first, on a shared machine
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "serve did not answer /healthz"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    assert json.loads(response.read())["database"] == "ok"
                    break
            except OSError:
                time.sleep(0.5)
        pid = postmaster_pid(data_dir / "pgdata")
        assert pid is not None and psutil.pid_exists(pid)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # A clean exit (SystemExit from the signal), not death by the signal (-15), which skips atexit.
    assert proc.returncode == 128 + signal.SIGTERM, output
    assert "Application shutdown complete" in output
    assert embedded_stopped(data_dir / "pgdata", pid), f"the embedded PostgreSQL outlived `serve`:\n{output}"
    assert "RuntimeDirWarning" not in output
