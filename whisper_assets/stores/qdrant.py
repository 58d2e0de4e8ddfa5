"""Qdrant: the message store (hot path writes, enrichment reads and marks) and summary vectors.

`MessageStore` has a method for every Qdrant query the code needs, on either engine
(`qdrant_engines`): the embedded qdrant-edge by default, a server with QDRANT_URL.
The embedded engine is single-process, so every process takes the store under one file lock
(`open_store`), works, then flushes and closes (ARCHITECTURE.md, Deployment modes). Hold it only
around store calls.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from filelock import FileLock, Timeout

from whisper_assets.core.embedding import EMBEDDING_DIM
from whisper_assets.core.messages import Message, Status, epoch_ms, payload_version
from whisper_assets.core.settings import Settings
from whisper_assets.stores.qdrant_engines import (
    Conditions,
    Engine,
    Range,
    Record,
    StoreBusyError,
    StoreError,  # noqa: F401  (raised by the store and its users; imported from here)
    engine_for,
)

# field -> "keyword" | "integer": every field we filter or facet on is indexed
# (an unindexed field silently matches nothing in some filters; see MEASUREMENTS.md).
MESSAGE_INDEXES = {
    "bot_name": "keyword",
    "user_id": "keyword",
    "day": "keyword",
    "enrichment_status": "keyword",
    "ts": "integer",
    "stored_ms": "integer",
}
SUMMARY_INDEXES = {"bot_name": "keyword", "user_id": "keyword", "day": "keyword", "start_ts": "integer"}
@dataclass(frozen=True)
class StoredMessage:
    message: Message
    status: Status
    vector: list[float] | None = None


@dataclass(frozen=True)
class UpsertResult:
    """What `upsert_messages` did: points written (pending, new `stored_ms`) and points left
    untouched because they already held the same version of the message."""

    written: int = 0
    unchanged: int = 0
    unchanged_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MarkResult:
    """What `mark_completed` did with the staged ids: marked completed; left pending because the
    point's content changed after it was staged; skipped because the point no longer exists."""

    marked: int = 0
    changed: int = 0
    missing: int = 0
    already: int = 0  # completed by an earlier run at this version: left as it was


def _point_id(message_id: str) -> str:
    """The canonical form engines return ids in (lower-case UUID), so lookups match."""
    try:
        return str(uuid.UUID(str(message_id)))
    except ValueError:
        return str(message_id)


@dataclass(frozen=True)
class DayStatus:
    bot_name: str
    day: str
    pending: int
    completed: int


