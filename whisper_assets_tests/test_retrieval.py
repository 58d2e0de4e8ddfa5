"""recall(): facts by category and meaning, summaries by time range and by meaning, provenance,
isolation between look-alike users and bots, empty results and bad input.

Real PostgreSQL (a database per test, conftest) and real embeddings; the Qdrant `summaries`
collection is exercised through the embedded engine (qdrant-edge) and qdrant-client's local mode,
and compared with the Postgres fallback.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

import numpy as np
import pytest
import sqlalchemy as sa

from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.enrichment.models import Summary, SummaryEmbedding
from whisper_assets.stores.partition_io import replace_summary_vectors
from whisper_assets.core.enrichment.pipeline import window
from whisper_assets.core.messages import InvalidMessageError, Message, Role, message_id_for
from pydantic import ValidationError

from whisper_assets.memory.retrieval import (
    RecallError, RecallOptions, RecallResult, UnknownBotError, content_terms, get_facts, recall, route_categories,
)
from whisper_assets.core.settings import Settings, load_settings
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.qdrant import MessageStore, open_store
from whisper_assets.stores.qdrant_engines import ClientEngine
from whisper_assets_tests.conftest import _create_db, _url_for

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant:UserWarning")

UTC = timezone.utc
NOW = datetime(2025, 11, 12, 15, 0, tzinfo=UTC)  # a Wednesday
BOT, USER = "elena", "user_1"

FACTS_USER_1 = [
    ("occupation", "works as a nurse", 0.9),
    ("employer", "works at St. Mary's hospital", 0.8),
    ("pet", "has a dog named Biscuit", 0.9),
    ("pet", "has a cat named Miso", 0.7),
    ("family", "has a sister who lives in Lyon", 0.8),
    ("location", "lives in Portland", 0.95),
    ("hobby", "plays the cello", 0.6),
    ("preference", "favourite food is ramen", 0.85),
    ("health", "is allergic to peanuts", 0.9),
    ("plan", "is planning a trip to Lisbon", 0.7),
]
SUMMARIES_USER_1 = {
    date(2025, 3, 14): "The user planned a spring trip to Lisbon and asked which tram lines go to the castle.",
    date(2025, 10, 20): "The user was nervous about a job interview at the children's hospital.",
    date(2025, 11, 5): "The user adopted a kitten named Miso and bought toys and a scratching post for her.",
    date(2025, 11, 9): "The user cooked a spicy Thai green curry for six friends and burned the rice.",
    date(2025, 11, 10): "The user repaired a flat tyre on their bicycle before commuting to work.",
    date(2025, 11, 11): "The user is training for the Lisbon marathon and their knee hurts after long runs.",
}

# Details a day's summary leaves out; the last one is said after NOW.
MESSAGES_USER_1 = [
    (datetime(2025, 11, 4, 18, 30, tzinfo=UTC), "user",
     "The new trail shoes are for the half marathon in the hills in December."),
    (datetime(2025, 11, 7, 9, 5, tzinfo=UTC), "user",
     "My sister is getting married in Porto next June and I'm her maid of honour."),
    (datetime(2025, 11, 11, 20, 0, tzinfo=UTC), "bot",
     "Try icing your knee for fifteen minutes after each long run."),
    (datetime(2025, 11, 12, 9, 0, tzinfo=UTC), "user", "ok thanks"),
    (datetime(2025, 11, 13, 8, 0, tzinfo=UTC), "user", "I finally booked the flights to Porto for the wedding."),
]


# -- fixtures and helpers ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def embedder():
    return get_embedder()


@pytest.fixture(scope="module")
def shared_settings(tmp_path_factory, pg_admin, _created_dbs, _template_db) -> Settings:
    """One migrated database (and Qdrant directory) for the read-only tests of this module."""
    url = _url_for(_create_db(pg_admin, _created_dbs, template=_template_db))
    return load_settings(data_dir=tmp_path_factory.mktemp("retrieval") / "whisper", database_url=url)


@pytest.fixture(scope="module")
def engine(shared_settings) -> Iterator[sa.Engine]:
    engine = get_engine(shared_settings)
    yield engine
    engine.dispose()


@pytest.fixture()
def own_engine(settings) -> Iterator[sa.Engine]:
    """A database of this test's own (for tests that need it empty or write to it)."""
    engine = get_engine(settings)
    yield engine
    engine.dispose()


