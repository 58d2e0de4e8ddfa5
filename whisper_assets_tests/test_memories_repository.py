"""stores/repository/memories.py: the PostgreSQL reads of recall, the API and the CLI, typed and
scoped to one bot and one user; RecallOptions (the one definition of recall's limits); the CLI's
memory listing that reads through the repository."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Iterator

import numpy as np
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.enrichment.pipeline import window
from whisper_assets.memory.retrieval import MAX_FACTS_SCANNED, RecallOptions
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.repository import consolidation, memories
from whisper_assets_tests.test_retrieval import Corpus, add_fact

UTC = timezone.utc
SEEN = datetime(2025, 6, 20, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def embedder():
    return get_embedder()


@pytest.fixture()
def conn(settings, embedder) -> Iterator[sa.Connection]:
    """gwen/rosa's facts, summaries and messages, and a look-alike user and bot with their own."""
    engine = get_engine(settings)
    corpus = Corpus(embedder)
    with engine.begin() as c:
        add_fact(c, "gwen", "rosa", "hobby", "restores old sailing boats", 0.6, seen=SEEN, mentions=4)
        add_fact(c, "gwen", "rosa", "hobby", "sings in a harbour choir", 0.6, seen=SEEN - timedelta(days=9),
                 mentions=4)
        add_fact(c, "gwen", "rosa", "pet", "has a tortoise called Pebble", 0.95, seen=SEEN)
        add_fact(c, "gwen", "rosa", "location", "lives above a bakery in Bristol", 0.8,
                 seen=SEEN + timedelta(days=30))  # first seen 27 days after SEEN
        add_fact(c, "gwen", "rosa2", "pet", "has a ferret called Dash", 0.99, seen=SEEN)
        add_fact(c, "gwen2", "rosa", "pet", "has a goldfish called Bubbles", 0.99, seen=SEEN)
        for day, text in [(date(2025, 6, 10), "Rosa sanded the hull of her boat all afternoon."),
                          (date(2025, 6, 12), "Rosa rehearsed sea shanties with the choir."),
                          (date(2025, 6, 15), "Rosa bought lettuce for Pebble the tortoise.")]:
            corpus.add(c, "gwen", "rosa", day, text)
        corpus.add(c, "gwen", "rosa2", date(2025, 6, 12), "Rosa2 walked Dash along the canal.")
        for hour, text in [(8, "The varnish on the tiller is finally dry."), (9, "Pebble ate a whole strawberry."),
                           (10, "Choir practice moved to Thursday.")]:
            corpus.say(c, "gwen", "rosa", datetime(2025, 6, 15, hour, tzinfo=UTC), text)
        corpus.say(c, "gwen", "rosa2", datetime(2025, 6, 15, 9, tzinfo=UTC), "Dash stole a sock.")
    with engine.connect() as c:
        yield c
    engine.dispose()


def test_facts_are_typed_ranked_and_scoped(conn):
    rows = consolidation.fact_records(conn, "gwen", "rosa", limit=MAX_FACTS_SCANNED)
    assert [r.fact for r in rows] == [
        "has a tortoise called Pebble", "lives above a bakery in Bristol",
        "restores old sailing boats", "sings in a harbour choir",  # same confidence and mentions: latest seen first
    ]
    pebble = rows[0]
    assert (pebble.category, pebble.confidence, pebble.mention_count) == ("pet", pytest.approx(0.95), 1)
    assert pebble.last_seen == SEEN and pebble.first_seen == SEEN - timedelta(days=3)
    assert len(pebble.source_message_ids) == 2 and all(isinstance(i, str) for i in pebble.source_message_ids)
    assert (pebble.model, pebble.prompt_version) == ("test-model", "v-test")
    assert [r.fact for r in consolidation.fact_records(conn, "gwen", "rosa", limit=10, category="hobby")] == [
        "restores old sailing boats", "sings in a harbour choir"]
    assert len(consolidation.fact_records(conn, "gwen", "rosa", limit=2)) == 2
    # as of SEEN: the Bristol fact was first learnt later
    assert "lives above a bakery in Bristol" not in {r.fact for r in consolidation.fact_records(conn, "gwen", "rosa", limit=10,
                                                                                    now=SEEN)}
    assert consolidation.fact_records(conn, "gwen", "ros", limit=10) == []  # never by prefix


