"""The LoCoMo evaluation: parsing LoCoMo-format samples (with the dataset's traps) and one run of
the real pipeline on a tiny hand-made sample through `whisper-assets eval locomo`.

No LoCoMo data here (CC BY-NC): every sample is written by hand in the LoCoMo format.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from whisper_assets.interfaces.cli.app import app
from whisper_assets.interfaces.evaluation import pipeline, questions, samples
from whisper_assets.interfaces.evaluation.report import headline
from whisper_assets.memory.locomo_format import parse_sample

UTC = timezone.utc


def tiny_sample() -> dict:
    """Two sessions, six turns, three observations, two retrievable QA items and three traps."""
    return {
        "qa": [
            {"question": "What does Ann do for a living?", "answer": "a nurse", "evidence": ["D1:1"], "category": 4},
            {"question": "What is the name of Ben's dog?", "answer": "Biscuit", "evidence": ["D1:2; D2:1"],
             "category": 1},
            # traps: no evidence, an id that does not exist, an adversarial item without an answer
            {"question": "Would Ann enjoy a hospital drama?", "answer": 3, "evidence": [], "category": 3},
            {"question": "When did Ann go to Paris?", "answer": "2023", "evidence": ["D9:9"], "category": 2},
            {"question": "What is the name of Ann's dog?", "evidence": ["D1:2"], "category": 5,
             "adversarial_answer": "Biscuit"},
        ],
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Ben",
            "session_1_date_time": "2:30 pm on 3 March, 2023",
            "session_1": [
                {"speaker": "Ann", "dia_id": "D1:1", "text": "Hi Ben! I work as a nurse now, night shifts mostly. "},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "Congrats! I adopted a dog named Biscuit last week.",
                 "img_url": ["https://example.invalid/dog.jpg"], "blip_caption": "a photo of a dog", "query": "dog"},
                {"speaker": "Ann", "dia_id": "D1:3", "text": "Aww. Night shifts are tiring but I love the work."},
                {"speaker": "Ben", "dia_id": "D1:4", "text": "He chews everything, but he is the best."},
            ],
            "session_2_date_time": "12:15 am on 20 June, 2023",
            "session_2": [
                {"speaker": "Ben", "dia_id": "D2:1", "text": "Biscuit and I went hiking in the Alps last weekend!"},
                {"speaker": "Ann", "dia_id": "D2:2", "text": "I'm planning a trip to Kyoto next month."},
            ],
            "session_3_date_time": "5:00 pm on 1 August, 2023",  # a date without a session
        },
        "event_summary": {},
        "observation": {
            "session_1_observation": {
                "Ann": [["Ann works as a nurse and mostly does night shifts.", "D1:1"]],
                "Ben": [["Ben adopted a dog named Biscuit.", ["D1:2"]]],
            },
            "session_2_observation": {
                "Ann": [["Ann is planning a trip to Kyoto next month.", "D2:2"]],
                "Ben": [],
            },
        },
        "session_summary": {
            "session_1_summary": "Ann told Ben that she works as a nurse, mostly night shifts. "
                                 "Ben adopted a dog named Biscuit who chews everything.",
            "session_2_summary": "Ben went hiking in the Alps with his dog Biscuit. Ann plans a trip to Kyoto.",
        },
        "sample_id": "conv-t1",
    }


# -- parsing -----------------------------------------------------------------------------------------

def test_parse_sample_handles_the_format_traps():
    raw = tiny_sample()
    raw["conversation"]["session_10_date_time"] = "9:00 am on 1 December, 2023"
    raw["conversation"]["session_10"] = [{"speaker": "Ann", "dia_id": "D10:1", "text": "Back again"}]
    sample = parse_sample(raw)
    assert sample.speakers == ("Ann", "Ben")
    assert [s.number for s in sample.sessions] == [1, 2, 10]  # numeric order; session_3 has no turns
    assert sample.sessions[1].date_time == datetime(2023, 6, 20, 0, 15, tzinfo=UTC)  # 12:15 am
    assert sample.sessions[0].turns[0].text == "Hi Ben! I work as a nurse now, night shifts mostly."
    assert set(sample.turns) == {"D1:1", "D1:2", "D1:3", "D1:4", "D2:1", "D2:2", "D10:1"}
    ben = sample.sessions[0].observations["Ben"][0]
    assert ben.evidence == ("D1:2",)  # evidence given as a list
    assert sample.sessions[1].observations["Ben"] == []
    qa = {q.question: q for q in sample.qa}
    assert qa["What is the name of Ben's dog?"].evidence == ("D1:2", "D2:1")
    assert qa["Would Ann enjoy a hospital drama?"].answer == "3"  # int answer
    assert qa["Would Ann enjoy a hospital drama?"].evidence == ()
    assert qa["When did Ann go to Paris?"].invalid_evidence == ("D9:9",)
    assert qa["What is the name of Ann's dog?"].answer is None and qa["What is the name of Ann's dog?"].category == 5
    assert sample.problems == []


def test_parse_sample_records_what_it_skips_in_order():
    raw = tiny_sample()
    conv = raw["conversation"]
    conv["session_2"].insert(1, {"speaker": "Ann", "dia_id": "D2:9"})  # no text
    conv["session_4"] = [{"speaker": "Ben", "dia_id": "D4:1", "text": "A session without a date"}]
    raw["qa"] += [{"answer": "no question", "category": 1}, {"question": "Where?", "category": "x"}]
    sample = parse_sample(raw)
    assert [s.number for s in sample.sessions] == [1, 2] and sample.skipped_sessions == [4]
    assert [t.dia_id for t in sample.session(2).turns] == ["D2:1", "D2:2"]
    assert sample.session(2).turns[1].position == 2  # positions count the skipped turn
    assert sample.problems == [
        "session_2 turn 2: needs speaker and text; skipped",
        "session_4: missing or unreadable session_4_date_time; session skipped",
        "qa 5: needs a question; skipped",
        "qa 6: category 'x' is not a number; skipped",
    ]


def test_load_samples_names_unknown_ids(tmp_path):
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([tiny_sample()]))
    assert [s.sample_id for s in samples.load_samples(path)] == ["conv-t1"]
    with pytest.raises(samples.EvalError, match="no sample conv-99"):
        samples.load_samples(path, ["conv-99"])
    path.write_text("{not json")
    with pytest.raises(samples.EvalError, match="not JSON"):
        samples.load_samples(path)
    path.write_text(json.dumps([{"sample_id": "conv-t2", "conversation": ["not", "an", "object"]}]))
    with pytest.raises(samples.EvalError, match="not a LoCoMo sample"):
        samples.load_samples(path)


def test_question_now_is_the_next_session_or_a_day_after_the_last():
    sample = parse_sample(tiny_sample())
    assert questions.question_now(sample, ["D1:1"]) == datetime(2023, 6, 20, 0, 15, tzinfo=UTC)
    assert questions.question_now(sample, ["D1:2", "D2:1"]) == datetime(2023, 6, 21, 0, 15, tzinfo=UTC)


def test_message_ids_map_back_to_dia_ids(tmp_path):
    """The ids the evaluation maps are exactly those ingest stores for the same file."""
    from whisper_assets.core.settings import load_settings
    from whisper_assets.memory.hot_path import validate
    from whisper_assets.memory.ingest import parse_locomo

    settings = load_settings(data_dir=tmp_path)
    raw = tiny_sample()
    raw["conversation"]["session_2"].append({"speaker": "Ben", "dia_id": "D2:3", "text": "   "})  # refused: empty
    parsed = list(parse_locomo([raw]))
    mapping = pipeline.message_map(parse_sample(raw), settings)
    assert sorted(mapping.values()) == ["D1:1", "D1:2", "D1:3", "D1:4", "D2:1", "D2:2"]
    stored = {validate(p.item, settings).message_id: p.where for p in parsed if p.item is not None and p.item.content.strip()}
    assert set(mapping) == set(stored)
    assert {mapping[m]: where for m, where in stored.items()}["D1:3"] == "conv-t1 session_1 turn D1:3"
    assert parsed[1].item.timestamp - parsed[0].item.timestamp == timedelta(seconds=1)


# -- end to end ------------------------------------------------------------------------------------

def test_ranked_items_interleave_every_kind_and_map_provenance():
    from whisper_assets.memory.retrieval import FactItem, MessageItem, Provenance, RecallResult, SummaryItem

    t = datetime(2023, 3, 3, 14, 30, tzinfo=UTC)

    def prov(*ids: str) -> Provenance:
        return Provenance(partitions=["b|2023-03-03"], source_message_ids=list(ids), window_start=t, window_end=t,
                          model=None)

    def summary(day: int, *ids: str) -> SummaryItem:
        start = t.replace(day=day)
        return SummaryItem(day=start.date(), start=start, end=start + timedelta(days=1), text=f"day {day}",
                           topics=[], message_count=len(ids), provenance=prov(*ids))

    # Validity fields, when the model has them (fact consolidation adds them; the ranking ignores them).
    validity = {k: t for k in ("valid_from", "as_of") if k in FactItem.model_fields}
    facts = [FactItem(category="occupation", fact=f"fact {i}", confidence=0.9, mention_count=1, first_seen=t,
                      last_seen=t, relevance=1.0, provenance=prov(f"f{i}"), **validity) for i in (1, 2)]
    messages = [MessageItem(message_id=f"m{i}", role="user", timestamp=t, text=f"said {i}", score=0.5,
                            provenance=prov(f"m{i}")) for i in (1, 2)]
    result = RecallResult(
        bot="b", user="Ann", query="q", now=t, tz="UTC", time_range=None, categories=[], category_source="none",
        facts=facts, summaries=[summary(1, "s1")], summaries_scope="recent", summaries_total=1,
        related=[summary(2, "r1")], messages=messages, semantic="qdrant",
    )
    to_dia = {"f1": "D1:1", "f2": "D1:2", "s1": "D1:3", "r1": "D1:4", "m1": "D1:5", "m2": "D1:6"}
    ranked = questions.ranked_items(result, to_dia)
    assert [i.kind for i in ranked] == ["fact", "related", "message", "recent", "fact", "message"]
    assert [sorted(i.dia_ids) for i in ranked] == [["D1:1"], ["D1:4"], ["D1:5"], ["D1:3"], ["D1:2"], ["D1:6"]]


def test_eval_locomo_end_to_end(tmp_path, monkeypatch, pg_admin, database_url):
    """The real pipeline (hot path, Dagster partitions, offline backend, Postgres, recall()) on the
    tiny sample, through the CLI; Postgres is a scratch database created on the test server.

    The stores the environment names are never touched (the workspace has its own, handed to every
    step in its settings), and the environment is left as it was."""
    import os

    data = tmp_path / "tiny_locomo.json"
    data.write_text(json.dumps([tiny_sample()]))
    out = tmp_path / "report"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    user_data = tmp_path / "user-data"
    monkeypatch.setenv("WHISPER_DATA_DIR", str(user_data))
    monkeypatch.setenv("WHISPER_QDRANT_PATH", str(tmp_path / "user-qdrant"))
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:9")  # nothing listens there

    def configuration() -> dict[str, str]:  # what Settings read (libraries may add their own variables)
        return {k: v for k, v in os.environ.items() if k.startswith(("WHISPER_", "QDRANT_", "OPENAI_", "DATABASE_"))}

    environment = configuration()

    result = CliRunner().invoke(app, ["eval", "locomo", str(data), "--samples", "conv-t1", "--backend", "offline",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert configuration() == environment
    assert not user_data.exists() and not (tmp_path / "user-qdrant").exists()
    assert "evidence recall@5" in result.output

    for name in ("locomo.json", "locomo.md", "locomo.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "locomo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "locomo.json").read_text())
    markdown = (out / "locomo.md").read_text()
    assert "## Facts" in markdown and "## Retrieval" in markdown and "locomo.png" in markdown

    assert report["run"]["stored"] == 6 and report["run"]["partitions"] == 2
    h = headline(report)
    facts = report["facts"]["overall"]
    assert facts["gold"] == 3
    assert facts["predicted"] >= 1 and facts["matched_predicted"] >= 1  # "works as a nurse" at least
    assert 0 < h["fact_precision"] <= 1 and 0 < h["fact_recall"] <= 1
    for c in report["facts"]["by_category"].values():
        assert 0 <= c["precision"] <= 1
    summaries = report["summaries"]["overall"]
    assert summaries["sessions"] == 2 and summaries["missing"] == 0
    assert 0 < summaries["rouge_l_f1"] < 1 and 0 < summaries["cosine"] <= 1

    retrieval = report["retrieval"]
    assert retrieval["overall"]["evaluated"] == 2  # the other three are skipped, and counted
    assert retrieval["skipped_no_valid_evidence"] == {"1": 0, "2": 1, "3": 1, "4": 0}
    assert retrieval["skipped_categories"] == {"5": 1}
    assert retrieval["invalid_evidence_ids"] == 1
    # Two users with one or two days each: what recall() returns covers the evidence turns.
    assert retrieval["overall"]["recall@10"] == 1.0
    assert 0 <= retrieval["overall"]["recall@5"] <= 1
    # Strict: never above loose; asked twice; both baselines scored on the same questions.
    after = report["retrieval_after"]
    assert after["when"] == "after" and after["strict"]["evaluated"] == retrieval["strict"]["evaluated"] == 2
    for block in (retrieval, after):
        assert block["strict"]["recall@10"] <= block["overall"]["recall@10"]
        for base in block["baselines"].values():
            assert base["strict"]["evaluated"] == 2 and base["strict"]["recall@10"] <= base["loose"]["recall@10"]
    assert h["evidence_recall@10"] == retrieval["strict"]["recall@10"]
    assert "Strict evidence recall (the headline)" in markdown
    by_q = {q["question"]: q for q in retrieval["questions"]}
    assert by_q["What does Ann do for a living?"]["users"] == ["Ann"]
    assert by_q["What does Ann do for a living?"]["now"].startswith("2023-06-20T00:15")

    # The scratch database is gone.
    scratch = report["run"]["postgres"].split()[2]
    assert scratch.startswith("whisper_eval_")
    with pg_admin.connect() as conn:
        assert not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": scratch}).first()


def test_eval_locomo_reports_bad_input(tmp_path):
    data = tmp_path / "tiny_locomo.json"
    data.write_text(json.dumps([tiny_sample()]))
    result = CliRunner().invoke(app, ["eval", "locomo", str(data), "--samples", "conv-404", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no sample conv-404" in result.output
    result = CliRunner().invoke(app, ["eval", "locomo", str(data), "--backend", "gpt", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown backend" in result.output


def test_eval_locomo_with_the_openai_backend(tmp_path, monkeypatch, database_url):
    """The same command with `--backend openai`, against the OpenAI-compatible stub server."""
    from whisper_assets_tests.enrichment_helpers import echo_responder
    from whisper_assets_tests.llm_stub import StubLLMServer

    def nurse_rule(text: str) -> tuple[str, str] | None:
        return ("occupation", "works as a nurse") if "nurse" in text else None

    data = tmp_path / "tiny_locomo.json"
    data.write_text(json.dumps([tiny_sample()]))
    out = tmp_path / "report"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("WHISPER_LLM_MODEL", "stub-model")
    monkeypatch.setenv("WHISPER_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("WHISPER_LLM_TIMEOUT_S", "10")
    with StubLLMServer(default=echo_responder(fact_rule=nurse_rule)) as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        result = CliRunner().invoke(app, ["eval", "locomo", str(data), "--backend", "openai", "--out", str(out)])
        assert result.exit_code == 0, result.output
        calls = len(stub.chat_requests)
    report = json.loads((out / "locomo.json").read_text())
    assert report["config"]["backend"] == "openai"
    # One call per user per day (users never share a call): Ann and Ben on each of the two days.
    assert report["run"]["llm"]["model"] == "stub-model" and report["run"]["llm"]["calls"] == calls == 4
    facts = report["facts"]["overall"]
    assert (facts["predicted"], facts["matched_predicted"], facts["gold"]) == (1, 1, 3)
    assert report["facts"]["by_category"]["occupation"]["precision"] == 1.0
    assert report["retrieval"]["overall"]["recall@10"] == 1.0


def test_eval_locomo_openai_without_a_key_says_so(tmp_path, monkeypatch):
    data = tmp_path / "tiny_locomo.json"
    data.write_text(json.dumps([tiny_sample()]))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = CliRunner().invoke(app, ["eval", "locomo", str(data), "--backend", "openai", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "OPENAI_API_KEY" in result.output


def test_eval_locomo_says_when_the_server_refuses_a_scratch_database(tmp_path, monkeypatch, pg_admin):
    """A DATABASE_URL whose role may not create databases: one line naming the server and why."""
    role = "whisper_no_createdb"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN NOCREATEDB"))
    try:
        data = tmp_path / "tiny_locomo.json"
        data.write_text(json.dumps([tiny_sample()]))
        monkeypatch.setenv("DATABASE_URL", f"postgresql://{role}@127.0.0.1:5432/test")
        result = CliRunner().invoke(app, ["eval", "locomo", str(data), "--out", str(tmp_path / "report")])
        assert result.exit_code == 1, result.output
        assert "cannot create a scratch database on DATABASE_URL's server (127.0.0.1)" in result.output
        assert "permission denied" in result.output and "Traceback" not in result.output
    finally:
        with pg_admin.connect() as conn:
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