def ids(n: int = 2) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def add_fact(conn, bot, user, category, fact, confidence, seen=datetime(2025, 11, 1, 9, tzinfo=UTC),
             mentions=1) -> list[str]:
    sources = ids()
    conn.execute(
        sa.text(
            "INSERT INTO user_facts (user_id, bot_name, fact_content, category, confidence, mention_count,"
            " first_seen, last_seen, source_message_ids, model, prompt_version)"
            " VALUES (:u, :b, :f, :c, :conf, :m, :first, :last, CAST(:src AS uuid[]), 'test-model', 'v-test')"
        ),
        {"u": user, "b": bot, "f": fact, "c": category, "conf": confidence, "m": mentions,
         "first": seen - timedelta(days=3), "last": seen, "src": sources},
    )
    return sources


class Corpus:
    """Summaries written the way the pipeline writes them: Postgres rows + vectors (+ Qdrant points);
    messages the way the hot path and `pending_messages` write them (Qdrant point, staged Postgres row)."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.summaries: list[Summary] = []
        self.embeddings: list[SummaryEmbedding] = []
        self.messages: list[Message] = []

    def say(self, conn, bot: str, user: str, ts: datetime, text: str, role: str = "user") -> list[str]:
        m = Message(message_id_for(bot, user, role, int(ts.timestamp() * 1000), text), bot, user, Role(role), text, ts)
        self.messages.append(m)
        conn.execute(
            sa.text(
                "INSERT INTO pending_messages (message_id, bot_name, day, user_id, role, content, ts, vector)"
                " VALUES (:id, :b, :d, :u, :r, :t, :ts, :v)"
            ),
            {"id": m.message_id, "b": bot, "d": ts.date(), "u": user, "r": role, "t": text, "ts": ts,
             "v": self.embedder.encode_one(text).astype(np.float32).tobytes()},
        )
        return [m.message_id]

    def add(self, conn, bot: str, user: str, day: date, text: str) -> list[str]:
        start, end = window(day)
        sources = ids(3)
        vector = self.embedder.encode_one(text)
        # Its messages were said at the window's start (recall shows a summary from its last message on).
        s = Summary(bot, day, user, start, end, text, ("chat",), 3, tuple(sources), "test-model", "v-test",
                    last_message_at=start)
        self.summaries.append(s)
        self.embeddings.append(SummaryEmbedding(bot, day, user, start, end, vector, "test-model"))
        conn.execute(
            sa.text(
                "INSERT INTO conversation_summaries (user_id, bot_name, day, start_timestamp, end_timestamp,"
                " summary_text, topics, message_count, source_message_ids, model, prompt_version, last_message_at)"
                " VALUES (:u, :b, :d, :s, :e, :t, :topics, 3, CAST(:src AS uuid[]), 'test-model', 'v-test', :s)"
            ),
            {"u": user, "b": bot, "d": day, "s": start, "e": end, "t": text, "topics": ["chat"], "src": sources},
        )
        conn.execute(
            sa.text(
                "INSERT INTO summary_embeddings (user_id, bot_name, day, start_timestamp, end_timestamp,"
                " embedding, model) VALUES (:u, :b, :d, :s, :e, :v, 'test-model')"
            ),
            {"u": user, "b": bot, "d": day, "s": start, "e": end, "v": vector.tolist()},
        )
        return sources

    def index(self, store: MessageStore) -> None:
        pids = sorted({(s.bot_name, s.day) for s in self.summaries})
        replace_summary_vectors(store, pids, self.summaries, self.embeddings)
        store.upsert_messages(self.messages, self.embedder.encode([m.content for m in self.messages]))


@pytest.fixture(scope="module")
def world(engine, embedder) -> dict:
    """elena/user_1 with facts and summaries, and look-alikes: user_10, user_, elena2, elena.bak."""
    sources: dict[tuple[str, str], set[str]] = {}
    corpus = Corpus(embedder)

    def own(bot, user, new):
        sources.setdefault((bot, user), set()).update(new)

    with engine.begin() as conn:
        for category, fact, conf in FACTS_USER_1:
            own(BOT, USER, add_fact(conn, BOT, USER, category, fact, conf))
        for day, text in SUMMARIES_USER_1.items():
            own(BOT, USER, corpus.add(conn, BOT, USER, day, text))
        # look-alikes: same fact texts, same days, near-identical summaries
        for bot, user in [(BOT, "user_10"), ("elena2", USER), (BOT, "USER_1"), ("elena.bak", USER)]:
            own(bot, user, add_fact(conn, bot, user, "location", "lives in Portland", 0.99))
            own(bot, user, add_fact(conn, bot, user, "occupation", f"works as a pilot ({bot}/{user})", 0.99))
            own(bot, user, add_fact(conn, bot, user, "pet", f"has a parrot named Kiwi ({bot}/{user})", 0.99))
            own(bot, user, corpus.add(conn, bot, user, date(2025, 11, 11),
                                      f"The user is training for the Lisbon marathon, knee pain after long runs "
                                      f"({user})."))
            own(bot, user, corpus.add(conn, bot, user, date(2025, 11, 6),
                                      f"The user talked about their pet parrot Kiwi ({user})."))
        for ts, role, text in MESSAGES_USER_1:
            own(BOT, USER, corpus.say(conn, BOT, USER, ts, text, role))
            for bot, user in [(BOT, "user_10"), ("elena2", USER), (BOT, "USER_1")]:
                own(bot, user, corpus.say(conn, bot, user, ts, f"{text} ({bot}/{user})", role))
    return {"sources": sources, "corpus": corpus}


@pytest.fixture(scope="module", params=["edge", "client"])
def summary_store(request, shared_settings, world) -> Iterator[MessageStore]:
    """The `summaries` collection through either engine, holding everyone's summary vectors."""
    settings = shared_settings
    if request.param == "edge":
        with open_store(settings) as store:
            world["corpus"].index(store)
            yield store
    else:
        from qdrant_client import QdrantClient

        store = MessageStore(ClientEngine(QdrantClient(location=":memory:")), settings)
        store.ensure_schema()
        world["corpus"].index(store)
        try:
            yield store
        finally:
            store.engine.close()