def test_summaries_by_range_recent_start_and_listing(conn):
    start, _ = window(date(2025, 6, 11))
    _, end = window(date(2025, 6, 15))
    page = memories.summaries_in_range(conn, "gwen", "rosa", start, end, limit=1)
    assert page.total == 2 and [r.day for r in page.rows] == [date(2025, 6, 15)]  # the latest, newest first
    assert page.rows[0].text == "Rosa bought lettuce for Pebble the tortoise." and page.rows[0].topics == ["chat"]
    assert memories.summaries_in_range(conn, "gwen", "nobody", start, end, limit=5) == memories.SummaryPage([], 0)

    recent = memories.recent_summaries(conn, "gwen", "rosa", now=datetime(2025, 6, 13, tzinfo=UTC), limit=5)
    assert [r.day for r in recent] == [date(2025, 6, 12), date(2025, 6, 10)]

    starts = [window(date(2025, 6, 10))[0], window(date(2025, 6, 14))[0]]
    assert [r.day for r in memories.summaries_by_start(conn, "gwen", "rosa", starts)] == [date(2025, 6, 10)]

    listed = memories.list_summaries(conn, "gwen", "rosa")
    assert [r.day for r in listed] == [date(2025, 6, 10), date(2025, 6, 12), date(2025, 6, 15)]  # oldest first
    assert [r.day for r in memories.list_summaries(conn, "gwen", "rosa", start=start)] == [
        date(2025, 6, 12), date(2025, 6, 15)]
    assert len(listed[0].source_message_ids) == 3 and listed[0].message_count == 3


def test_vectors_line_up_with_their_rows(conn, embedder):
    windows = memories.summary_vectors(conn, "gwen", "rosa", now=datetime(2025, 6, 13, tzinfo=UTC))
    assert len(windows) == 2 and windows.matrix.shape == (2, 384) and windows.matrix.dtype == np.float32
    by_start = dict(zip(windows.starts, windows.matrix))
    np.testing.assert_allclose(by_start[window(date(2025, 6, 12))[0]],
                               embedder.encode_one("Rosa rehearsed sea shanties with the choir."), atol=1e-6)

    found = memories.message_vectors(conn, "gwen", "rosa", now=datetime(2025, 6, 16, tzinfo=UTC),
                                     start=None, end=None, cap=10)
    assert [found.message(i).text for i in range(len(found))] == [
        "Choir practice moved to Thursday.", "Pebble ate a whole strawberry.",
        "The varnish on the tiller is finally dry."]  # newest first
    np.testing.assert_allclose(found.matrix[1], embedder.encode_one("Pebble ate a whole strawberry."), atol=1e-6)
    assert found.message(1).role == "user" and found.message(1).ts == datetime(2025, 6, 15, 9, tzinfo=UTC)
    bounded = memories.message_vectors(conn, "gwen", "rosa", now=datetime(2025, 6, 16, tzinfo=UTC),
                                       start=datetime(2025, 6, 15, 9, tzinfo=UTC),
                                       end=datetime(2025, 6, 15, 10, tzinfo=UTC), cap=10)
    assert [bounded.message(i).text for i in range(len(bounded))] == ["Pebble ate a whole strawberry."]
    assert len(memories.message_vectors(conn, "gwen", "rosa", now=datetime(2025, 6, 15, 8, 30, tzinfo=UTC),
                                        start=None, end=None, cap=10)) == 1
    assert len(memories.message_vectors(conn, "gwen", "rosa", now=datetime(2025, 6, 16, tzinfo=UTC),
                                        start=None, end=None, cap=2)) == 2
    assert len(memories.message_vectors(conn, "gwen", "nobody", now=datetime(2025, 6, 16, tzinfo=UTC),
                                        start=None, end=None, cap=10)) == 0


def test_bots_and_users(conn):
    assert memories.bot_exists(conn, "gwen") and memories.bot_exists(conn, "gwen2")
    assert not memories.bot_exists(conn, "gwe")
    assert memories.users_with_memories(conn) == [("gwen", "rosa"), ("gwen", "rosa2"), ("gwen2", "rosa")]
    assert [(p.bot, p.user) for p in memories.users_with_memories(conn, "gwen2")] == [("gwen2", "rosa")]
    memories.ping(conn)


def test_the_cli_listing_reads_through_the_repository(conn, settings, capsys, monkeypatch):
    from whisper_assets.interfaces.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    app._print_memories(settings)
    out = capsys.readouterr().out
    rosa = out[out.index("rosa with gwen"):out.index("rosa2 with gwen")]
    # categories in alphabetical order, most confident first within one
    assert rosa.index("hobby") < rosa.index("location") < rosa.index("pet")
    assert rosa.index("restores old sailing boats") < rosa.index("sings in a harbour choir")
    assert rosa.index("2025-06-10") < rosa.index("2025-06-12") < rosa.index("2025-06-15")
    assert "Dash" not in rosa and "Bubbles" not in rosa


def test_recall_options_validate_once():
    assert RecallOptions().limit == 10 and RecallOptions(tz="Europe/Lisbon").tz == "Europe/Lisbon"
    for bad in ({"limit": 0}, {"limit": MAX_FACTS_SCANNED + 1}, {"related_limit": -1}, {"week_start": 7},
                {"message_min_score": -2}, {"tz": "Atlantis/Capital"}, {"limits": 3}):
        with pytest.raises(ValidationError):
            RecallOptions(**bad)
    options = RecallOptions(now=SEEN)
    with pytest.raises(ValidationError):  # frozen: one options value can be shared by many recalls
        options.limit = 3  # type: ignore[misc]
