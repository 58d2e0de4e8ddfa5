"""CLI edge cases: every bad day option is one `error: ...` line and exit 2 (no usage box); the
notice about an unset WHISPER_DATA_DIR only for commands that open the default embedded stores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from whisper_assets.core.days import latest_day
from whisper_assets.interfaces.cli.app import app

runner = CliRunner()


def one_error_line(result, *needles: str) -> str:
    """The output is exactly one non-empty line, `error: ...`, holding every needle; no usage box."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Usage:" not in result.output and "╭" not in result.output and "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], result.output
    return lines[0]


@pytest.fixture()
def stores(tmp_path, monkeypatch, database_url):
    """Stores of this test's own (nothing stored): the day options are judged before they are opened."""
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("WHISPER_FIRST_DAY", raising=False)


# -- 1. day options ---------------------------------------------------------------------------------

TOO_LATE = (latest_day(datetime.now(timezone.utc)) + timedelta(days=1)).isoformat()


@pytest.mark.parametrize("args, needles", [
    # before the first partition day: name the day and the variable
    (["backfill", "--from", "2021-12-01", "--to", "2021-12-05"],
     ["--from 2021-12-01", "before the first partition day 2022-01-01", "WHISPER_FIRST_DAY"]),
    (["backfill", "--from", "2022-01-01", "--to", "2021-12-31"], ["--to 2021-12-31", "WHISPER_FIRST_DAY"]),
    (["enrich", "--day", "2021-12-31"], ["--day 2021-12-31", "2022-01-01", "WHISPER_FIRST_DAY"]),
    (["enrich", "--from", "1999-01-01", "--to", "2022-01-02"], ["--from 1999-01-01", "WHISPER_FIRST_DAY"]),
    # after the last partition day (tomorrow, UTC)
    (["backfill", "--from", "2022-01-01", "--to", TOO_LATE], [f"--to {TOO_LATE}", "after the last partition day"]),
    (["enrich", "--day", TOO_LATE], [f"--day {TOO_LATE}", "after the last partition day"]),
    # not a date
    (["backfill", "--from", "nope", "--to", "2022-01-05"], ["--from 'nope' is not a date", "YYYY-MM-DD"]),
    (["backfill", "--from", "2022-01-01", "--to", "2022-02-30"], ["--to '2022-02-30' is not a date"]),
    (["enrich", "--day", "yesterday"], ["--day 'yesterday' is not a date"]),
    # the end before the start
    (["backfill", "--from", "2022-01-05", "--to", "2022-01-01"], ["--to 2022-01-01 is before --from 2022-01-05"]),
    (["enrich", "--from", "2022-01-03", "--to", "2022-01-01"], ["--to 2022-01-01 is before --from 2022-01-03"]),
    # the other misuses of the same options
    (["enrich", "--from", "2022-01-03"], ["--from and --to go together"]),
    (["enrich", "--to", "2022-01-03"], ["--from and --to go together"]),
    (["enrich", "--day", "2022-01-03", "--from", "2022-01-01", "--to", "2022-01-02"], ["either --day or --from/--to"]),
    (["backfill", "--bot", "bad|name", "--from", "2022-01-01", "--to", "2022-01-02"], ["invalid bot name"]),
    (["backfill", "--bot", "nobody", "--from", "2022-01-01", "--to", "2022-01-02"], ["unknown bot 'nobody'"]),
])
def test_bad_day_options_are_one_line_exit_2(stores, args, needles):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    one_error_line(result, *needles)


def test_the_first_day_named_is_the_settings_one(stores, monkeypatch):
    monkeypatch.setenv("WHISPER_FIRST_DAY", "2024-03-01")
    result = runner.invoke(app, ["backfill", "--from", "2024-02-28", "--to", "2024-03-02"])
    assert result.exit_code == 2, result.output
    one_error_line(result, "--from 2024-02-28", "before the first partition day 2024-03-01", "WHISPER_FIRST_DAY")


# -- 2. the WHISPER_DATA_DIR notice ----------------------------------------------------------------

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402