RESOURCES = {"store", "embedder", "settings", "query_vector"}  # recall's keyword arguments; the rest: options


def ask(engine, query, user=USER, bot=BOT, **kw) -> RecallResult:
    kw.setdefault("now", NOW)
    resources = {k: kw.pop(k) for k in list(kw) if k in RESOURCES}
    return recall(bot, user, query, RecallOptions(**kw), engine=engine, **resources)


def all_sources(result: RecallResult) -> set[str]:
    items = [*result.facts, *result.summaries, *result.related, *result.messages]
    return {mid for item in items for mid in item.provenance.source_message_ids}


# -- facts -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "query, expected",
    [
        ("what do you know about my job?", {"occupation", "employer"}),
        ("where do I work?", {"occupation", "employer"}),
        ("what are my pets called?", {"pet"}),
        ("tell me about my family", {"family"}),
        ("where do I live?", {"location"}),
        ("am I allergic to anything?", {"health"}),
        ("what's my favourite food?", {"preference"}),
        ("any travel coming up?", {"travel", "plan"}),
    ],
)
def test_facts_of_the_named_category_come_first(engine, world, query, expected):
    result = ask(engine, query, semantic=False)
    assert set(result.categories) == expected and result.category_source == "keywords"
    n = sum(1 for c, _, _ in FACTS_USER_1 if c in expected)
    assert {f.category for f in result.facts[:n]} <= expected
    assert all(f.category not in expected for f in result.facts[n:])
    assert all(f.matched and f.matched[0].startswith("category") for f in result.facts[:n])


