"""What was just said is recallable at once (add -> search), before any enrichment.

Embedded Qdrant under tmp_path and the real PostgreSQL (conftest's `settings`); nothing is
enriched, so Postgres holds no message vectors: whatever recall finds comes from the Qdrant
messages collection, through this process's shared store.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from whisper_assets.memory.hot_path import close_shared_writers, store_message
from whisper_assets.memory.retrieval import RecallOptions, UnknownBotError, recall

UTC = timezone.utc
TS = datetime(2025, 11, 9, 8, 15, tzinfo=UTC)
NOW = TS + timedelta(hours=1)


@pytest.fixture(autouse=True)
def _no_shared_writers():
    yield
    close_shared_writers()


def _said(settings, bot, user, text, at=TS):
    return store_message(bot, user, "user", text, at, settings=settings)


def _texts(result):
    return [m.text for m in result.messages]


def test_store_then_recall_finds_the_message_by_meaning(settings):
    cat = _said(settings, "elena", "user_alice", "I adopted a cat named Miso last month")
    _said(settings, "elena", "user_alice", "the weather is lovely today", TS + timedelta(minutes=1))

    result = recall("elena", "user_alice", "what is my pet called?", RecallOptions(now=NOW), settings=settings)

    assert result.semantic == "qdrant"
    assert result.messages and result.messages[0].message_id == cat
    assert result.messages[0].text == "I adopted a cat named Miso last month"
    assert result.messages[0].provenance.partitions == ["elena|2025-11-09"]
    assert "Miso" in result.as_context()


def test_recall_sees_only_that_bot_and_user_and_what_was_said_before_now(settings):
    mine = _said(settings, "elena", "user_alice", "I adopted a cat named Miso")
    _said(settings, "elena", "user_bob", "I adopted a cat named Pepper")  # same bot, other user
    _said(settings, "marcus", "user_alice", "I adopted a cat named Luna")  # same user, other bot
    _said(settings, "elena", "user_alice", "I adopted a cat named Nori", NOW + timedelta(minutes=5))  # after now

    alice = recall("elena", "user_alice", "my cat", RecallOptions(now=NOW), settings=settings)
    assert [m.message_id for m in alice.messages] == [mine]

    bob = recall("elena", "user_bob", "my cat", RecallOptions(now=NOW), settings=settings)
    assert _texts(bob) == ["I adopted a cat named Pepper"]
    other_bot = recall("marcus", "user_alice", "my cat", RecallOptions(now=NOW), settings=settings)
    assert _texts(other_bot) == ["I adopted a cat named Luna"]
    later = recall("elena", "user_alice", "my cat", RecallOptions(now=NOW + timedelta(hours=1)), settings=settings)
    assert sorted(_texts(later)) == ["I adopted a cat named Miso", "I adopted a cat named Nori"]
    nobody = recall("elena", "user_carol", "my cat", RecallOptions(now=NOW), settings=settings)
    assert nobody.messages == []


def test_recall_falls_back_to_postgres_while_another_process_holds_the_store(settings):
    _said(settings, "elena", "user_alice", "I adopted a cat named Miso")
    close_shared_writers()  # this process hands the store back
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(settings.resolved_qdrant_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert json.loads(holder.stdout.readline())["holding"]
        # Postgres instead; nothing is enriched yet, so there the bot is unknown
        with pytest.raises(UnknownBotError):
            recall("elena", "user_alice", "my cat", RecallOptions(now=NOW), settings=settings)
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(60)
    free = recall("elena", "user_alice", "my cat", RecallOptions(now=NOW), settings=settings)
    assert free.semantic == "qdrant" and _texts(free) == ["I adopted a cat named Miso"]


def test_recall_given_a_store_or_an_engine_only_keeps_its_old_behaviour(settings):
    from whisper_assets.stores.postgres import get_engine
    from whisper_assets.stores.qdrant import open_store

    _said(settings, "elena", "user_alice", "I adopted a cat named Miso")
    close_shared_writers()
    with open_store(settings) as store:
        held = recall("elena", "user_alice", "my cat", RecallOptions(now=NOW), engine=get_engine(settings), store=store)
    assert held.semantic == "qdrant" and _texts(held) == ["I adopted a cat named Miso"]
    # An engine without settings: recall cannot know which store, so it ranks Postgres vectors.
    with pytest.raises(UnknownBotError):  # (nothing enriched: Postgres knows no such bot)
        recall("elena", "user_alice", "my cat", RecallOptions(now=NOW), engine=get_engine(settings))


_HOLD = r"""
import json, sys
from pathlib import Path
from filelock import FileLock
lock = FileLock(str(Path(sys.argv[1]) / ".lock"))
lock.acquire(timeout=60)
print(json.dumps({"holding": True}), flush=True)
sys.stdin.readline()
lock.release()
"""


# -- nothing said after `now`: a day's summary is recalled from its last message on -----------------

DAY_START = datetime(2025, 11, 10, tzinfo=UTC)  # the day after TS
EVENING = DAY_START + timedelta(hours=19)


def _enrich_for_real(settings, bot="elena"):
    """Stage, enrich (offline backend), write and index every bot-day stored: the run's functions
    without Dagster, so the rows and summary points are exactly what a run writes."""
    from whisper_assets.core.embedding import get_embedder
    from whisper_assets.core.enrichment.pipeline import embed_summaries, enrich_partitions
    from whisper_assets.core.llm.offline import OfflineBackend
    from whisper_assets.stores.partition_io import read_partitions, replace_summary_vectors
    from whisper_assets.stores.postgres import get_engine
    from whisper_assets.stores.qdrant import open_store
    from whisper_assets.stores.repository.enrichment import TABLES, replace_partitions

    close_shared_writers()
    pids = [(bot, DAY_START.date() - timedelta(days=1)), (bot, DAY_START.date())]
    embedder = get_embedder()
    with open_store(settings) as store:
        staged = read_partitions(store, pids)
        grouped = {pid: [m for m in staged if (m.bot_name, m.day) == pid] for pid in pids}
        results = enrich_partitions(grouped, OfflineBackend(), 1, "run-1", embedder)
        summaries = [s for r in results for s in r.summaries]
        embeddings = embed_summaries(summaries, embedder, "test")
        with get_engine(settings).begin() as conn:
            replace_partitions(conn, TABLES["pending_messages"], pids, staged)
            replace_partitions(conn, TABLES["windowed_summaries"], pids, summaries)
            replace_partitions(conn, TABLES["summary_embeddings"], pids, embeddings)
        replace_summary_vectors(store, pids, summaries, embeddings)
    return summaries


@pytest.fixture()
def two_days(settings):
    """user_alice on day 1 (morning) and day 2 (evening only): day 2's window starts at DAY_START
    but nothing of it is said before EVENING."""
    _said(settings, "elena", "user_alice", "I adopted a cat named Miso and she loves the garden")
    _said(settings, "elena", "user_alice", "My cat Miso caught a leaf in the garden", TS + timedelta(minutes=3))
    _said(settings, "elena", "user_alice", "I started learning the cello with a new teacher", EVENING)
    _said(settings, "elena", "user_alice", "The cello teacher says I should practise scales daily",
          EVENING + timedelta(minutes=5))
    summaries = _enrich_for_real(settings)
    assert sorted(s.day for s in summaries) == [TS.date(), DAY_START.date()]
    late = next(s for s in summaries if s.day == DAY_START.date())
    assert late.start_timestamp == DAY_START and late.last_message_at == EVENING + timedelta(minutes=5)
    return settings


def _recalled_days(result):
    return sorted({s.day for s in result.summaries} | {s.day for s in result.related})


QUERIES = ["what did we talk about?", "what did we talk about today?", "the cello lessons and practising scales"]


def test_a_summary_whose_messages_come_after_now_is_never_recalled(two_days):
    """By time range, by recency and by meaning; through Postgres vectors and through Qdrant."""
    from whisper_assets.stores.postgres import get_engine
    from whisper_assets.stores.qdrant import open_store

    _check_summary_points(two_days)
    engine = get_engine(two_days)

    def ask(path, query, now):
        options = RecallOptions(now=now, min_score=-1.0)
        if path == "postgres":
            result = recall("elena", "user_alice", query, options, engine=engine)
        else:
            with open_store(two_days) as store:
                result = recall("elena", "user_alice", query, options, engine=engine, store=store)
        assert result.semantic in (path, "skipped")  # skipped: a query with nothing to search by meaning
        return result

    for path in ("postgres", "qdrant"):
        for query in QUERIES:
            for now in (DAY_START, DAY_START + timedelta(hours=1), EVENING + timedelta(minutes=4)):
                result = ask(path, query, now)
                assert DAY_START.date() not in _recalled_days(result), (path, query, now)
                assert all(m.timestamp <= now for m in result.messages)
            # Once its last message is said, the day's summary is there.
            assert DAY_START.date() in _recalled_days(ask(path, query, EVENING + timedelta(minutes=5))), (path, query)
    # The meaning search itself finds the day's summary once it may (not only the recent list).
    late = ask("qdrant", QUERIES[2], EVENING + timedelta(minutes=5))
    assert [s.day for s in late.related][:1] == [DAY_START.date()]


def _check_summary_points(two_days):
    """The summary points carry when their last message was said, and the search honours it."""
    from whisper_assets.core.messages import epoch_ms
    from whisper_assets.stores.qdrant import open_store

    with open_store(two_days) as store:
        points = store.engine.scroll(store.summaries, {"bot_name": "elena", "user_id": "user_alice"})
        by_day = {p.payload["day"]: p.payload for p in points}
        assert by_day[DAY_START.date().isoformat()]["last_ts"] == epoch_ms(EVENING + timedelta(minutes=5))
        assert by_day[TS.date().isoformat()]["last_ts"] == epoch_ms(TS + timedelta(minutes=3))
        vector = np.ones(384, dtype=np.float32)
        before = store.search_summaries("elena", "user_alice", vector, epoch_ms(EVENING), 5)
        assert [h.payload["day"] for h in before] == [TS.date().isoformat()]
        assert len(store.search_summaries("elena", "user_alice", vector, epoch_ms(EVENING) + 10**6, 5)) == 2
