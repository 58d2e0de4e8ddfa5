import json

from typer.testing import CliRunner

from whisper_assets.cli import app, sample_corpus_path
from whisper_assets.ingest import ingest, parse_file, parse_jsonl, parse_locomo
from whisper_assets.settings import load_settings
from whisper_assets.stores.qdrant import open_store

GOOD = {"bot": "elena", "user": "user_alice", "role": "user", "content": "I live in Portland",
        "timestamp": "2026-11-09T08:15:00Z"}


def _line(**kw):
    return json.dumps({**GOOD, **kw})


def test_jsonl_bad_lines_are_reported_by_number_and_good_ones_kept(tmp_path):
    lines = [
        _line(),
        "{not json",
        _line(role="system"),
        json.dumps({"bot": "elena"}),
        _line(timestamp="2026-11-09T08:15:00"),
        _line(bot="bad|bot"),
        "",
        _line(content="I have a dog named Biscuit", timestamp="2026-11-10T01:00:00+02:00"),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    settings = load_settings(data_dir=tmp_path / "w")
    report = ingest(parse_file(path), settings)
    assert report.stored == 2 and report.records == 7
    assert [where for where, _ in report.errors] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    reasons = dict(report.errors)
    assert "invalid JSON" in reasons["line 2"] and "unknown role" in reasons["line 3"]
    assert "missing keys" in reasons["line 4"] and "timezone" in reasons["line 5"]
    assert "invalid bot name" in reasons["line 6"]
    with open_store(settings) as store:
        # 01:00 at +02:00 is 23:00 UTC the day before.
        assert [r.day for r in store.status_by_day()] == ["2026-11-09"]
        assert store.status_by_day()[0].pending == 2

    again = ingest(parse_file(path), settings)  # same file twice: nothing duplicated
    assert again.stored == 2
    with open_store(settings) as store:
        assert store.status_by_day()[0].pending == 2


def test_locomo_parser_handles_the_known_traps():
    sample = {
        "sample_id": "conv-99",
        "conversation": {
            "speaker_a": "Ann", "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": " Hi Ben "},
                          {"speaker": "Ben", "dia_id": "D1:2", "text": "I went hiking yesterday"}],
            "session_10_date_time": "12:09 am on 13 September, 2023",
            "session_10": [{"speaker": "Ben", "dia_id": "D10:1", "text": "Late night!"}],
            "session_2_date_time": "4:10 pm on 9 May, 2023",
            "session_2": [{"speaker": "Ann", "dia_id": "D2:1", "text": "Morning"}],
            "session_3_date_time": "4:10 pm on 26 October, 2023",  # a date without a session
        },
    }
    parsed = list(parse_locomo([sample]))
    assert all(p.error is None for p in parsed)
    items = [p.item for p in parsed]
    assert [i.content for i in items] == ["Hi Ben", "I went hiking yesterday", "Morning", "Late night!"]
    assert {i.bot for i in items} == {"conv-99"} and [i.user for i in items][:2] == ["Ann", "Ben"]
    assert all(i.role == "user" for i in items)
    assert items[0].timestamp.isoformat() == "2023-05-08T13:56:00+00:00"
    assert items[1].timestamp.isoformat() == "2023-05-08T13:56:01+00:00"
    assert items[3].timestamp.isoformat() == "2023-09-13T00:09:00+00:00"


def test_locomo_bad_session_date_is_reported():
    sample = {"sample_id": "conv-1", "conversation": {"session_1_date_time": "soon", "session_1": [{"speaker": "A", "text": "x"}]}}
    parsed = list(parse_locomo(sample))
    assert parsed[0].error and "session_1_date_time" in parsed[0].error


def test_sample_corpus_is_all_valid():
    parsed = list(parse_jsonl(sample_corpus_path().read_text().splitlines()))
    assert len(parsed) > 300 and all(p.error is None for p in parsed)
    assert len({p.item.bot for p in parsed}) >= 3 and len({p.item.user for p in parsed}) >= 5


def test_cli_ingest_and_status(tmp_path, monkeypatch):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    path = tmp_path / "in.jsonl"
    path.write_text(_line() + "\n" + _line(content="") + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 stored, 1 skipped" in result.output and "line 2" in result.output
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0 and "elena" in result.output and "1 pending, 0 completed" in result.output