def test_within_a_category_higher_confidence_first(engine, world):
    pets = [f.fact for f in ask(engine, "my pets", semantic=False).facts[:2]]
    assert pets == ["has a dog named Biscuit", "has a cat named Miso"]


def test_without_a_category_words_then_confidence_rank(engine, world):
    result = ask(engine, "what do you know about me?", semantic=False)
    assert result.categories == [] and result.category_source == "none"
    confidences = [f.confidence for f in result.facts]
    assert confidences == sorted(confidences, reverse=True) and result.facts[0].fact == "lives in Portland"
    result = ask(engine, "tell me about Biscuit", semantic=False)
    assert result.facts[0].fact == "has a dog named Biscuit" and "words: biscuit" in result.facts[0].matched


def test_category_by_meaning_when_no_keyword_names_one(engine, world, embedder):
    assert route_categories("what's my pup called?") == []
    result = ask(engine, "what's my pup called?", embedder=embedder)
    assert result.category_source == "meaning" and result.categories[0] == "pet"
    assert result.facts[0].category == "pet"


def test_limit_and_fact_provenance(engine, world):
    assert len(ask(engine, "what do you know about me?", limit=3, semantic=False).facts) == 3
    result = ask(engine, "my pets", limit=1, semantic=False)
    assert len(result.facts) == 1
    dog = result.facts[0]
    assert dog.provenance.partitions == ["elena|2025-10-29", "elena|2025-11-01"]
    assert len(dog.provenance.source_message_ids) == 2 and dog.provenance.model == "test-model"
    assert set(dog.provenance.source_message_ids) <= world["sources"][(BOT, USER)]


def test_get_facts_by_category(engine, world):
    facts = get_facts(BOT, USER, "pet", engine=engine)
    assert [f.fact for f in facts] == ["has a dog named Biscuit", "has a cat named Miso"]
    with pytest.raises(RecallError, match="unknown category 'pets'"):
        get_facts(BOT, USER, "pets", engine=engine)
    with pytest.raises(UnknownBotError):
        get_facts("nobody", USER, engine=engine)
    assert get_facts(BOT, "nobody", engine=engine) == []


def test_content_terms_ignore_question_words():
    assert content_terms("What did we talk about last week?") == set()
    assert content_terms("How's my marathon training going?") == {"marathon", "train", "going"}


# -- summaries by time -------------------------------------------------------------------------------

def days_of(items) -> list[str]:
    return [s.day.isoformat() for s in items]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("what did we talk about yesterday?", ["2025-11-11"]),
        ("what did we talk about last week?", ["2025-11-05", "2025-11-09"]),
        ("and this week?", ["2025-11-10", "2025-11-11"]),
        ("what happened in March?", ["2025-03-14"]),
        ("last month", ["2025-10-20"]),
        ("since the 3rd", ["2025-11-05", "2025-11-09", "2025-11-10", "2025-11-11"]),
        ("on Monday", ["2025-11-10"]),
        ("today", []),
    ],
)
def test_summaries_of_the_time_named(engine, world, query, expected):
    result = ask(engine, query, semantic=False)
    assert result.summaries_scope == "time_range" and result.time_range is not None
    assert days_of(result.summaries) == expected
    assert result.summaries_total == len(expected)
    for s in result.summaries:
        assert s.provenance.partitions == [f"elena|{s.day.isoformat()}"]
        assert (s.provenance.window_start, s.provenance.window_end) == window(s.day)
        assert len(s.provenance.source_message_ids) == 3
        assert set(s.provenance.source_message_ids) <= world["sources"][(BOT, USER)]