from whisper_assets.core import settings as settings_module  # noqa: E402
from whisper_assets_tests.always_on_helpers import cli  # noqa: E402

NOTICE = "WHISPER_DATA_DIR is unset"


@pytest.fixture()
def fresh_dir(tmp_path, monkeypatch, database_url) -> dict[str, str]:
    """A new current directory without .whisper, WHISPER_DATA_DIR unset (the notice's case); the
    environment of a subprocess run there."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in ("WHISPER_DATA_DIR", "WHISPER_QDRANT_PATH", "QDRANT_URL", "DAGSTER_HOME", "WHISPER_FIRST_DAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(settings_module, "_ANNOUNCED", set())  # nothing announced yet in this "process"
    return {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1"}


def tiny_locomo(path):
    from whisper_assets_tests.test_eval_locomo import tiny_sample

    path.write_text(json.dumps([tiny_sample()]))
    return path


@pytest.mark.parametrize("args, needle", [
    (["eval", "spc", "missing.csv", "--out", "report"], "missing.csv: no such file"),
    (["eval", "locomo", "LOCOMO", "--samples", "conv-404", "--out", "report"], "no sample conv-404"),
    (["eval", "all", "--locomo", "LOCOMO", "--spc", "missing.csv", "--samples", "conv-t1", "--out", "report"],
     "missing.csv"),
])
def test_eval_never_mentions_the_default_stores(fresh_dir, tmp_path, args, needle):
    """The evaluation works in a temporary workspace of its own: not a word about ./.whisper."""
    locomo = str(tiny_locomo(tmp_path / "tiny_locomo.json"))
    done = cli(fresh_dir, *[locomo if a == "LOCOMO" else a for a in args])
    assert done.returncode != 0, done.stdout
    assert NOTICE not in done.stdout, done.stdout
    assert [line for line in done.stdout.splitlines() if line.strip()] == [done.stdout.strip()], done.stdout
    assert done.stdout.startswith("error: ") and needle in done.stdout, done.stdout
    assert not (tmp_path / "cwd" / ".whisper").exists()


def test_a_whole_eval_run_says_nothing_about_the_default_stores(fresh_dir, tmp_path, caplog):
    """In-process, through every step (hot path, Dagster runs, recall): nothing read from the
    environment's data directory is announced, and nothing is created there."""
    from whisper_assets_tests.test_eval_spc import write_csv

    caplog.set_level(logging.WARNING, logger="whisper_assets.core.settings")
    result = runner.invoke(app, ["eval", "spc", str(write_csv(tmp_path / "spc.csv")), "--conversations", "2",
                                 "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert [r.getMessage() for r in caplog.records if NOTICE in r.getMessage()] == []
    assert not (tmp_path / "cwd" / ".whisper").exists()
    # Settings loaded afterwards, outside the evaluation, still say where new stores would go.
    settings_module.load_settings()
    assert len([r for r in caplog.records if NOTICE in r.getMessage()]) == 1


def test_commands_that_open_the_default_stores_still_say_where(fresh_dir, tmp_path):
    done = cli(fresh_dir, "status")
    assert done.returncode == 0, done.stdout
    [line] = [line for line in done.stdout.splitlines() if NOTICE in line]
    assert str(tmp_path / "cwd" / ".whisper") in line
    # Asking for help opens nothing and says nothing.
    for args in (["--help"], ["eval", "--help"], ["backfill", "--help"]):
        assert NOTICE not in cli(fresh_dir, *args).stdout


# -- our other refused option values: one line too --------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["health", "--check", "disk"], "unknown check 'disk': use postgres, qdrant"),
    (["eval", "locomo", "LOCOMO", "--backend", "gpt", "--out", "report"], "unknown backend 'gpt': use offline or openai"),
    (["eval", "spc", "missing.csv", "--backend", "gpt", "--out", "report"], "unknown backend 'gpt'"),
    (["eval", "all", "--locomo", "LOCOMO", "--spc", "x.csv", "--backend", "gpt", "--out", "report"],
     "unknown backend 'gpt'"),
])
def test_refused_option_values_are_one_line_exit_2(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    locomo = str(tiny_locomo(tmp_path / "tiny_locomo.json"))
    result = runner.invoke(app, [locomo if a == "LOCOMO" else a for a in args])
    assert result.exit_code == 2, result.output
    one_error_line(result, needle)


# -- typer's own refusals (missing option, no such file, out of range, unknown command) --------------

@pytest.mark.parametrize("args, needles", [
    (["backfill", "--from", "2022-01-01"], ["Missing option '--to'", "whisper-assets backfill --help"]),
    (["ingest", "missing.jsonl"], ["'missing.jsonl' does not exist", "whisper-assets ingest --help"]),
    (["eval", "locomo", "missing.json", "--out", "report"], ["'missing.json' does not exist",
                                                              "whisper-assets eval locomo --help"]),
    (["prune", "--ttl-days", "0"], ["--ttl-days", "whisper-assets prune --help"]),
    (["enrich", "--dya", "2022-01-01"], ["No such option: --dya", "whisper-assets enrich --help"]),
    (["nosuch"], ["No such command 'nosuch'", "whisper-assets --help"]),
    (["--bogus", "status"], ["No such option: --bogus", "whisper-assets --help"]),
])
def test_usage_errors_are_one_line_exit_2(tmp_path, monkeypatch, args, needles):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args, prog_name="whisper-assets")
    assert result.exit_code == 2, result.output
    one_error_line(result, *needles)


