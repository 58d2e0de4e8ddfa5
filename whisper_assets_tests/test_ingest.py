import json
import uuid

from typer.testing import CliRunner

import whisper_assets.memory.ingest as ingest_module
from whisper_assets.interfaces.cli.app import app, sample_corpus_path
from whisper_assets.memory.ingest import ingest, parse_file, parse_jsonl, parse_locomo
from whisper_assets.core.settings import load_settings
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
    assert (report.records, report.stored, report.unchanged, report.duplicates, report.skipped) == (7, 2, 0, 0, 5)
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
    assert (again.records, again.stored, again.unchanged, again.skipped) == (7, 0, 2, 5)
    with open_store(settings) as store:
        assert store.status_by_day()[0].pending == 2


def test_locomo_parser_handles_the_known_traps():
    sample = {
        "sample_id": "conv-99",
        "conversation": {
            "speaker_a": "Ann", "speaker_b": "Ben",
            "session_1_date_time": "2:37 pm on 6 May, 2023",
            "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": " Hi Ben "},
                          {"speaker": "Ben", "dia_id": "D1:2", "text": "I went hiking yesterday"}],
            "session_10_date_time": "12:21 am on 14 September, 2023",
            "session_10": [{"speaker": "Ben", "dia_id": "D10:1", "text": "Late night!"}],
            "session_2_date_time": "5:05 pm on 11 May, 2023",
            "session_2": [{"speaker": "Ann", "dia_id": "D2:1", "text": "Morning"}],
            "session_3_date_time": "6:45 pm on 27 October, 2023",  # a date without a session
        },
    }
    parsed = list(parse_locomo([sample]))
    assert all(p.error is None for p in parsed)
    items = [p.item for p in parsed]
    assert [i.content for i in items] == ["Hi Ben", "I went hiking yesterday", "Morning", "Late night!"]
    assert {i.bot for i in items} == {"conv-99"} and [i.user for i in items][:2] == ["Ann", "Ben"]
    assert all(i.role == "user" for i in items)
    assert items[0].timestamp.isoformat() == "2023-05-06T14:37:00+00:00"
    assert items[1].timestamp.isoformat() == "2023-05-06T14:37:01+00:00"
    assert items[3].timestamp.isoformat() == "2023-09-14T00:21:00+00:00"


def test_locomo_bad_session_date_is_reported():
    sample = {"sample_id": "conv-1", "conversation": {"session_1_date_time": "soon", "session_1": [{"speaker": "A", "text": "x"}]}}
    parsed = list(parse_locomo(sample))
    assert parsed[0].error and "session_1_date_time" in parsed[0].error


def test_locomo_bad_turns_are_reported_in_place_and_a_bad_sample_is_not_a_crash():
    good = {"sample_id": "conv-2", "conversation": {
        "session_1_date_time": "9:05 am on 2 June, 2024",
        "session_1": [{"speaker": "Cy", "dia_id": "D1:1", "text": "Morning"},
                      {"speaker": "Cy", "dia_id": "D1:2"},
                      "a bare string",
                      {"speaker": "Di", "dia_id": "D1:4", "text": "Hello Cy"}],
    }}
    parsed = list(parse_locomo([{"sample_id": "conv-1", "conversation": ["not", "an", "object"]}, good, 7]))
    assert [(p.where, p.error) for p in parsed if p.error] == [
        ("sample 0", "not a LoCoMo sample: conversation must be an object with session_N lists, not a list"),
        ("conv-2 session_1 turn D1:2", "turn needs speaker and text (text is missing)"),
        ("conv-2 session_1 turn 3", "turn needs speaker and text (it is not an object)"),
        ("sample 2", "not a LoCoMo sample: expected an object, got int"),
    ]
    assert [p.where for p in parsed][1:5] == [f"conv-2 session_1 turn {x}" for x in ("D1:1", "D1:2", 3, "D1:4")]
    # The turn after two skipped ones keeps its place in time: date_time + 3 s.
    assert parsed[4].item.timestamp.isoformat() == "2024-06-02T09:05:03+00:00"


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
    assert result.exit_code == 1, result.output  # a skipped line is an error, the good one is stored
    assert "2 records, 1 stored" in result.output and "1 skipped" in result.output
    assert "line 2" in result.output
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0 and "elena" in result.output and "1 pending, 0 completed" in result.output


