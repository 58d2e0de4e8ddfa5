"""Facts with a history, read back: recall() serves what holds as of `now` (each "as of" a date),
the history when the question asks for it; `whisper-assets facts --history` and the HTTP API's
`history=true` show when each fact held. A half year of one user of our own, consolidated from
fact_observations by the real recompute."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.enrichment.models import FactObservation
from whisper_assets.core.settings import Settings, load_settings
from whisper_assets.interfaces.api import create_app
from whisper_assets.interfaces.cli.memory import memory_app
from whisper_assets.memory.retrieval import RecallOptions, get_facts, recall
from whisper_assets.memory.retrieval.query import asks_history
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.repository import consolidation, enrichment as repo
from whisper_assets_tests.conftest import _create_db, _url_for

UTC = timezone.utc
BOT, USER = "elena", "u-half-year"
LIFE = [  # (day, category, fact)
    (date(2026, 1, 6), "location", "lives in Lisbon"),
    (date(2026, 1, 6), "employer", "works at Halvorsen Logistics"),
    (date(2026, 1, 20), "occupation", "works as a dispatcher"),
    (date(2026, 2, 3), "hobby", "enjoys hiking"),
    (date(2026, 2, 17), "hobby", "likes hiking"),
    (date(2026, 3, 3), "location", "moved to Porto"),
    (date(2026, 4, 7), "other", "lost their job"),
    (date(2026, 5, 5), "employer", "works at Brightmoor Bakery"),
    (date(2026, 5, 5), "occupation", "is a baker"),
]
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(scope="module")
def life_settings(tmp_path_factory, pg_admin, _created_dbs, _template_db) -> Iterator[Settings]:
    url = _url_for(_create_db(pg_admin, _created_dbs, template=_template_db))
    settings = load_settings(data_dir=tmp_path_factory.mktemp("life") / "whisper", database_url=url)
    engine = get_engine(settings)
    by_day: dict[date, list[FactObservation]] = {}
    for i, (day, category, fact) in enumerate(LIFE):
        by_day.setdefault(day, []).append(FactObservation(
            BOT, day, USER, category, fact, 0.9, (f"00000000-0000-4000-8000-{i:012d}",),
            datetime.combine(day, time(10), tzinfo=UTC), "model-a", "v1"))
    for day, observations in by_day.items():  # as the days' runs write them
        with engine.begin() as conn:
            repo.replace_partitions(conn, repo.TABLES["extracted_facts"], [(BOT, day)], observations)
            consolidation.recompute(conn, {BOT: [USER]}, get_embedder())
    yield settings
    engine.dispose()


def ask(settings: Settings, query: str, now: datetime = NOW, **options):
    return recall(BOT, USER, query, RecallOptions(now=now, semantic=False, **options),
                  engine=get_engine(settings))


def test_recall_serves_what_holds_now_with_as_of_dates(life_settings):
    result = ask(life_settings, "where do I live and where do I work?")
    facts = {f.fact: f for f in result.facts}
    assert {"moved to Porto", "works at Brightmoor Bakery", "is a baker"} <= set(facts)
    assert "lost their job" not in facts  # it held from April until the new job in May
    assert not {"lives in Lisbon", "works at Halvorsen Logistics", "works as a dispatcher"} & set(facts)
    assert result.history == []
    everything = {f.fact for f in ask(life_settings, "what do you know about me?").facts}
    assert len([f for f in everything if "hiking" in f]) == 1  # 'enjoys' and 'likes hiking': one fact
    context = result.as_context()
    assert "- [location] moved to Porto (as of 2026-03-03; confidence 0.90)" in context
    assert "Earlier facts" not in context


def test_the_history_when_the_question_asks_for_it(life_settings):
    result = ask(life_settings, "where did I live before?")
    assert [f.fact for f in result.history if f.category == "location"] == ["lives in Lisbon"]
    lisbon = next(f for f in result.history if f.fact == "lives in Lisbon")
    assert lisbon.status == "superseded" and lisbon.valid_to.date() == date(2026, 3, 3)
    context = result.as_context()
    assert "Earlier facts, no longer true:" in context
    assert "- [location] lives in Lisbon (from 2026-01-06 until 2026-03-03, superseded)" in context
    old_job = ask(life_settings, "what was my old job?")
    assert {"works at Halvorsen Logistics", "works as a dispatcher"} <= {f.fact for f in old_job.history}
    assert ask(life_settings, "where did I live before?", history=False).history == []
    assert ask(life_settings, "where do I live?", history=True).history != []


def test_as_of_a_past_now_the_fact_of_then_is_current(life_settings):
    result = ask(life_settings, "where do I live and work?", now=datetime(2026, 2, 20, tzinfo=UTC))
    facts = {f.fact: f for f in result.facts}
    assert {"lives in Lisbon", "works at Halvorsen Logistics", "works as a dispatcher"} <= set(facts)
    assert facts["lives in Lisbon"].valid_to is None  # it ended later, not as of then
    assert not {"moved to Porto", "lost their job", "is a baker"} & set(facts)


@pytest.mark.parametrize(("question", "history"), [
    ("where did I live before?", True), ("what was my old job?", True), ("what did I use to do for work?", True),
    ("do I still have a cat?", True), ("where do I live?", False), ("how old am I?", False),
    ("what is my job?", False),
])
def test_questions_about_the_past(question, history):
    assert asks_history(question) is history


def test_get_facts_current_and_history(life_settings):
    engine = get_engine(life_settings)
    current = get_facts(BOT, USER, engine=engine)
    assert all(f.status == "current" and f.valid_to is None for f in current)
    history = get_facts(BOT, USER, "location", engine=engine, history=True)
    assert [(f.fact, f.valid_from.date(), f.valid_to and f.valid_to.date(), f.status) for f in history] == [
        ("lives in Lisbon", date(2026, 1, 6), date(2026, 3, 3), "superseded"),
        ("moved to Porto", date(2026, 3, 3), None, "current")]


def test_api_and_cli_history(life_settings, monkeypatch):
    with TestClient(create_app(life_settings, load_model=False)) as client:
        body = client.get("/facts", params={"bot": BOT, "user": USER, "history": "true"}).json()
        assert body["history"] is True
        ended = {f["fact"]: f for f in body["facts"] if f["valid_to"]}
        assert ended["works at Halvorsen Logistics"]["status"] == "closed"
        now_only = client.get("/facts", params={"bot": BOT, "user": USER}).json()
        assert all(f["valid_to"] is None for f in now_only["facts"])
        r = client.get("/recall", params={"bot": BOT, "user": USER, "query": "where do I live?",
                                          "now": NOW.isoformat(), "history": "true"}).json()
        assert "lives in Lisbon" in {f["fact"] for f in r["history"]} and "Earlier facts" in r["context"]
    monkeypatch.setenv("WHISPER_DATA_DIR", str(life_settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", life_settings.database_url)
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(memory_app, ["facts", "--bot", BOT, "--user", USER, "--history"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "lives in Lisbon" in x)
    assert "2026-01-06" in line and "2026-03-03" in line and "superseded" in line
    result = runner.invoke(memory_app, ["facts", "--bot", BOT, "--user", USER])
    assert "lives in Lisbon" not in result.output and "moved to Porto" in result.output



@pytest.mark.parametrize("history", [True, False])
def test_the_cli_table_fits_an_80_column_terminal(life_settings, monkeypatch, history):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(life_settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", life_settings.database_url)
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(memory_app, ["facts", "--bot", BOT, "--user", USER, *(["--history"] if history else [])])
    assert result.exit_code == 0, result.output
    header = next(x for x in result.output.splitlines() if "category" in x)
    assert "fact" in header and header.rstrip().endswith("┃"), header  # every column shown, none cropped
    assert "moved to Porto" in result.output