def test_summary_limit_keeps_the_latest(engine, world):
    result = ask(engine, "since March", summary_limit=2, semantic=False)
    assert days_of(result.summaries) == ["2025-11-10", "2025-11-11"] and result.summaries_total == 6
    assert "the latest 2 of 6" in result.as_context()


def test_yesterday_is_the_users_yesterday(engine, world):
    now = datetime(2025, 11, 12, 3, 0, tzinfo=UTC)  # still Nov 11 in Los Angeles
    utc = ask(engine, "what did we do yesterday?", now=now, semantic=False)
    la = ask(engine, "what did we do yesterday?", now=now, tz="America/Los_Angeles", semantic=False)
    assert utc.time_range.first_day == date(2025, 11, 11)
    assert la.time_range.first_day == date(2025, 11, 10)
    assert days_of(utc.summaries) == ["2025-11-11"]
    # Nov 10 in Los Angeles is 08:00Z Nov 10 to 08:00Z Nov 11: it overlaps two UTC day windows
    assert days_of(la.summaries) == ["2025-11-10", "2025-11-11"]
    assert "America/Los_Angeles" in la.as_context()


def test_no_time_named_gives_recent_summaries(engine, world):
    result = ask(engine, "what do you know about me?", semantic=False)
    assert result.time_range is None and result.summaries_scope == "recent"
    assert days_of(result.summaries) == ["2025-11-09", "2025-11-10", "2025-11-11"]


# -- summaries by meaning ----------------------------------------------------------------------------

def test_related_by_meaning_from_postgres(engine, world, embedder):
    result = ask(engine, "how is my marathon training going?", embedder=embedder)
    assert result.semantic == "postgres"
    assert days_of(result.related)[0] == "2025-11-11" and result.related[0].score > 0.4
    assert all(s.score >= 0.3 for s in result.related)
    # a question that found its own summaries gets none chosen by date alone
    assert result.summaries == [] and result.summaries_total == 0
    result = ask(engine, "did I get a new kitten?", embedder=embedder)
    assert days_of(result.related)[0] == "2025-11-05"
    result = ask(engine, "what did I cook for my friends?", embedder=embedder)
    assert days_of(result.related)[0] == "2025-11-09"


def test_related_by_meaning_from_qdrant_matches_postgres(engine, world, embedder, summary_store):
    for query in ("how is my marathon training going?", "did I get a new kitten?", "the tram in Lisbon",
                  "what did we talk about last week regarding my cat?"):
        from_pg = ask(engine, query, embedder=embedder)
        from_qdrant = ask(engine, query, embedder=embedder, store=summary_store)
        assert from_qdrant.semantic == "qdrant"
        assert days_of(from_qdrant.related) == days_of(from_pg.related)
        assert from_pg.related or "last week" in query  # last week's kitten is shown in the range instead
        assert [s.provenance for s in from_qdrant.related] == [s.provenance for s in from_pg.related]
        np.testing.assert_allclose([s.score for s in from_qdrant.related], [s.score for s in from_pg.related],
                                   atol=1e-3)
        assert all_sources(from_qdrant) <= world["sources"][(BOT, USER)]


def test_time_range_and_meaning_together(engine, world, embedder):
    result = ask(engine, "what did we talk about last week regarding my cat?", embedder=embedder)
    assert days_of(result.summaries) == ["2025-11-05", "2025-11-09"]
    assert "2025-11-05" not in days_of(result.related)  # shown once, in the time range
    assert result.categories == ["pet"] and result.facts[0].category == "pet"


def test_a_question_without_content_words_skips_the_embedding(engine, world, embedder):
    result = ask(engine, "what did we talk about last week?", embedder=embedder)
    assert result.semantic == "skipped" and "embed" not in result.timings_ms and result.related == []
    assert result.messages == []