class MessageStore:
    """Message and summary collections on top of either engine."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.messages = settings.messages_collection
        self.summaries = settings.summaries_collection

    def ensure_schema(self) -> None:
        self.engine.ensure_collection(self.messages, EMBEDDING_DIM, MESSAGE_INDEXES)
        self.engine.ensure_collection(self.summaries, EMBEDDING_DIM, SUMMARY_INDEXES)

    def upsert_messages(self, messages: Sequence[Message], vectors: np.ndarray) -> UpsertResult:
        """Write messages as pending points, except those already stored with the same version.

        Invariant 8: re-storing identical content (a re-send, a re-ingest) leaves the point as it
        is (status, `stored_ms`, `enriched_at`, vector), so a completed message is never enriched
        (paid for) twice. A new message, or a message id whose content changed, is written as
        pending with a new `stored_ms`, so the sensor sees it. The same id twice in one batch is
        one message: the last occurrence wins. Versions are computed from the payload fields
        (`messages.payload_version`), so points written before versions existed compare too.

        Read-then-write: with the embedded engine the caller holds the store under the file lock,
        so nothing else writes in between. With a Qdrant server two writers of the same id can
        interleave; both write pending, so the worst case is one extra enrichment.
        """
        if len(messages) != len(vectors):
            raise ValueError(f"{len(messages)} messages but {len(vectors)} vectors")
        if not messages:
            return UpsertResult()
        latest: dict[str, int] = {}  # point id -> index of its last occurrence
        for i, m in enumerate(messages):
            latest[_point_id(m.message_id)] = i
        current = {r.id: payload_version(r.payload) for r in self.engine.retrieve(self.messages, list(latest))}
        unchanged = frozenset(pid for pid, i in latest.items() if current.get(pid) == messages[i].version)
        todo = [i for pid, i in latest.items() if pid not in unchanged]
        if todo:
            stored_ms = epoch_ms(datetime.now(timezone.utc))
            self.engine.upsert(
                self.messages, [messages[i].message_id for i in todo], np.asarray(vectors)[todo],
                [messages[i].payload(stored_ms) for i in todo],
            )
        return UpsertResult(written=len(todo), unchanged=len(unchanged), unchanged_ids=unchanged)

    def day_messages(self, bot_name: str, day: str, with_vectors: bool = False) -> list[StoredMessage]:
        """All of one bot-day's messages, pending or not, in time order."""
        records = self.engine.scroll(self.messages, {"bot_name": bot_name, "day": day}, with_vectors)
        out = [
            StoredMessage(Message.from_payload(r.payload), Status(r.payload["enrichment_status"]), r.vector)
            for r in records
        ]
        out.sort(key=lambda s: (s.message.timestamp, s.message.message_id))
        return out

    def set_status(self, ids: Sequence[str], status: Status, run_id: str | None, at: str | None) -> None:
        """Unconditional status write; enrichment marks through `mark_completed` instead."""
        self.engine.set_payload(
            self.messages, ids,
            {"enrichment_status": status.value, "enrichment_run_id": run_id, "enriched_at": at},
        )

    def mark_completed(self, staged: Mapping[str, str], run_id: str, at: str) -> MarkResult:
        """Mark completed the points whose current version is the version the run enriched.

        `staged` maps message id -> `message_version` of the row the run staged. A message
        re-sent with new content while the run was in flight has another version now: it stays
        pending, so the next run enriches it (invariant 8). Ids with no point any more (deleted,
        pruned, forgotten) are skipped. Call only after the run's outputs are committed
        (invariant 2).

        Read-then-write: with the embedded engine the caller holds the store under the file
        lock, so the check and the mark are atomic w.r.t. every other process. With a Qdrant
        server there is a small window between `retrieve` and `set_payload`: a new version
        written by a bot in that window is marked completed without being enriched (until the
        partition is re-materialized, e.g. by the daily close-out, which reads all its messages).
        """
        wanted = {_point_id(mid): version for mid, version in staged.items()}
        points = self.engine.retrieve(self.messages, list(wanted))
        current = {r.id: payload_version(r.payload) for r in points}
        done = {r.id for r in points if r.payload.get("enrichment_status") == Status.COMPLETED.value}
        same = [pid for pid, version in wanted.items() if pid in current and current[pid] == version]
        # A point completed by an earlier run keeps its enriched_at and run id (the first enrichment).
        to_mark = [pid for pid in same if pid not in done]
        missing = sum(pid not in current for pid in wanted)
        self.set_status(to_mark, Status.COMPLETED, run_id, at)
        return MarkResult(marked=len(to_mark), changed=len(wanted) - len(same) - missing, missing=missing,
                          already=len(same) - len(to_mark))

    # -- the queries of the sensor, checks, maintenance and retrieval: nothing else calls the engine --
    def pending(self, since_ms: int | None = None, bots: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Payloads of the pending points, optionally only those stored at or after `since_ms`
        (an indexed integer) or of these bots."""
        where: Conditions = {"enrichment_status": Status.PENDING.value}
        if since_ms is not None:
            where["stored_ms"] = Range(gte=since_ms)
        if bots is not None:
            where["bot_name"] = list(bots)
        return [r.payload for r in self.engine.scroll(self.messages, where)]

    def count_pending(self, bot_name: str, day: str) -> int:
        return self.engine.count(self.messages, {"bot_name": bot_name, "day": day,
                                                 "enrichment_status": Status.PENDING.value})

    def has_messages(self, bot_name: str) -> bool:
        return self.engine.count(self.messages, {"bot_name": bot_name}) > 0

    def _older(self, before_ms: int) -> dict[str, Conditions]:
        return {self.messages: {"ts": Range(lt=before_ms)}, self.summaries: {"start_ts": Range(lt=before_ms)}}

    def count_older(self, before_ms: int) -> dict[str, int]:
        """{"messages": n, "summaries": n}: points of messages / summary windows before `before_ms`."""
        counts = {name: self.engine.count(name, where) for name, where in self._older(before_ms).items()}
        return {"messages": counts[self.messages], "summaries": counts[self.summaries]}

    def delete_older(self, before_ms: int) -> None:
        for name, where in self._older(before_ms).items():
            self.engine.delete(name, where)

    def delete_user(self, bot_name: str, user_id: str) -> dict[str, int]:
        """Delete one user's message and summary points and compact both collections, so that the
        user's id and text are in none of the store's files (the embedded engine's write-ahead log
        and segments keep deleted points until rewritten: `Engine.compact`). Returns how many
        points there were. Compacts even when there were none: a forget that stopped between its
        delete and the compaction is finished by running it again. Not for the TTL prune: the
        compaction reads and writes the whole collection."""
        where = {"bot_name": bot_name, "user_id": user_id}
        counts = {}
        for kind, name in (("messages", self.messages), ("summaries", self.summaries)):
            counts[kind] = self.engine.count(name, where)
            self.engine.delete(name, where)
            self.engine.compact(name)
        return counts

    def users_with_sha256(self, bot_name: str, sha256: str) -> set[str]:
        """The bot's user ids (message or summary points) whose SHA-256 (hex) is `sha256`."""
        found = set()
        for name in (self.messages, self.summaries):
            found.update(u for u in self.engine.facet(name, "user_id", {"bot_name": bot_name})
                         if hashlib.sha256(str(u).encode("utf-8")).hexdigest() == sha256)
        return found

    def compact(self) -> None:
        """Rewrite both collections with their live points only (`Engine.compact`)."""
        for name in (self.messages, self.summaries):
            self.engine.compact(name)

    def replace_summaries(
        self, days_by_bot: Mapping[str, Sequence[str]], ids: Sequence[str], vectors: np.ndarray,
        payloads: Sequence[dict[str, Any]],
    ) -> None:
        """Make the summaries collection hold exactly these points for these bot-days."""
        for bot, days in days_by_bot.items():
            self.engine.delete(self.summaries, {"bot_name": bot, "day": list(days)})
        if ids:
            self.engine.upsert(self.summaries, ids, vectors, payloads)

    def _search(self, name: str, vector: np.ndarray, where: Conditions, limit: int) -> list[Record]:
        hits = self.engine.search(name, np.asarray(vector).tolist(), where, limit)
        # Never trust a filter blindly: isolation is re-checked on every hit.
        return [h for h in hits if h.payload.get("bot_name") == where["bot_name"]
                and h.payload.get("user_id") == where["user_id"]]

    def search_summaries(self, bot_name: str, user_id: str, vector: np.ndarray, before_ms: int,
                         limit: int) -> list[Record]:
        """The user's summary points nearest `vector` among those whose last message (payload
        `last_ts`) was said before `before_ms`.

        The index filters on the window start; of the windows starting before `before_ms` only the
        one holding `before_ms` can end its messages later (windows are a user's days), so one
        extra hit covers it. A point written before `last_ts` existed counts by its window end."""
        where = {"bot_name": bot_name, "user_id": user_id, "start_ts": Range(lt=before_ms)}
        hits = self._search(self.summaries, vector, where, limit + 1)
        return [h for h in hits if int(h.payload.get("last_ts", h.payload["end_ts"])) < before_ms][:limit]

    def search_messages(self, bot_name: str, user_id: str, vector: np.ndarray, since_ms: int | None,
                        before_ms: int, limit: int) -> list[Record]:
        """The user's message points nearest `vector` with since_ms <= ts < before_ms."""
        where = {"bot_name": bot_name, "user_id": user_id, "ts": Range(gte=since_ms, lt=before_ms)}
        return self._search(self.messages, vector, where, limit)

    def bots(self) -> list[str]:
        return sorted(self.engine.facet(self.messages, "bot_name", {}))

    def status_by_day(self, bot_name: str | None = None) -> list[DayStatus]:
        """Pending/completed counts per bot and day: a few facet calls, no full scan."""
        rows = []
        for bot in [bot_name] if bot_name else self.bots():
            counts = {
                status: self.engine.facet(self.messages, "day", {"bot_name": bot, "enrichment_status": status.value})
                for status in Status
            }
            days = set(counts[Status.PENDING]) | set(counts[Status.COMPLETED])
            rows.extend(
                DayStatus(bot, d, counts[Status.PENDING].get(d, 0), counts[Status.COMPLETED].get(d, 0))
                for d in sorted(days)
            )
        return rows


# The embedded store's hand-back protocol (see memory/writer.py MessageWriter, which holds the store
# across writes): a process waiting for the lock touches WANT_FILE every WANT_EVERY_S, and a
# long-lived holder hands the store back when the file is newer than its own open. Holders in
# this process register here and are asked directly (the file lock is not re-entrant).
WANT_FILE = ".lock.want"
WANT_EVERY_S = 0.25
_HOLDERS: weakref.WeakSet[Any] = weakref.WeakSet()


def register_store_holder(holder: Any) -> None:
    """`holder.hand_back(root: Path)` closes its open embedded store at `root`, if any, and returns."""
    _HOLDERS.add(holder)


def _acquire_asking(lock: FileLock, root: Path, timeout_s: float) -> None:
    """Take the lock; while it is busy, keep WANT_FILE fresh so a long-lived holder hands it back."""
    deadline = time.monotonic() + timeout_s
    wait = 0.0  # first a non-blocking try: no mark when the store is free
    while True:
        try:
            lock.acquire(timeout=wait)
            return
        except Timeout:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            with contextlib.suppress(OSError):
                (root / WANT_FILE).touch()
            wait = min(WANT_EVERY_S, left)


@contextlib.contextmanager
def open_store(settings: Settings, lock_timeout_s: float = 300.0) -> Iterator[MessageStore]:
    """Open the store for one unit of work; the embedded engine is held under a file lock.

    The lock is not re-entrant: never open the store again inside this block.
    """
    if settings.qdrant_url:
        with _opened(settings) as store:
            yield store
        return
    root = settings.resolved_qdrant_path
    root.mkdir(parents=True, exist_ok=True)
    for holder in list(_HOLDERS):  # this process's own idle-releasing writers: never wait for ourselves
        holder.hand_back(root)
    lock = FileLock(str(root / ".lock"))
    try:
        _acquire_asking(lock, root, lock_timeout_s)
    except Timeout:
        raise StoreBusyError(
            f"the embedded Qdrant store at {root} stayed locked by another process for "
            f"{lock_timeout_s:.0f} s; a process holding it open (e.g. a bot) must close it, "
            "or use a Qdrant server (QDRANT_URL)"
        ) from None
    try:
        with _opened(settings) as store:
            yield store
    finally:
        lock.release()


@contextlib.contextmanager
def _opened(settings: Settings) -> Iterator[MessageStore]:
    store = MessageStore(engine_for(settings), settings)
    try:
        store.ensure_schema()
        yield store
    finally:
        store.engine.close()


def new_run_marker() -> str:
    return uuid.uuid4().hex