def _points(settings):
    with open_store(settings) as store:
        return {r.id: r.payload for r in store.engine.scroll(store.messages, {})}


def _complete_all(settings, run_id="run-1"):
    with open_store(settings) as store:
        points = {r.id: r.payload for r in store.engine.scroll(store.messages, {})}
        staged = {s.message.message_id: s.message.version
                  for bot, day in {(p["bot_name"], p["day"]) for p in points.values()}
                  for s in store.day_messages(bot, day)}
        return store.mark_completed(staged, run_id, "2026-11-12T00:00:00Z")


def test_cli_ingest_twice_reports_unchanged_and_keeps_completed_points(tmp_path, monkeypatch):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "w"))
    settings = load_settings(data_dir=tmp_path / "w")
    path = tmp_path / "in.jsonl"
    lines = [
        _line(content="My brother repairs old clocks", timestamp="2026-11-09T10:00:00Z"),
        _line(content="He has a workshop in the basement", timestamp="2026-11-09T10:01:00Z"),
        _line(content="My brother repairs old clocks", timestamp="2026-11-09T10:00:00Z"),  # same message again
        _line(user="user_bruno", content="I collect vinyl records", timestamp="2026-11-10T09:00:00Z"),
    ]
    path.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 records, 3 stored, 0 unchanged" in result.output
    assert "1 duplicates" in result.output and "0 skipped" in result.output
    assert _complete_all(settings).marked == 3
    before = _points(settings)
    assert {p["enrichment_status"] for p in before.values()} == {"completed"}

    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 records, 0 stored, 3 unchanged" in result.output and "1 duplicates" in result.output
    assert _points(settings) == before  # still completed, same stored_ms: nothing to enrich again
    result = runner.invoke(app, ["status"])
    assert "0 pending, 3 completed" in result.output


def test_reingest_with_edited_content_under_an_explicit_id_is_pending_again(tmp_path):
    settings = load_settings(data_dir=tmp_path / "w")
    mid = str(uuid.uuid4())
    path = tmp_path / "in.jsonl"
    path.write_text(_line(message_id=mid, content="The concert starts at nine") + "\n"
                    + _line(content="I bought two tickets", timestamp="2026-11-09T08:16:00Z") + "\n")
    assert ingest(parse_file(path), settings).stored == 2
    _complete_all(settings)
    path.write_text(_line(message_id=mid, content="The concert starts at ten") + "\n"
                    + _line(content="I bought two tickets", timestamp="2026-11-09T08:16:00Z") + "\n")
    report = ingest(parse_file(path), settings)
    assert (report.stored, report.unchanged, report.duplicates) == (1, 1, 0)
    points = _points(settings)
    assert points[mid]["content"] == "The concert starts at ten"
    assert points[mid]["enrichment_status"] == "pending"
    assert sorted(p["enrichment_status"] for p in points.values()) == ["completed", "pending"]