# -- messages by meaning -----------------------------------------------------------------------------

def texts_of(result: RecallResult) -> list[str]:
    return [m.text for m in result.messages]


def test_messages_by_meaning_from_postgres(engine, world, embedder):
    result = ask(engine, "what were my new shoes for?", embedder=embedder)
    assert result.semantic == "postgres"
    top = result.messages[0]
    assert top.text.startswith("The new trail shoes") and top.role == "user" and top.score > 0.4
    assert top.provenance.partitions == ["elena|2025-11-04"] and top.provenance.model is None
    assert top.provenance.source_message_ids == [top.message_id] and top.message_id in world["sources"][(BOT, USER)]
    assert all(m.score >= 0.2 for m in result.messages)
    # the bot's side of the conversation is there too
    result = ask(engine, "what should I do about my sore knee?", embedder=embedder)
    assert result.messages[0].role == "bot" and "icing" in result.messages[0].text


def test_messages_are_as_of_now_and_inside_the_time_range(engine, world, embedder):
    later = "I finally booked the flights to Porto for the wedding."
    assert later not in texts_of(ask(engine, "my sister's wedding in Porto", embedder=embedder))
    after = ask(engine, "my sister's wedding in Porto", embedder=embedder, now=NOW + timedelta(days=2))
    assert later in texts_of(after)[:2]
    # "last week" is Nov 3-9: the shoes (Nov 4) and the wedding (Nov 7), not the knee advice (Nov 11)
    result = ask(engine, "what did I say last week about running?", embedder=embedder)
    days = {m.timestamp.date() for m in result.messages}
    assert days and days <= {date(2025, 11, 4), date(2025, 11, 7)}


def test_message_limit_and_threshold(engine, world, embedder):
    assert len(ask(engine, "shoes wedding knee", embedder=embedder, message_limit=2).messages) == 2
    assert ask(engine, "shoes wedding knee", embedder=embedder, message_limit=0).messages == []
    assert ask(engine, "shoes", embedder=embedder, message_min_score=0.99).messages == []


def test_messages_from_qdrant_match_postgres(engine, world, embedder, summary_store):
    for query in ("what were my new shoes for?", "my sister's wedding in Porto", "sore knee after long runs",
                  "what did I say last week about running?"):
        from_pg = ask(engine, query, embedder=embedder)
        from_qdrant = ask(engine, query, embedder=embedder, store=summary_store)
        assert from_pg.messages, query
        assert [m.message_id for m in from_qdrant.messages] == [m.message_id for m in from_pg.messages], query
        assert [m.provenance for m in from_qdrant.messages] == [m.provenance for m in from_pg.messages]
        np.testing.assert_allclose([m.score for m in from_qdrant.messages], [m.score for m in from_pg.messages],
                                   atol=1e-3)
        assert all_sources(from_qdrant) <= world["sources"][(BOT, USER)]


def test_context_quotes_messages_with_who_said_them(engine, world, embedder):
    context = ask(engine, "what should I do about my sore knee?", embedder=embedder).as_context()
    assert "Past messages related to the question:" in context
    assert '- 2025-11-11 bot: "Try icing your knee for fifteen minutes after each long run."' in context


# -- isolation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bot, user", [(BOT, USER), (BOT, "user_10"), ("elena2", USER), (BOT, "USER_1"),
                                       ("elena.bak", USER)])
def test_only_that_bot_and_user(engine, world, embedder, bot, user):
    mine = world["sources"][(bot, user)]
    for query in ("what do you know about my job?", "how is my marathon training going?", "yesterday",
                  "tell me about my parrot", "where do I live?"):
        result = ask(engine, query, user=user, bot=bot, embedder=embedder)
        assert not result.is_empty and all_sources(result) <= mine, query
        assert not any("pilot" in f.fact and f"({bot}/{user})" not in f.fact for f in result.facts)
    facts = get_facts(bot, user, engine=engine)
    assert {m for f in facts for m in f.provenance.source_message_ids} <= mine


