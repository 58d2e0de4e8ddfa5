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
