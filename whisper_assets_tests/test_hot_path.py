"""The hot path on an embedded Qdrant in tmp_path, with the real all-MiniLM-L6-v2 (offline).

No PostgreSQL here: the hot path never touches it. The model loads once per process
(`get_embedder` is cached), so these tests stay fast.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from whisper_assets.core.embedding import EMBEDDING_DIM, get_embedder
from whisper_assets.memory.hot_path import MessageIn, message_writer, store_message, store_messages
from whisper_assets.core.messages import InvalidMessageError, epoch_ms
from whisper_assets.core.settings import load_settings
from whisper_assets.stores.qdrant import DayStatus, open_store

UTC = timezone.utc
TS = datetime(2025, 11, 9, 8, 15, tzinfo=UTC)


@pytest.fixture()
def settings(tmp_path):
    # Overrides conftest's `settings` (which needs PostgreSQL): Qdrant only.
    return load_settings(data_dir=tmp_path)


def _points(settings):
    """All stored message points as {id: payload}, read through a fresh store turn."""
    with open_store(settings) as store:
        return {r.id: r.payload for r in store.engine.scroll(store.messages, {})}


def _assert_empty(settings):
    with open_store(settings) as store:
        assert store.engine.count(store.messages, {}) == 0
        assert store.status_by_day() == []


def test_store_message_returns_id_and_point_is_pending_with_payload(settings):
    mid = store_message("elena", "user_alice", "user", "I adopted a cat named Miso", TS, settings=settings)
    assert str(uuid.UUID(mid)) == mid
    # 01:30 at +02:00 is 23:30 UTC the day before: day and ts are UTC.
    local = datetime(2025, 11, 10, 1, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    given = str(uuid.uuid4())
    mid2 = store_message("elena", "user_alice", "bot", "What a lovely name!", local, given.upper(), settings)
    assert mid2 == given

    points = _points(settings)
    assert set(points) == {mid, given}
    stored_ms = points[mid].pop("stored_ms")
    assert isinstance(stored_ms, int) and stored_ms >= epoch_ms(datetime.now(UTC)) - 60_000
    assert points[mid] == {
        "message_id": mid,
        "bot_name": "elena",
        "user_id": "user_alice",
        "role": "user",
        "content": "I adopted a cat named Miso",
        "timestamp": "2025-11-09T08:15:00Z",
        "ts": epoch_ms(TS),
        "day": "2025-11-09",
        "enrichment_status": "pending",
        "enriched_at": None,
        "enrichment_run_id": None,
    }
    p2 = points[given]
    assert (p2["role"], p2["timestamp"], p2["day"], p2["enrichment_status"]) == (
        "bot", "2025-11-09T23:30:00.123000Z", "2025-11-09", "pending")
    assert p2["ts"] == epoch_ms(datetime(2025, 11, 9, 23, 30, 0, 123000, tzinfo=UTC))
    assert isinstance(p2["ts"], int)
    with open_store(settings) as store:
        assert store.status_by_day() == [DayStatus("elena", "2025-11-09", 2, 0)]


def test_resending_does_not_duplicate(settings):
    mid = str(uuid.uuid4())
    assert store_message("elena", "user_alice", "user", "Off to Lisbon next week!", TS, mid, settings) == mid
    assert store_message("elena", "user_alice", "user", "Off to Lisbon next week!", TS, mid, settings) == mid
    # Same id, corrected content: replaced in place, still one point.
    store_message("elena", "user_alice", "user", "Off to Lisbon on Monday!", TS, mid, settings)
    # Without an id, the id derives from the message: an identical re-send is the same point.
    a = store_message("elena", "user_bob", "user", "I work as a nurse", TS, settings=settings)
    b = store_message("elena", "user_bob", "user", "I work as a nurse", TS, settings=settings)
    assert a == b
    # ... and a different timestamp is a different message.
    c = store_message("elena", "user_bob", "user", "I work as a nurse", TS + timedelta(seconds=1), settings=settings)
    assert c != a

    points = _points(settings)
    assert set(points) == {mid, a, c}
    assert points[mid]["content"] == "Off to Lisbon on Monday!"
    with open_store(settings) as store:
        assert store.status_by_day() == [DayStatus("elena", "2025-11-09", 3, 0)]


def test_resending_a_batch_through_the_writer_does_not_duplicate(settings):
    items = [MessageIn("elena", "user_alice", "user", f"message number {i}", TS + timedelta(minutes=i))
             for i in range(5)]
    with message_writer(settings) as writer:
        first = writer.store_messages(items)
        assert writer.store_messages(items) == first
        assert writer.store.engine.count(writer.store.messages, {}) == 5


GOOD = dict(bot="elena", user="user_alice", role="user", content="I live in Portland", timestamp=TS)
BAD = {
    "empty content": dict(content=""),
    "whitespace content": dict(content="  \n\t "),
    "too long": dict(content="TOO_LONG"),  # settings.max_message_chars + 1, filled in below
    "NUL in content": dict(content="a\x00b"),
    "unknown role": dict(role="assistant"),
    "role in capitals": dict(role="USER"),
    "empty role": dict(role=""),
    "naive timestamp": dict(timestamp=datetime(2025, 11, 9, 8, 15)),
    "timestamp before partition start": dict(timestamp=datetime(2021, 12, 31, 23, 59, tzinfo=UTC)),
    "timestamp two days ahead": dict(timestamp=datetime.now(UTC) + timedelta(days=2)),
    "bot name with |": dict(bot="elena|2025-11-09"),
    "bot name with ,": dict(bot="elena,marcus"),
    "bot name with [": dict(bot="elena[1"),
    "bot name with ]": dict(bot="elena]"),
    "empty bot name": dict(bot=""),
    "65-char bot name": dict(bot="b" * 65),
    "empty user id": dict(user=""),
    "non-UUID message id": dict(message_id="not-a-uuid"),
    "lone surrogate in content": dict(content="I said \ud800 this"),
    "lone surrogate in user id": dict(user="user_\udc00"),
    "int content": dict(content=42),
    "None content": dict(content=None),
    "bytes content": dict(content=b"I have a cat"),
    "int user id": dict(user=7),
    "None user id": dict(user=None),
    "bytes user id": dict(user=b"user_alice"),
    "int bot name": dict(bot=3),
    "None bot name": dict(bot=None),
    "bytes bot name": dict(bot=b"elena"),
    "None role": dict(role=None),
    "year 1 with +14:00": dict(timestamp=datetime.fromisoformat("0001-01-01T00:00:00+14:00")),
    "year 9999 with -14:00": dict(timestamp=datetime.fromisoformat("9999-12-31T23:59:59-14:00")),
    "year 9999 in UTC": dict(timestamp=datetime(9999, 12, 31, 23, 59, tzinfo=UTC)),
    "naive year 1": dict(timestamp=datetime(1, 1, 1)),
    "string timestamp": dict(timestamp="2025-11-09T08:15:00Z"),
}


def _bad(case: str, settings) -> dict:
    kw = {**GOOD, **BAD[case]}
    if kw["content"] == "TOO_LONG":
        kw["content"] = "x" * (settings.max_message_chars + 1)
    return kw


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_and_stores_nothing(case, settings):
    kw = _bad(case, settings)
    with pytest.raises(InvalidMessageError):
        store_message(kw["bot"], kw["user"], kw["role"], kw["content"], kw["timestamp"],
                      kw.get("message_id"), settings=settings)
    _assert_empty(settings)


def test_bad_input_through_the_writer_stores_nothing(settings):
    with message_writer(settings) as writer:
        for case in BAD:
            kw = _bad(case, settings)
            with pytest.raises(InvalidMessageError):
                writer.store_message(kw["bot"], kw["user"], kw["role"], kw["content"], kw["timestamp"],
                                     kw.get("message_id"))
        assert writer.store.engine.count(writer.store.messages, {}) == 0
    _assert_empty(settings)


def test_limits_are_inclusive(tmp_path):
    settings = load_settings(data_dir=tmp_path, max_message_chars=100)
    store_message("b" * 64, "user_alice", "user", "y" * 100, TS, settings=settings)
    with pytest.raises(InvalidMessageError, match="too long"):
        store_message("elena", "user_alice", "user", "y" * 101, TS, settings=settings)
    with open_store(settings) as store:
        assert store.status_by_day() == [DayStatus("b" * 64, "2025-11-09", 1, 0)]


def test_batch_with_one_bad_message_stores_nothing(settings):
    good = [MessageIn("elena", "user_alice", "user", f"good message {i}", TS + timedelta(minutes=i))
            for i in range(4)]
    batch = good[:2] + [MessageIn("elena", "user_alice", "user", "   ", TS)] + good[2:]
    with pytest.raises(InvalidMessageError, match="message 2"):
        store_messages(batch, settings)
    _assert_empty(settings)
    with message_writer(settings) as writer:
        with pytest.raises(InvalidMessageError, match="message 2"):
            writer.store_messages(batch)
    _assert_empty(settings)
    assert len(store_messages(good, settings)) == 4  # the good ones alone go through


def test_stored_vector_is_the_models_embedding_of_the_content(settings):
    texts = ["I adopted a cat named Miso", "what do you know about my job?",
             "I'm flying to Tokyo on Friday for a conference and I'm nervous about the talk"]
    for i, text in enumerate(texts):
        store_message("elena", "user_alice", "user", text, TS + timedelta(minutes=i), settings=settings)
    model = get_embedder(settings.torch_threads).model
    with open_store(settings) as store:
        stored = store.day_messages("elena", "2025-11-09", with_vectors=True)
    assert [s.message.content for s in stored] == texts
    for s in stored:
        got = np.asarray(s.vector, dtype=np.float64)
        want = np.asarray(model.encode([s.message.content])[0], dtype=np.float64)
        assert got.shape == (EMBEDDING_DIM,)
        assert abs(np.linalg.norm(got) - 1.0) < 1e-3  # stored unit-length
        cosine = got @ want / (np.linalg.norm(got) * np.linalg.norm(want))
        assert cosine > 0.999, (s.message.content, cosine)
    # and the vectors tell the messages apart
    a, b = (np.asarray(s.vector) for s in stored[:2])
    assert a @ b < 0.9


def test_message_writer_holds_the_store_and_writes_many(settings):
    n_single, n_batch = 40, 300
    with message_writer(settings) as writer:
        ids = [
            writer.store_message(("elena", "marcus")[i % 2], f"user_{i % 7}", ("user", "bot")[i % 3 == 0],
                                 f"message {i}: small talk about the weather and my plans", TS + timedelta(minutes=i))
            for i in range(n_single)
        ]
        batch = [MessageIn("nova", f"user_{i % 5}", "user", f"batch message {i} about my dog",
                           TS + timedelta(days=1, seconds=i)) for i in range(n_batch)]
        ids += writer.store_messages(batch)
        assert writer.store.engine.count(writer.store.messages, {}) == n_single + n_batch
        # The writer keeps the store open between writes, and hands it back to an open_store
        # of this process at once (other processes: test_writer_release.py).
        assert writer.is_open
        with open_store(settings, lock_timeout_s=0.2) as store:
            assert not writer.is_open
            assert store.engine.count(store.messages, {}) == n_single + n_batch
    assert len(set(ids)) == n_single + n_batch
    with open_store(settings, lock_timeout_s=5) as store:
        assert store.engine.count(store.messages, {}) == n_single + n_batch
        assert store.status_by_day() == [
            DayStatus("elena", "2025-11-09", 20, 0),
            DayStatus("marcus", "2025-11-09", 20, 0),
            DayStatus("nova", "2025-11-10", n_batch, 0),
        ]
