"""The message store on both engines: embedded qdrant-edge and qdrant-client (local mode)."""

import threading
import time
import uuid
from datetime import datetime, timezone

import numpy as np
import pytest

from whisper_assets.core.embedding import EMBEDDING_DIM
from whisper_assets.core.messages import Status, new_message, payload_version
from whisper_assets.core.settings import load_settings
from whisper_assets.stores.qdrant import (
    MarkResult, MessageStore, StoreBusyError, StoreError, UpsertResult, open_store,
)
from whisper_assets.stores.qdrant_engines import ClientEngine, EdgeEngine

UTC = timezone.utc


def _msg(bot, user, content, hour, day=9, message_id=None):
    return new_message(bot, user, "user", content, datetime(2026, 11, day, hour, tzinfo=UTC), message_id,
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


def _payloads(store, ids):
    return {r.id: r.payload for r in store.engine.retrieve(store.messages, list(ids))}


def test_retrieve_returns_existing_points_by_id_without_vectors(store):
    m = _msg("elena", "alice", "The greenhouse tomatoes ripened early this year", 8)
    store.upsert_messages([m], _vectors(1))
    absent = str(uuid.uuid4())
    records = store.engine.retrieve(store.messages, [absent, m.message_id.upper(), m.message_id])
    assert {r.id for r in records} == {m.message_id}
    assert all(r.vector is None and r.payload["content"] == m.content for r in records)
    assert store.engine.retrieve(store.messages, []) == []


def test_restoring_identical_content_leaves_a_completed_point_as_it_was(store):
    m = _msg("elena", "alice", "My sister teaches violin on Saturdays", 8)
    other = _msg("elena", "alice", "The violin lessons are in the town hall", 9)
    assert store.upsert_messages([m, other], _vectors(2)) == UpsertResult(written=2, unchanged=0)
    assert store.mark_completed({m.message_id: m.version}, "run-1", "2026-11-10T00:00:00Z") == MarkResult(marked=1)
    before = _payloads(store, [m.message_id])[m.message_id]
    assert before["enrichment_status"] == "completed" and before["enriched_at"] == "2026-11-10T00:00:00Z"

    time.sleep(0.01)  # a rewrite would carry a later stored_ms
    again = store.upsert_messages([m, other], _vectors(2))
    assert (again.written, again.unchanged) == (0, 2)
    assert again.unchanged_ids == {m.message_id, other.message_id}
    after = _payloads(store, [m.message_id])[m.message_id]
    assert after == before  # status, stored_ms, enriched_at and run id untouched
    rows = {(r.bot_name, r.day): (r.pending, r.completed) for r in store.status_by_day()}
    assert rows == {("elena", "2026-11-09"): (1, 1)}


def test_changed_content_under_the_same_id_is_pending_again(store):
    mid = str(uuid.uuid4())
    m = _msg("elena", "alice", "I am moving to Tallinn in spring", 8, message_id=mid)
    store.upsert_messages([m], _vectors(1))
    store.mark_completed({mid: m.version}, "run-1", "2026-11-10T00:00:00Z")
    before = _payloads(store, [mid])[mid]
    assert before["enrichment_status"] == "completed"

    time.sleep(0.01)
    edited = _msg("elena", "alice", "I am moving to Tartu in spring", 8, message_id=mid)
    assert edited.version != m.version
    assert store.upsert_messages([edited], _vectors(1)) == UpsertResult(written=1, unchanged=0)
    after = _payloads(store, [mid])[mid]
    assert after["content"] == "I am moving to Tartu in spring"
    assert after["enrichment_status"] == "pending"
    assert after["enriched_at"] is None and after["enrichment_run_id"] is None
    assert after["stored_ms"] > before["stored_ms"]


def test_same_id_twice_in_one_batch_is_one_message_and_the_last_wins(store):
    mid = str(uuid.uuid4())
    first = _msg("elena", "bob", "Dinner is at seven", 8, message_id=mid)
    last = _msg("elena", "bob", "Dinner moved to eight", 8, message_id=mid)
    assert store.upsert_messages([first, last], _vectors(2)) == UpsertResult(written=1, unchanged=0)
    assert _payloads(store, [mid])[mid]["content"] == "Dinner moved to eight"
    assert store.upsert_messages([first, last], _vectors(2)).unchanged == 1


def test_points_written_without_the_store_compare_by_their_payload_fields(store):
    """Points written before versions existed (plain payload) compare; unreadable ones are rewritten."""
    m = _msg("elena", "carol", "The ferry leaves from pier four", 8)
    broken = _msg("elena", "carol", "Pier four is next to the fish market", 9)
    old = m.payload(stored_ms=1_000) | {"enrichment_status": "completed", "enriched_at": "2026-11-10T00:00:00Z"}
    store.engine.upsert(store.messages, [m.message_id, broken.message_id], _vectors(2),
                        [old, {"message_id": broken.message_id, "bot_name": "elena"}])
    assert payload_version(old) == m.version
    result = store.upsert_messages([m, broken], _vectors(2))
    assert (result.written, result.unchanged, result.unchanged_ids) == (1, 1, {m.message_id})
    payloads = _payloads(store, [m.message_id, broken.message_id])
    assert payloads[m.message_id] == old
    assert payloads[broken.message_id]["enrichment_status"] == "pending"
    assert payloads[broken.message_id]["content"] == broken.content


def test_mark_completed_marks_only_what_was_staged(store):
    """A point changed after staging stays pending; a point gone since is skipped."""
    kept = _msg("elena", "dora", "I started a pottery class", 8)
    mid = str(uuid.uuid4())
    staged_version = _msg("elena", "dora", "My kiln is tiny", 9, message_id=mid)
    gone = _msg("elena", "dora", "The class meets on Thursdays", 10)
    store.upsert_messages([kept, staged_version, gone], _vectors(3))
    staged = {kept.message_id: kept.version, mid: staged_version.version, gone.message_id: gone.version}

    # While the run is in flight: one message is edited, another is deleted (e.g. forgotten).
    store.upsert_messages([_msg("elena", "dora", "My kiln is tiny but hot", 9, message_id=mid)], _vectors(1))
    store.engine.delete(store.messages, {"bot_name": "elena", "ts": gone.ts_ms})

    result = store.mark_completed(staged, "run-7", "2026-11-10T01:00:00Z")
    assert result == MarkResult(marked=1, changed=1, missing=1)
    payloads = _payloads(store, [kept.message_id, mid, gone.message_id])
    assert set(payloads) == {kept.message_id, mid}
    assert payloads[kept.message_id]["enrichment_status"] == "completed"
    assert payloads[kept.message_id]["enrichment_run_id"] == "run-7"
    assert payloads[kept.message_id]["enriched_at"] == "2026-11-10T01:00:00Z"
    assert payloads[mid]["enrichment_status"] == "pending" and payloads[mid]["enriched_at"] is None
    # The next run stages the new content and marks it.
    edited = store.day_messages("elena", "2026-11-09")
    assert store.mark_completed({s.message.message_id: s.message.version for s in edited}, "run-8",
                                "2026-11-10T02:00:00Z") == MarkResult(marked=1, already=1)
    assert store.status_by_day()[0].pending == 0
    # A point an earlier run completed keeps that run's mark: enriched_at is the first enrichment.
    assert _payloads(store, [kept.message_id])[kept.message_id]["enrichment_run_id"] == "run-7"


def test_mark_completed_accepts_ids_in_any_case_and_nothing(store):
    m = _msg("elena", "erin", "Our choir sings on Sunday", 8)
    store.upsert_messages([m], _vectors(1))
    assert store.mark_completed({}, "run-0", "2026-11-10T00:00:00Z") == MarkResult()
    assert store.mark_completed({m.message_id.upper(): m.version}, "run-1", "2026-11-10T00:00:00Z").marked == 1
    assert store.status_by_day()[0].completed == 1


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


def _files_with(root, needle: bytes) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())


