"""The real Dagster daemon end to end: the sensor notices messages written by another process
through the hot path, the queued run coordinator launches an enrichment run, the run worker
writes Postgres rows and marks the Qdrant points completed. The daemon, its code server, the
run workers and this test are separate processes sharing the embedded store by its file lock.

Dagster's instance lives in a temporary DAGSTER_HOME prepared as `whisper-assets dev` prepares
the default one (the packaged dagster.yaml, SQLite storage under DAGSTER_HOME).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

import dagster as dg
import pytest

from whisper_assets.defs.instance import instance_template
from whisper_assets.memory.hot_path import MessageIn, store_messages
from whisper_assets.defs.partitions import bots_partitions
from whisper_assets.core.settings import Settings
from whisper_assets_tests.enrichment_helpers import fast_settings, query, statuses

REPO = Path(__file__).resolve().parents[1]
UTC = timezone.utc
D1, D2 = date(2025, 11, 9), date(2025, 11, 10)
DEADLINE_S = 180


@pytest.fixture()
def settings(tmp_path, database_url) -> Iterator[Settings]:
    with fast_settings(tmp_path, database_url) as s:
        yield s


def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_template())
    return home


def stop(proc: subprocess.Popen) -> None:
    """Terminate the daemon's whole process group (daemon, code server, run workers)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left (run workers, code server)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def tail(path: Path, lines: int = 150) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no output)"
    return "\n".join(text.splitlines()[-lines:])


def test_daemon_sensor_launches_a_run_that_enriches_the_messages(tmp_path, settings):
    home = dagster_home(tmp_path)
    log = tmp_path / "daemon.log"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WHISPER_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "WHISPER_SENSOR_INTERVAL_S": "2",
        "WHISPER_SENSOR_DEBOUNCE_S": "0",
        "WHISPER_LLM_BACKEND": "offline",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for var in ("QDRANT_URL", "WHISPER_QDRANT_PATH", "DAGSTER_POSTGRES_URL"):
        env.pop(var, None)
    # Create the SQLite storages before the daemon starts: two processes initialising them at
    # once race on the schema ("table alembic_version already exists").
    instance = dg.DagsterInstance.from_config(str(home))
    daemon = Path(sys.executable).parent / "dagster-daemon"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(daemon), "run", "-w", str(REPO / "workspace.yaml")],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        # The hot path, from this process, while the daemon runs: one bot, two days (a range run).
        ids = store_messages([
            MessageIn("elena", "user_a", "user", "I work as a nurse at St. Mary's", datetime(2025, 11, 9, 9, tzinfo=UTC)),
            MessageIn("elena", "user_a", "bot", "That sounds demanding!", datetime(2025, 11, 9, 9, 1, tzinfo=UTC)),
            MessageIn("elena", "user_b", "user", "I have a dog named Biscuit", datetime(2025, 11, 10, 8, tzinfo=UTC)),
        ], settings)

        started = time.monotonic()
        succeeded: list[dg.DagsterRun] = []
        while time.monotonic() - started < DEADLINE_S:
            if proc.poll() is not None:
                pytest.fail(f"dagster-daemon exited with {proc.returncode}:\n{tail(log)}")
            runs = instance.get_runs(dg.RunsFilter(job_name="enrichment_job"))
            failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
            assert not failed, f"enrichment run failed: {[r.run_id for r in failed]}\n{tail(log)}"
            succeeded = [r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS]
            if succeeded and set(statuses(settings).values()) == {"completed"}:
                break
            time.sleep(2)
        else:
            runs = instance.get_runs(dg.RunsFilter(job_name="enrichment_job"))
            pytest.fail(f"no successful enrichment run within {DEADLINE_S} s; runs: "
                        f"{[(r.run_id[:8], r.status.value, r.tags) for r in runs]}\n{tail(log)}")
        elapsed = time.monotonic() - started

        # The sensor added the bot and asked for one run over both days, with a run key.
        assert instance.get_dynamic_partitions(bots_partitions.name) == ["elena"]
        run = succeeded[0]
        assert run.tags["bot"] == "elena"
        assert (run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end")) \
            == (f"elena|{D1}", f"elena|{D2}")
        assert run.tags.get("dagster/sensor_name") == "qdrant_pending_sensor"
        assert run.tags.get("dagster/run_key", "").startswith(f"elena|{D1}|{D2}|")

        # Postgres rows for the partitions, and every point completed by that run.
        facts = query(settings, "SELECT day, user_id, fact_content FROM fact_observations ORDER BY day, fact_content")
        assert ("works as a nurse" in {f for _, _, f in facts}) and {d for d, _, _ in facts} == {D1, D2}, facts
        summaries = query(settings, "SELECT day, user_id FROM conversation_summaries ORDER BY day")
        assert summaries == [(D1, "user_a"), (D2, "user_b")]
        assert query(settings, "SELECT DISTINCT run_id, status FROM enrichment_metadata") == [(run.run_id, "success")]
        assert statuses(settings) == dict.fromkeys(ids, "completed")

        # Later ticks request nothing more for the done work.
        time.sleep(6)
        runs = instance.get_runs(dg.RunsFilter(job_name="enrichment_job"))
        assert len(runs) == 1, [(r.run_id[:8], r.status.value) for r in runs]
        print(f"write -> completed through the daemon in {elapsed:.1f} s")
    except BaseException:
        print(tail(log), file=sys.stderr)
        raise
    finally:
        stop(proc)
        instance.dispose()