def test_duplicates_across_chunks_are_counted_once_and_the_last_occurrence_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "CHUNK", 2)
    settings = load_settings(data_dir=tmp_path / "w")
    mid = str(uuid.uuid4())
    lines = [
        _line(message_id=mid, content="Draft one of my speech"),
        _line(content="The wedding is in June", timestamp="2026-11-09T08:20:00Z"),
        _line(content="The wedding is in June", timestamp="2026-11-09T08:20:00Z"),  # same, next chunk
        _line(message_id=mid, content="Draft two of my speech"),  # edited, next chunk
        _line(message_id=mid, content="Draft two of my speech"),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    progress = []
    report = ingest(parse_file(path), settings, on_progress=progress.append)
    assert (report.records, report.stored, report.unchanged, report.duplicates, report.skipped) == (5, 2, 0, 3, 0)
    assert sum(progress) == 5
    points = _points(settings)
    assert len(points) == 2 and points[mid]["content"] == "Draft two of my speech"

    _complete_all(settings)
    again = ingest(parse_file(path), settings)  # the first draft is written, then the second again
    assert (again.stored, again.unchanged, again.duplicates) == (1, 1, 3)
    points = _points(settings)
    assert points[mid]["content"] == "Draft two of my speech"
    assert points[mid]["enrichment_status"] == "pending"


def test_hostile_jsonl_lines_are_reported_and_skipped_and_the_rest_is_stored(tmp_path):
    """Invalid UTF-8, a lone surrogate, out-of-range offset timestamps, 100k levels of nesting,
    nulls: each is one reported line; a BOM does not cost line 1; the good lines are stored."""
    raw = [
        b"\xef\xbb\xbf" + _line(content="My sister moved to Oslo").encode(),
        _line(content="caf\xe9").encode("utf-8").replace("caf\\u00e9".encode(), b"caf\xe9"),
        _line(content="x").replace('"x"', '"\\ud800 lonely"').encode(),
        _line(timestamp="0001-01-01T00:00:00+14:00").encode(),
        _line(timestamp="9999-12-31T23:59:59-14:00").encode(),
        b"[" * 100_000 + b"]" * 100_000,
        _line(user=None).encode(),
        _line(content=None).encode(),
        _line(content="Robert'); DROP TABLE users;-- \u05e9\u05dc\u05d5\u05dd").encode(),
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(raw))
    settings = load_settings(data_dir=tmp_path / "w")
    report = ingest(parse_file(path), settings)
    errors = dict(report.errors)
    assert sorted(errors) == [f"line {n}" for n in range(2, 9)], report.errors
    assert "invalid UTF-8" in errors["line 2"]
    assert "lone surrogate" in errors["line 3"] and "lonely" not in errors["line 3"]
    assert "out of range" in errors["line 4"] and "out of range" in errors["line 5"]
    assert errors["line 6"] == "invalid JSON: nested too deeply"
    assert "user is null" in errors["line 7"] and "content is null" in errors["line 8"]
    assert all("\n" not in e for e in errors.values())
    assert report.stored == 2
    contents = sorted(p["content"] for p in _points(settings).values())
    assert contents == sorted(["My sister moved to Oslo", "Robert'); DROP TABLE users;-- \u05e9\u05dc\u05d5\u05dd"])
    assert "None" not in {p["user_id"] for p in _points(settings).values()}


def test_locomo_null_speaker_or_text_is_refused_not_stored_as_none():
    sample = {"sample_id": "conv-7", "conversation": {
        "session_1_date_time": "9:05 am on 2 June, 2024",
        "session_1": [{"speaker": None, "text": "Who said this?"}, {"speaker": "Eve", "text": None},
                      {"speaker": "Eve", "text": 42}, {"speaker": "Eve", "text": "A real turn"}],
    }}
    parsed = list(parse_locomo(sample))
    assert [p.error for p in parsed[:3]] == [
        "turn needs speaker and text (speaker is null)", "turn needs speaker and text (text is null)",
        "turn needs speaker and text (text is int)"]
    assert parsed[3].item.user == "Eve" and parsed[3].item.content == "A real turn"


def test_locomo_wrong_shapes_are_one_clear_error_each(tmp_path):
    for doc, needle in [({"sample_id": "s", "conversation": []}, "conversation must be an object"),
                        ({"conversation": {}}, "no sample_id"), ({"sample_id": None, "conversation": {}}, "null"),
                        ("just text", "expected an object")]:
        parsed = list(parse_locomo(doc))
        assert len(parsed) == 1 and needle in parsed[0].error
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    assert [(p.where, p.error) for p in parse_file(path)] == [("file", "invalid JSON: nested too deeply")]
    path.write_bytes(b'[{"sample_id": "s\xff"}]')
    assert "invalid UTF-8" in list(parse_file(path))[0].error