def test_debug_keeps_the_usage_box_and_help_is_still_help(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    boxed = runner.invoke(app, ["--debug", "backfill", "--from", "2022-01-01"], prog_name="whisper-assets")
    assert boxed.exit_code == 2 and "Usage:" in boxed.output and "Missing option '--to'" in boxed.output
    for args in ([], ["db"], ["eval"], ["backfill", "--help"]):
        shown = runner.invoke(app, args, prog_name="whisper-assets")
        assert "Usage:" in shown.output and "error:" not in shown.output, shown.output


# -- an invalid setting: one line, printed as it is ---------------------------------------------------

@pytest.mark.parametrize("command", [["status"], ["enrich"], ["backfill", "--from", "2022-01-01", "--to", "2022-01-02"]])
def test_an_invalid_setting_is_one_line_with_its_value_intact(tmp_path, monkeypatch, command):
    """A value with brackets is shown as given (not read as console markup), on one line however long."""
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("WHISPER_FIRST_DAY", "[bold]2022")
    result = runner.invoke(app, command, terminal_width=60)
    assert result.exit_code == 2, result.output
    one_error_line(result, "WHISPER_FIRST_DAY", "'[bold]2022' is not a YYYY-MM-DD date")


def test_a_list_setting_that_is_no_json_names_its_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("WHISPER_FAST_TRACK_USERS", "[alice")
    result = runner.invoke(app, ["status"], terminal_width=60)
    assert result.exit_code == 2, result.output
    one_error_line(result, "WHISPER_FAST_TRACK_USERS", "not valid JSON")


def test_an_unknown_ingest_format_is_one_line_as_given(tmp_path, monkeypatch):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    data = tmp_path / "m.jsonl"
    data.write_text("")
    result = runner.invoke(app, ["ingest", str(data), "--format", "[bold]csv"])
    assert result.exit_code == 2, result.output
    one_error_line(result, "unknown format '[bold]csv': use auto, jsonl or locomo")


@pytest.mark.parametrize("args, needles", [
    (["status", "--bot", "nobody"], ["unknown bot 'nobody'", "known: none"]),
    (["status", "--bot", "bad|name"], ["invalid bot name"]),
])
def test_status_of_an_unknown_bot_says_so_like_enrich(stores, args, needles):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    one_error_line(result, *needles)


def test_ask_with_the_openai_backend_and_no_key_says_so_first(stores, monkeypatch):
    monkeypatch.setenv("WHISPER_LLM_BACKEND", "openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = runner.invoke(app, ["ask", "--bot", "elena", "--user", "u1", "what's new?"])
    assert result.exit_code == 2, result.output
    one_error_line(result, "OPENAI_API_KEY")  # and no context block before it
