"""Qdrant: the message store (hot path writes, enrichment reads and marks) and summary vectors.

Two engines behind one small interface:
- embedded (default): qdrant-edge, one shard directory per collection under the Qdrant path.
  It is single-process, so every process takes the store under one file lock, works, then
  flushes and closes (ARCHITECTURE.md, Deployment modes). Hold it only around store calls.
- server (QDRANT_URL): qdrant-client; tests run the same code through its local mode.
Both engines take filters as plain `{field: value | Range}` dicts, so the logic above them
(MessageStore) exists once.
"""

from __future__ import annotations

import contextlib
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Protocol, Sequence

import numpy as np
from filelock import FileLock, Timeout

from whisper_assets.core.embedding import EMBEDDING_DIM
from whisper_assets.core.messages import Message, Status, epoch_ms, payload_version
from whisper_assets.core.settings import Settings

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
SCROLL_PAGE = 1024
RETRIEVE_PAGE = 1024  # ids per retrieve request


class StoreError(RuntimeError):
    """The vector store is unusable as configured; the message says why."""


class StoreBusyError(StoreError):
    """Another process held the embedded store longer than the lock timeout."""


@dataclass(frozen=True)
class Range:
    gte: int | float | None = None
    lt: int | float | None = None


Conditions = dict[str, Any]  # field -> value (exact match), list (any of) or Range


@dataclass(frozen=True)
class Record:
    id: str
    payload: dict[str, Any]
    vector: list[float] | None = None
    score: float | None = None


def _record(r: Any, with_vector: bool) -> Record:
    """Either engine's scroll record (ids come back as uuid.UUID) as our Record."""
    return Record(str(r.id), dict(r.payload or {}), list(r.vector) if with_vector else None)


