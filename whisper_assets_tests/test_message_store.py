"""The message store on both engines: embedded qdrant-edge and qdrant-client (local mode)."""

import threading
from datetime import datetime, timezone

import numpy as np
import pytest

from whisper_assets.embedding import EMBEDDING_DIM
from whisper_assets.messages import Status, new_message
from whisper_assets.settings import load_settings
from whisper_assets.stores.qdrant import (
    ClientEngine, EdgeEngine, MessageStore, StoreBusyError, StoreError, open_store,
)

UTC = timezone.utc


def _msg(bot, user, content, hour, day=9):
    return new_message(bot, user, "user", content, datetime(2026, 11, day, hour, tzinfo=UTC),
                       max_chars=1000, earliest_day=datetime(2022, 1, 1).date(),
                       now=datetime(2026, 11, 25, tzinfo=UTC))


def _vectors(n):
    v = np.random.default_rng(0).normal(size=(n, EMBEDDING_DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=["edge", "client"])
def store(request, tmp_path):
    settings = load_settings(data_dir=tmp_path)
    if request.param == "edge":
        engine = EdgeEngine(tmp_path / "qdrant")
    else:
        from qdrant_client import QdrantClient

        engine = ClientEngine(QdrantClient(path=str(tmp_path / "qdrant-local")))
    s = MessageStore(engine, settings)
    s.ensure_schema()
    s.ensure_schema()  # idempotent
    yield s
    engine.close()


def test_day_scroll_status_and_marks(store):
    msgs = [_msg("elena", "alice", f"message {i}", 8 + i) for i in range(3)]
    msgs += [_msg("elena", "bob", "other day", 9, day=10), _msg("marcus", "alice", "other bot", 9)]
    store.upsert_messages(msgs, _vectors(len(msgs)))
    day = store.day_messages("elena", "2026-11-09", with_vectors=True)
    assert [s.message.content for s in day] == ["message 0", "message 1", "message 2"]
    assert all(s.status is Status.PENDING and len(s.vector) == EMBEDDING_DIM for s in day)
    assert day[0].message == msgs[0]

    store.set_status([day[0].message.message_id], Status.COMPLETED, "run-1", "2026-11-10T00:00:00Z")
    rows = {(r.bot_name, r.day): (r.pending, r.completed) for r in store.status_by_day()}
    assert rows == {("elena", "2026-11-09"): (2, 1), ("elena", "2026-11-10"): (1, 0), ("marcus", "2026-11-09"): (1, 0)}
    assert store.bots() == ["elena", "marcus"]


def test_resend_same_id_does_not_duplicate(store):
    m = _msg("elena", "alice", "I adopted a cat named Miso", 8)
    store.upsert_messages([m], _vectors(1))
    store.upsert_messages([m], _vectors(1))
    assert len(store.day_messages("elena", "2026-11-09")) == 1


def test_vector_size_mismatch_is_a_clear_error(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    engine = EdgeEngine(tmp_path / "qdrant")
    engine.ensure_collection(settings.messages_collection, 8, {})
    engine.close()
    with pytest.raises(StoreError, match="other vectors"):
        with open_store(settings):
            pass


def test_vector_size_mismatch_on_server_engine(tmp_path):
    from qdrant_client import QdrantClient

    engine = ClientEngine(QdrantClient(path=str(tmp_path / "q")))
    engine.ensure_collection("messages", 8, {})
    with pytest.raises(StoreError, match="8-d"):
        MessageStore(engine, load_settings(data_dir=tmp_path)).ensure_schema()
    engine.close()


def test_embedded_store_is_exclusive_and_busy_is_reported(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    entered, release = threading.Event(), threading.Event()

    def holder():
        with open_store(settings):
            entered.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    assert entered.wait(30)
    with pytest.raises(StoreBusyError, match="locked by another process"):
        with open_store(settings, lock_timeout_s=0.3):
            pass
    release.set()
    t.join()
    with open_store(settings, lock_timeout_s=5) as store:  # free again after the holder closed
        assert store.status_by_day() == []
