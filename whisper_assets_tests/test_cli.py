"""CLI argument handling: bad input gets a clear error and a non-zero exit, never a traceback."""

import pytest
from typer.testing import CliRunner

from whisper_assets.interfaces.cli.app import app
from whisper_assets.memory.hot_path import store_message
from whisper_assets.core.settings import load_settings

runner = CliRunner()


@pytest.fixture()
def env(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    from datetime import datetime, timezone

    store_message("elena", "user_alice", "user", "I live in Portland",
                  datetime(2026, 11, 9, 8, tzinfo=timezone.utc), settings=load_settings())


@pytest.mark.parametrize(
    "args, needle",
    [
        (["enrich", "--bot", "nobody"], "unknown bot 'nobody'"),
        (["enrich", "--bot", "bad|name"], "invalid bot name"),
        (["enrich", "--day", "2026-13-01"], "is not a date"),
        (["enrich", "--day", "1999-01-01"], "outside the partitions"),
        (["enrich", "--from", "2026-11-10", "--to", "2026-11-01"], "before --from"),
        (["enrich", "--from", "2026-11-10"], "go together"),
        (["enrich", "--day", "2026-11-09", "--from", "2026-11-01", "--to", "2026-11-02"], "either --day"),
    ],
)
def test_bad_enrich_arguments(env, args, needle):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.split())


def test_invalid_setting_is_named(monkeypatch):
    monkeypatch.setenv("WHISPER_MAX_MESSAGE_CHARS", "many")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2 and "WHISPER_MAX_MESSAGE_CHARS" in result.output


DOWN = "postgresql://nobody@127.0.0.1:1/nothing"  # nothing listens on port 1


def _one_error_line(result, needle):
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert errors and needle in errors[-1], result.output
    assert "Traceback" not in result.output and len(errors) == 1, result.output


@pytest.mark.parametrize("args", [
    ["facts", "--bot", "elena", "--user", "user_alice"],
    ["forget", "--bot", "elena", "--user", "user_alice"],
    ["db", "upgrade"],
    ["ask", "--bot", "elena", "--user", "user_alice", "where do I live?"],
    ["enrich"],
])
def test_postgres_down_is_one_clear_line(env, monkeypatch, args):
    monkeypatch.setenv("DATABASE_URL", DOWN)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    _one_error_line(result, "cannot reach PostgreSQL at 127.0.0.1:1: connection refused")


def test_debug_shows_the_traceback(env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", DOWN)
    result = runner.invoke(app, ["--debug", "facts", "--bot", "elena", "--user", "user_alice"])
    assert result.exit_code != 0
    assert result.exception is not None and not isinstance(result.exception, SystemExit)
    assert "127.0.0.1" in str(result.exception)


@pytest.mark.parametrize("args, needle", [
    (["ask", "--bot", "elena", "--user", "user_alice", "--now", "0001-01-01T00:00:00+14:00", "hi"], "out of range"),
    (["ask", "--bot", "elena", "--user", "user_alice", "--now", "9999-12-31T23:59:59-14:00", "hi"], "out of range"),
    (["prune", "--ttl-days", "100000000"], "reaches before the year 1"),
    (["forget", "--bot", "elena", "--user", ""], "invalid user id"),
    (["forget", "--bot", "elena", "--user", "   "], "invalid user id"),
])
def test_bad_values_exit_2_with_one_line(env, args, needle):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    _one_error_line(result, needle)


def _failed_check_events():
    """A real Dagster run whose blocking check fails with FACT_CONFIDENCE's metadata."""
    import dagster as dg

    @dg.asset(name="extracted_facts", check_specs=[dg.AssetCheckSpec("FACT_CONFIDENCE", asset="extracted_facts",
                                                                    blocking=True)])
    def facts_asset():
        yield dg.Output(1)
        yield dg.AssetCheckResult(check_name="FACT_CONFIDENCE", passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"facts": 4, "share_below_threshold": 0.75, "threshold": 0.5,
                                            "max_share": 0.5, "out_of_range": 0})

    @dg.asset(deps=[facts_asset])
    def downstream():
        return 2

    result = dg.materialize([facts_asset, downstream], raise_on_error=False)
    assert not result.success
    return result.all_events


def test_failed_blocking_check_is_read_from_the_run_events():
    from whisper_assets.defs.runs import failed_check_messages

    messages = failed_check_messages(_failed_check_events())
    assert messages == [
        "check FACT_CONFIDENCE on extracted_facts failed: share_below_threshold 0.75 (threshold 0.5); "
        "low = confidence under 0.5. What to do: too many facts were extracted with low confidence (or outside "
        "[0,1]): check the LLM backend and model, then re-run with `whisper-assets backfill`; to accept them, "
        "raise WHISPER_CHECK_MAX_LOW_SHARE or lower WHISPER_CHECK_MIN_CONFIDENCE"]


def test_enrich_prints_a_failed_check_without_stack_traces(env, monkeypatch):
    from datetime import date

    import whisper_assets.defs.runs as runs
    from whisper_assets.defs.runs import RunOutcome, failed_check_messages

    error = " | ".join(failed_check_messages(_failed_check_events()))
    monkeypatch.setattr(runs, "materialize_days", lambda days, **kw: [
        RunOutcome(("elena",), date(2026, 11, 9), date(2026, 11, 9), "0123456789", False, error)])
    result = runner.invoke(app, ["enrich"])
    out = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "run 01234567 failed: check FACT_CONFIDENCE on extracted_facts failed: share_below_threshold 0.75 " \
           "(threshold 0.5)" in out
    assert "What to do:" in out and "Traceback" not in result.output