def test_isolation_holds_in_qdrant_search(engine, world, embedder, summary_store):
    for bot, user in [(BOT, USER), (BOT, "user_10"), ("elena2", USER), (BOT, "USER_1")]:
        result = ask(engine, "training for the Lisbon marathon, knee pain", user=user, bot=bot,
                     embedder=embedder, store=summary_store)
        assert result.semantic == "qdrant" and result.related
        assert all_sources(result) <= world["sources"][(bot, user)]


def test_prefixes_and_patterns_match_nobody(engine, world, embedder):
    for user in ("user_", "user_%", "user_1%", "%", "user_1 ", "user"):
        result = ask(engine, "what do you know about my job and my marathon?", user=user, embedder=embedder)
        assert result.is_empty, user
        assert "Nothing is known about this user yet" in result.as_context()
    with pytest.raises(UnknownBotError):
        ask(engine, "my job", bot="elen")


# -- empty results and bad input ---------------------------------------------------------------------

def test_unknown_user_of_a_known_bot_is_empty_not_an_error(engine, world, embedder):
    result = ask(engine, "what did we talk about last week?", user="newcomer", embedder=embedder)
    assert result.is_empty and result.time_range is not None
    context = result.as_context()
    assert "Nothing is known about this user" in context and "last week" in context


def test_empty_database(own_engine):
    with pytest.raises(UnknownBotError, match="unknown bot 'elena'"):
        ask(own_engine, "what do you know about me?", semantic=False)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"bot": "bad|name"}, InvalidMessageError, "invalid bot name"),
        ({"bot": ""}, InvalidMessageError, "invalid bot name"),
        ({"user": "  "}, InvalidMessageError, "invalid user id"),
        ({"query": ""}, RecallError, "query is empty"),
        ({"query": " \n "}, RecallError, "query is empty"),
        ({"query": "x" * 5000}, RecallError, "at most 2000"),
        ({"now": datetime(2025, 11, 12, 15, 0)}, RecallError, "timezone-aware"),
        ({"tz": "Mars/Olympus"}, ValidationError, "unknown time zone"),
        ({"limit": 0}, ValidationError, "limit"),
        ({"limit": 501}, ValidationError, "limit"),
        ({"message_limit": -1}, ValidationError, "message_limit"),
        ({"min_score": 1.5}, ValidationError, "min_score"),
        ({"mesage_limit": 2}, ValidationError, "mesage_limit"),  # a misspelt option is not ignored
        ({"bot": "nobody"}, UnknownBotError, "unknown bot 'nobody'"),
    ],
)
def test_bad_input(engine, world, kwargs, error, match):
    args = {"bot": BOT, "user": USER, "query": "what do you know about my job?", "now": NOW, **kwargs}
    bot, user, query = args.pop("bot"), args.pop("user"), args.pop("query")
    with pytest.raises(error, match=match):
        recall(bot, user, query, RecallOptions(semantic=False, **args), engine=engine)


@pytest.mark.parametrize("query", ["what did we talk about in 1850?", "what will we talk about next century?",
                                   "what did we say in 9999?", "on February 30", "5000 years ago"])
def test_absurd_time_ranges(engine, world, query):
    result = ask(engine, query, semantic=False)
    assert result.summaries == [] or result.time_range is None
    # the facts are still there, unless the unresolved phrase is left as words that no fact holds
    assert result.facts or (result.time_range is None and content_terms(query))
    context = result.as_context()
    if result.time_range is not None:
        assert "none found" in context


def test_context_block(engine, world, embedder):
    context = ask(engine, "what did we talk about last week regarding my cat?", embedder=embedder).as_context()
    assert context.startswith("Memory of this user (as of 2025-11-12 15:00 UTC):")
    assert "- [pet] has a cat named Miso (as of 2025-11-01; confidence 0.70)" in context
    assert 'Conversations "last week" (2025-11-03 to 2025-11-09):' in context
    assert "- 2025-11-05: The user adopted a kitten named Miso" in context
    assert len(context) <= 2000


