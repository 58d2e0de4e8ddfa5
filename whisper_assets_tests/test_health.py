"""`whisper-assets health`: each check's verdict on real stores, a real Dagster instance, and the CLI's JSON."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest
from dagster._daemon.types import DaemonHeartbeat
from typer.testing import CliRunner

from whisper_assets.core.settings import load_settings
from whisper_assets.defs.health import HEARTBEAT_MAX_AGE_S, check_daemon, check_failed_runs
from whisper_assets.interfaces.cli.app import app
from whisper_assets.interfaces.cli.health import CHECKS, run_checks
from whisper_assets.memory.health import (
    Check, check_model, check_postgres, check_qdrant_and_pending, guarded, mask_secrets, pending_check,
)
from whisper_assets.memory.hot_path import close_shared_writers, store_message

runner = CliRunner()
SECRET = "s3cr3t-pw"


@pytest.mark.parametrize("text, expected", [
    (f"postgresql+psycopg2://worker:{SECRET}@db:5432/whisper", "postgresql+psycopg2://worker:***@db:5432/whisper"),
    (f"http://admin:{SECRET}@qdrant:6333", "http://admin:***@qdrant:6333"),
    (f"host=db password={SECRET} user=x", "host=db password=*** user=x"),
    ("postgresql://worker@db/whisper", "postgresql://worker@db/whisper"),
])
def test_mask_secrets(text, expected):
    assert mask_secrets(text) == expected


def test_pending_against_the_sla():
    assert pending_check(0, 0.0, 900).status == "ok"
    assert pending_check(3, 899.0, 900).status == "ok"
    late = pending_check(3, 901.0, 900)
    assert late.status == "fail" and "over the freshness SLA of 900 s" in late.reason


def test_guarded_turns_an_error_into_one_masked_line():
    def broken() -> Check:
        raise RuntimeError(f"cannot use postgresql://u:{SECRET}@h/db\nsecond line")

    [check] = guarded("postgres", broken)
    assert check.status == "fail" and check.reason == "RuntimeError: cannot use postgresql://u:***@h/db"


def test_postgres_ok_and_unreachable(settings):
    ok = check_postgres(settings)
    assert ok.status == "ok" and ok.details["migration"] == ok.details["latest_migration"], ok
    down = check_postgres(load_settings(data_dir=settings.data_dir,
                                        database_url=f"postgresql://worker:{SECRET}@127.0.0.1:1/x"))
    assert down.status == "fail" and "cannot reach PostgreSQL at 127.0.0.1:1" in down.reason, down
    assert SECRET not in json.dumps(down.as_dict()) and "worker:***@" in down.details["url"]


def test_qdrant_and_oldest_pending(settings):
    store_message("elena", "user_a", "user", "I started a pottery class", datetime.now(timezone.utc),
                  settings=settings)
    close_shared_writers()
    qdrant, pending = check_qdrant_and_pending(settings)
    assert qdrant.status == "ok" and qdrant.details["bots"] == 1, qdrant
    assert pending.status == "ok" and pending.details["pending"] == 1, pending
    later = datetime.now(timezone.utc) + timedelta(seconds=settings.freshness_sla_s + 60)
    _, late = check_qdrant_and_pending(settings, later)
    assert late.status == "fail" and late.details["oldest_age_s"] > settings.freshness_sla_s, late


def test_model_embeds(settings):
    check = check_model(settings)
    assert check.status == "ok" and check.details["dim"] == 384, check


def test_daemon_heartbeats(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert check_daemon(instance).status == "fail"
        required = instance.get_required_daemon_types()
        now = time.time()
        for daemon_type in required:
            instance.add_daemon_heartbeat(DaemonHeartbeat(now - 5, daemon_type, None, None))
        assert check_daemon(instance).status == "ok"
        stale = required[0]
        instance.add_daemon_heartbeat(DaemonHeartbeat(now - HEARTBEAT_MAX_AGE_S - 10, stale, None, None))
        check = check_daemon(instance)
        assert check.status == "fail" and check.reason.endswith(stale), check


@dg.op
def _fails() -> None:
    raise ValueError("boom")


@dg.job
def _failing_job() -> None:
    _fails()


def test_failed_runs_of_the_last_day(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert check_failed_runs(instance).status == "ok"
        assert not _failing_job.execute_in_process(instance=instance, raise_on_error=False).success
        check = check_failed_runs(instance)
        assert check.status == "fail" and check.details["failed"] == 1, check
        tomorrow = datetime.now(timezone.utc) + timedelta(days=1, minutes=1)
        assert check_failed_runs(instance, tomorrow).status == "ok"


def test_every_check_reported_in_order(settings, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    checks = run_checks(settings)
    assert [c.name for c in checks] == list(CHECKS)
    by_name = {c.name: c for c in checks}
    assert by_name["daemon"].status == "fail" and "no Dagster instance" in by_name["daemon"].reason
    assert all(by_name[n].status == "ok" for n in ("postgres", "qdrant", "pending", "model")), checks


def test_cli_prints_json_and_exits_1_without_secrets(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("DATABASE_URL", f"postgresql://worker:{SECRET}@127.0.0.1:1/x")
    result = runner.invoke(app, ["health", "--check", "postgres", "--check", "qdrant"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["healthy"] is False and set(report["checks"]) == {"postgres", "qdrant"}
    assert report["checks"]["postgres"]["status"] == "fail" and report["checks"]["qdrant"]["status"] == "ok"
    assert SECRET not in result.output


def test_cli_ok_and_bad_arguments(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = runner.invoke(app, ["health", "--check", "postgres"])
    assert result.exit_code == 0 and json.loads(result.output)["healthy"] is True, result.output
    bad = runner.invoke(app, ["health", "--check", "disk"])
    assert bad.exit_code == 2 and "unknown check 'disk'" in bad.output and "Traceback" not in bad.output
    monkeypatch.setenv("WHISPER_TTL_DAYS", "forever")
    invalid = runner.invoke(app, ["health"])
    assert invalid.exit_code == 1 and json.loads(invalid.output)["checks"]["settings"]["status"] == "fail"
