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