def test_context_is_bounded(own_engine, embedder):
    engine = own_engine
    corpus = Corpus(embedder)
    with engine.begin() as conn:
        for i in range(150):
            add_fact(conn, BOT, "chatty", "other", f"fact number {i} " + "blah " * 60, 0.5 + i / 1000)
        for i in range(10):
            corpus.add(conn, BOT, "chatty", date(2025, 11, 2 + i), f"Day {i}: " + "a long story about everything " * 30)
    result = ask(engine, "what did we talk about since the 1st?", user="chatty", limit=50, semantic=False)
    assert len(result.facts) == 50 and result.summaries_total == 10
    for limit in (2000, 800, 300):
        context = result.as_context(max_chars=limit)
        assert len(context) <= limit
        assert "more not shown" in context or limit == 300
    assert "fact number 149" in result.as_context()  # the most confident fact survives


# -- end to end through the enrichment graph ---------------------------------------------------------

def test_recall_after_real_enrichment(tmp_path, database_url):
    """Messages through the hot path, the offline backend through Dagster, then recall with provenance."""
    import dagster as dg

    from whisper_assets.defs.resources import LLMResource, StoresResource
    from whisper_assets.defs.runs import materialize_days
    from whisper_assets_tests.enrichment_helpers import fast_settings, say, store

    day = date(2025, 11, 9)
    with fast_settings(tmp_path, database_url) as settings:
        ids = store(settings, [
            say("user_a", "I have a dog named Biscuit", 0, day=day),
            say("user_a", "I work as a nurse at St. Mary's", 1, day=day),
            say("user_a", "We walked along the river and talked about training for a marathon", 2, day=day),
            say("user_a", "Nice! Keep going.", 3, role="bot", day=day),
            say("user_b", "I have a cat named Miso", 4, day=day),
        ])
        stores = StoresResource(data_dir=str(settings.data_dir), database_url=settings.database_url)
        [outcome] = materialize_days({"elena": [day]}, instance=dg.DagsterInstance.ephemeral(), stores=stores,
                                     llm=LLMResource(backend="offline"), log_level="CRITICAL")
        assert outcome.success, outcome.error
        engine = get_engine(settings)
        now = datetime(2025, 11, 10, 12, 0, tzinfo=UTC)
        facts_only = RecallOptions(now=now, semantic=False)
        result = recall("elena", "user_a", "what are my pets called?", facts_only, engine=engine)
        dog = result.facts[0]
        assert dog.category == "pet" and "Biscuit" in dog.fact
        assert dog.provenance.source_message_ids == [ids[0]]
        assert dog.provenance.partitions == ["elena|2025-11-09"]
        assert not any("Miso" in f.fact for f in result.facts)  # user_b's cat

        result = recall("elena", "user_a", "what did we talk about yesterday?", facts_only, engine=engine)
        [summary] = result.summaries
        assert summary.provenance.partitions == ["elena|2025-11-09"]
        assert set(summary.provenance.source_message_ids) <= set(ids[:4]) and ids[4] not in \
            summary.provenance.source_message_ids

        with open_store(settings) as held:  # a held-open embedded store: searched in Qdrant
            from_qdrant = recall("elena", "user_a", "my dog Biscuit and my nursing job", RecallOptions(now=now),
                                 engine=engine, store=held)
        from_pg = recall("elena", "user_a", "my dog Biscuit and my nursing job", RecallOptions(now=now),
                         engine=engine)
        assert from_qdrant.semantic == "qdrant" and from_pg.semantic == "postgres"
        assert [s.provenance for s in from_qdrant.related] == [s.provenance for s in from_pg.related]
        assert from_pg.related and from_pg.related[0].day == day
        engine.dispose()
