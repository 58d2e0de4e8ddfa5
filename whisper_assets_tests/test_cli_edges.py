"""CLI edge cases: every bad day option is one `error: ...` line and exit 2 (no usage box)."""

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