class Engine(Protocol):
    def ensure_collection(self, name: str, dim: int, indexes: dict[str, str]) -> None: ...
    def upsert(self, name: str, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None: ...
    def scroll(self, name: str, where: Conditions, with_vectors: bool = False) -> list[Record]: ...
    def retrieve(self, name: str, ids: Sequence[str]) -> list[Record]: ...
    def facet(self, name: str, key: str, where: Conditions) -> dict[Any, int]: ...
    def count(self, name: str, where: Conditions) -> int: ...
    def set_payload(self, name: str, ids: Sequence[str], payload: dict[str, Any]) -> None: ...
    def delete(self, name: str, where: Conditions) -> None: ...
    def search(self, name: str, vector: Sequence[float], where: Conditions, limit: int) -> list[Record]: ...
    def close(self) -> None: ...


def _filter(models: Any, where: Conditions, range_cls: Any) -> Any:
    """Build a Filter from {field: condition} with either engine's model classes."""
    if not where:
        return None
    must = []
    for key, cond in where.items():
        if isinstance(cond, Range):
            must.append(models.FieldCondition(key=key, range=range_cls(gte=cond.gte, lt=cond.lt)))
        elif isinstance(cond, (list, tuple)):
            must.append(models.FieldCondition(key=key, match=models.MatchAny(any=list(cond))))
        else:
            must.append(models.FieldCondition(key=key, match=models.MatchValue(value=cond)))
    return models.Filter(must=must)


class EdgeEngine:
    """qdrant-edge: one EdgeShard per collection under `root`."""

    def __init__(self, root: Path) -> None:
        import qdrant_edge

        self.q = qdrant_edge
        self.root = root
        self.shards: dict[str, Any] = {}

    def _shard(self, name: str) -> Any:
        try:
            return self.shards[name]
        except KeyError:
            raise StoreError(f"collection {name!r} is not open; call ensure_schema() first") from None

    def ensure_collection(self, name: str, dim: int, indexes: dict[str, str]) -> None:
        q = self.q
        if name in self.shards:
            return
        path = self.root / name
        config = q.EdgeConfig(vectors=q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine))
        try:
            if (path / "wal").exists():
                shard = q.EdgeShard.load(str(path), config)
            else:
                shard = q.EdgeShard.create(str(path), config)
        except Exception as exc:  # the engine raises bare Exception with a message
            if "incompatible" in str(exc).lower():
                raise StoreError(
                    f"Qdrant collection {name!r} at {path} was created with other vectors than "
                    f"this version writes ({dim}-d cosine): {exc}. Use another WHISPER_QDRANT_PATH "
                    "or re-create the collection; nothing was written."
                ) from exc
            raise
        self.shards[name] = shard
        existing = set(shard.info().payload_schema)
        kinds = {"keyword": q.PayloadSchemaType.Keyword, "integer": q.PayloadSchemaType.Integer}
        for field, kind in indexes.items():
            if field not in existing:
                shard.update(q.UpdateOperation.create_field_index(field, kinds[kind]))

    def _where(self, where: Conditions) -> Any:
        return _filter(self.q, where, self.q.RangeFloat)

    def upsert(self, name: str, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        q = self.q
        points = [q.Point(pid, vec, payload) for pid, vec, payload in zip(ids, vectors.tolist(), payloads)]
        self._shard(name).update(q.UpdateOperation.upsert_points(points))

    def scroll(self, name: str, where: Conditions, with_vectors: bool = False) -> list[Record]:
        shard, flt, offset, out = self._shard(name), self._where(where), None, []
        while True:
            request = self.q.ScrollRequest(
                offset=offset, limit=SCROLL_PAGE, filter=flt, with_payload=True, with_vector=with_vectors
            )
            records, offset = shard.scroll(request)
            out.extend(_record(r, with_vectors) for r in records)
            if offset is None:
                return out

    def retrieve(self, name: str, ids: Sequence[str]) -> list[Record]:
        """The points of these ids that exist (payload, no vectors); missing ids are left out."""
        shard, out = self._shard(name), []
        for start in range(0, len(ids), RETRIEVE_PAGE):
            records = shard.retrieve(list(ids[start:start + RETRIEVE_PAGE]), True, False)
            out.extend(_record(r, False) for r in records)
        return out

    def facet(self, name: str, key: str, where: Conditions) -> dict[Any, int]:
        request = self.q.FacetRequest(key=key, limit=1_000_000, exact=True, filter=self._where(where))
        return {hit.value: hit.count for hit in self._shard(name).facet(request)}

    def count(self, name: str, where: Conditions) -> int:
        return self._shard(name).count(self.q.CountRequest(exact=True, filter=self._where(where)))

    def set_payload(self, name: str, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if ids:
            self._shard(name).update(self.q.UpdateOperation.set_payload(list(ids), payload))

    def delete(self, name: str, where: Conditions) -> None:
        self._shard(name).update(self.q.UpdateOperation.delete_points_by_filter(self._where(where)))

    def search(self, name: str, vector: Sequence[float], where: Conditions, limit: int) -> list[Record]:
        request = self.q.QueryRequest(
            limit=limit,
            query=self.q.Query.Nearest(list(vector)),
            filter=self._where(where),
            with_payload=True,
        )
        return [Record(str(p.id), dict(p.payload or {}), score=p.score) for p in self._shard(name).query(request)]

    def flush(self) -> None:
        for shard in self.shards.values():
            shard.flush()

    def close(self) -> None:
        # A clean close avoids a WAL replay on the next open (25x slower after a crash).
        for shard in self.shards.values():
            shard.flush()
            shard.close()
        self.shards.clear()


class ClientEngine:
    """qdrant-client: a Qdrant server (QDRANT_URL), or local mode in tests."""

    def __init__(self, client: Any) -> None:
        from qdrant_client import models

        self.client = client
        self.models = models

    def _where(self, where: Conditions) -> Any:
        return _filter(self.models, where, self.models.Range)

    def ensure_collection(self, name: str, dim: int, indexes: dict[str, str]) -> None:
        m = self.models
        if self.client.collection_exists(name):
            vectors = self.client.get_collection(name).config.params.vectors
            size = getattr(vectors, "size", None)
            if size != dim:
                raise StoreError(
                    f"Qdrant collection {name!r} holds {size}-d vectors, this version writes {dim}-d; "
                    "use another collection name or re-create it. Nothing was written."
                )
        else:
            self.client.create_collection(
                name, vectors_config=m.VectorParams(size=dim, distance=m.Distance.COSINE)
            )
        kinds = {"keyword": m.PayloadSchemaType.KEYWORD, "integer": m.PayloadSchemaType.INTEGER}
        for field, kind in indexes.items():
            self.client.create_payload_index(name, field, field_schema=kinds[kind])

    def upsert(self, name: str, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        points = [
            self.models.PointStruct(id=pid, vector=vec, payload=payload)
            for pid, vec, payload in zip(ids, vectors.tolist(), payloads)
        ]
        self.client.upsert(name, points=points, wait=True)

    def scroll(self, name: str, where: Conditions, with_vectors: bool = False) -> list[Record]:
        flt, offset, out = self._where(where), None, []
        while True:
            records, offset = self.client.scroll(
                name, scroll_filter=flt, limit=SCROLL_PAGE, offset=offset,
                with_payload=True, with_vectors=with_vectors,
            )
            out.extend(_record(r, with_vectors) for r in records)
            if offset is None:
                return out

    def retrieve(self, name: str, ids: Sequence[str]) -> list[Record]:
        """The points of these ids that exist (payload, no vectors); missing ids are left out."""
        out = []
        for start in range(0, len(ids), RETRIEVE_PAGE):
            records = self.client.retrieve(
                name, ids=list(ids[start:start + RETRIEVE_PAGE]), with_payload=True, with_vectors=False
            )
            out.extend(_record(r, False) for r in records)
        return out

    def facet(self, name: str, key: str, where: Conditions) -> dict[Any, int]:
        response = self.client.facet(name, key, facet_filter=self._where(where), limit=1_000_000, exact=True)
        return {hit.value: hit.count for hit in response.hits}

    def count(self, name: str, where: Conditions) -> int:
        return self.client.count(name, count_filter=self._where(where), exact=True).count

    def set_payload(self, name: str, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if ids:
            self.client.set_payload(name, payload=payload, points=list(ids), wait=True)

    def delete(self, name: str, where: Conditions) -> None:
        self.client.delete(name, points_selector=self.models.FilterSelector(filter=self._where(where)), wait=True)

    def search(self, name: str, vector: Sequence[float], where: Conditions, limit: int) -> list[Record]:
        points = self.client.query_points(
            name, query=list(vector), query_filter=self._where(where), limit=limit, with_payload=True
        ).points
        return [Record(str(p.id), dict(p.payload or {}), score=p.score) for p in points]

    def flush(self) -> None:
        """Server writes are acknowledged with wait=True; nothing to flush."""

    def close(self) -> None:
        self.client.close()


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


def _engine(settings: Settings) -> Engine:
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return ClientEngine(QdrantClient(url=settings.qdrant_url, api_key=key))
    return EdgeEngine(settings.resolved_qdrant_path)


# The embedded store's hand-back protocol (see hot_path.MessageWriter, which holds the store
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
        store = MessageStore(_engine(settings), settings)
        try:
            store.ensure_schema()
            yield store
        finally:
            store.engine.close()
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
        store = MessageStore(_engine(settings), settings)
        try:
            store.ensure_schema()
            yield store
        finally:
            store.engine.close()
    finally:
        lock.release()


def new_run_marker() -> str:
    return uuid.uuid4().hex