def test_delete_user_leaves_nothing_of_the_user_in_the_store_files(store, tmp_path):
    gone = [_msg("elena", "gone_Zk4q", f"my secret is Quillbarrow{i}", 8 + i) for i in range(3)]
    kept = [_msg("elena", "kept_Rb2n", f"I keep Ashfenwick{i}", 8 + i) for i in range(3)]
    vectors = _vectors(6)
    store.upsert_messages(gone + kept, vectors)
    store.engine.upsert(store.summaries, [str(uuid.uuid4())], vectors[:1],
                        [{"bot_name": "elena", "user_id": "gone_Zk4q", "day": "2026-11-09", "start_ts": 1,
                          "summary": "talked about Quillbarrow"}])
    store.engine.flush()
    assert _files_with(tmp_path, b"Quillbarrow") and _files_with(tmp_path, b"gone_Zk4q")  # the check can fail

    assert store.delete_user("elena", "gone_Zk4q") == {"messages": 3, "summaries": 1}
    store.engine.flush()
    assert _files_with(tmp_path, b"Quillbarrow") == [] and _files_with(tmp_path, b"gone_Zk4q") == []
    # The rest is as it was: payloads, vectors (search finds each by its own vector), indexes, writes.
    rows = store.day_messages("elena", "2026-11-09", with_vectors=True)
    assert [r.message.content for r in rows] == [m.content for m in kept]
    assert np.allclose([r.vector for r in rows], vectors[3:], atol=1e-6)
    hit = store.search_messages("elena", "kept_Rb2n", vectors[4], None, 2**62, 1)
    assert hit[0].id == kept[1].message_id
    assert store.count_pending("elena", "2026-11-09") == 3
    store.upsert_messages([_msg("elena", "kept_Rb2n", "one more", 20)], _vectors(1))
    assert len(store.day_messages("elena", "2026-11-09")) == 4


def _edge_with(root, contents):
    engine = EdgeEngine(root)
    s = MessageStore(engine, load_settings(data_dir=root.parent))
    s.ensure_schema()
    msgs = [_msg("elena", "alice", c, 8 + i) for i, c in enumerate(contents)]
    s.upsert_messages(msgs, _vectors(len(msgs)))
    return s


@pytest.mark.parametrize("crash_after", ["staging", "marker", "first-rename", "second-rename"])
def test_an_interrupted_compaction_is_finished_or_undone_on_open(tmp_path, crash_after):
    """The rewrite's swap (EdgeEngine.compact) stopped at each step: the next open finds one
    complete collection, the rewritten one once its marker was written, else the old one."""
    root = tmp_path / "qdrant"
    s = _edge_with(root, ["old one", "old two"])
    s.engine.close()
    s = _edge_with(tmp_path / "rewrite-src", ["new one"])  # a complete shard to play the rewrite
    s.engine.close()
    path, staging, done, old = EdgeEngine(root)._paths("messages")
    (tmp_path / "rewrite-src" / "messages").rename(staging)
    if crash_after != "staging":
        done.touch()
    if crash_after in ("first-rename", "second-rename"):
        path.rename(old)
    if crash_after == "second-rename":
        staging.rename(path)

    engine = EdgeEngine(root)
    s = MessageStore(engine, load_settings(data_dir=tmp_path))
    s.ensure_schema()
    want = ["old one", "old two"] if crash_after == "staging" else ["new one"]
    assert [m.message.content for m in s.day_messages("elena", "2026-11-09")] == want
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".") and "lock" not in p.name) == []
    engine.close()
