"""The two Qdrant engines behind one small interface (`Engine`): qdrant-edge, embedded, one shard
directory per collection; and qdrant-client for a server (QDRANT_URL) or its local mode in tests.
Both take filters as plain `{field: value | list | Range}` dicts, so the store logic above them
(`qdrant.MessageStore`) exists once. Nothing outside `stores/` calls an engine directly.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from whisper_assets.core.settings import Settings

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
    def compact(self, name: str) -> None: ...
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EdgeEngine:
    """qdrant-edge: one EdgeShard per collection under `root`.

    `compact(name)` rewrites a collection into a fresh shard directory and swaps it in, so deleted
    points leave nothing in its files (write-ahead log and segments). The swap, under the store's
    file lock like every open: build `.rewrite-<name>` beside it, flush and close it, write the marker
    `.rewrite-<name>.done`, rename `<name>` to `.old-<name>` and `.rewrite-<name>` to `<name>`,
    delete the marker and `.old-<name>`. A crash at any step is finished or undone by the next
    `ensure_collection` (`_recover`): with the marker the new directory wins, without it the old one.
    """

    def __init__(self, root: Path) -> None:
        import qdrant_edge

        self.q = qdrant_edge
        self.root = root
        self.shards: dict[str, Any] = {}
        self.specs: dict[str, tuple[int, dict[str, str]]] = {}

    def _config(self, dim: int) -> Any:
        return self.q.EdgeConfig(vectors=self.q.EdgeVectorParams(size=dim, distance=self.q.Distance.Cosine))

    def _paths(self, name: str) -> tuple[Path, Path, Path, Path]:
        """The collection's directory, the rewrite's, the rewrite's done marker, the old one's."""
        return (self.root / name, self.root / f".rewrite-{name}", self.root / f".rewrite-{name}.done",
                self.root / f".old-{name}")

    def _recover(self, name: str) -> None:
        """Finish a rewrite that had reached its marker, or drop one that had not (see the class)."""
        path, staging, done, old = self._paths(name)
        if done.exists():
            if staging.exists():
                if path.exists():
                    path.rename(old)
                staging.rename(path)
                _fsync_dir(self.root)
            done.unlink()
        else:
            shutil.rmtree(staging, ignore_errors=True)
            if old.exists() and not path.exists():
                old.rename(path)
        shutil.rmtree(old, ignore_errors=True)

    def _shard(self, name: str) -> Any:
        try:
            return self.shards[name]
        except KeyError:
            raise StoreError(f"collection {name!r} is not open; call ensure_schema() first") from None

    def ensure_collection(self, name: str, dim: int, indexes: dict[str, str]) -> None:
        q = self.q
        if name in self.shards:
            return
        self._recover(name)
        path = self.root / name
        config = self._config(dim)
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
        self.specs[name] = (dim, dict(indexes))
        self._index(shard, indexes)

    def _index(self, shard: Any, indexes: dict[str, str]) -> None:
        q = self.q
        existing = set(shard.info().payload_schema)
        kinds = {"keyword": q.PayloadSchemaType.Keyword, "integer": q.PayloadSchemaType.Integer}
        for field, kind in indexes.items():
            if field not in existing:
                shard.update(q.UpdateOperation.create_field_index(field, kinds[kind]))

    def compact(self, name: str) -> None:
        """Rewrite the collection with only its live points (ids, vectors, payloads, indexes as they
        are) into a fresh shard and swap it in: what was deleted is in none of its files any more,
        neither the write-ahead log nor the segments. Reads and writes the whole collection (see
        README, Stores, for its cost), so only a forget calls it. The caller holds the file lock."""
        old = self._shard(name)
        dim, indexes = self.specs[name]
        path, staging, done, old_dir = self._paths(name)
        shutil.rmtree(staging, ignore_errors=True)
        new = self.q.EdgeShard.create(str(staging), self._config(dim))
        try:
            self._index(new, indexes)
            offset = None
            while True:
                records, offset = old.scroll(self.q.ScrollRequest(
                    offset=offset, limit=SCROLL_PAGE, with_payload=True, with_vector=True))
                if records:
                    new.update(self.q.UpdateOperation.upsert_points(
                        [self.q.Point(r.id, r.vector, r.payload) for r in records]))
                if offset is None:
                    break
            new.flush()
        finally:
            new.close()
        del self.shards[name]
        old.close()  # nothing to flush: the old files are going
        done.touch()
        _fsync_dir(self.root)
        self._recover(name)
        self.shards[name] = self.q.EdgeShard.load(str(path), self._config(dim))

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

    def compact(self, name: str) -> None:
        """Local mode (tests): VACUUM the collection's SQLite file, whose free pages hold deleted points
        unless SQLite zeroes them (`secure_delete`, on in the build this was tested with). A Qdrant server cannot be compacted through its API (README, Stores: its WAL and
        snapshots keep deleted points until they roll over); nothing is done there."""
        from qdrant_client.local.qdrant_local import QdrantLocal

        local = getattr(self.client, "_client", None)
        if isinstance(local, QdrantLocal):
            storage = getattr(local.collections.get(name), "storage", None)
            if storage is not None:
                storage.storage.execute("VACUUM")

    def close(self) -> None:
        self.client.close()


def engine_for(settings: Settings) -> Engine:
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return ClientEngine(QdrantClient(url=settings.qdrant_url, api_key=key))
    if settings.qdrant_local == "client":  # the server's client code path on local files (service-mode tests)
        from qdrant_client import QdrantClient

        return ClientEngine(QdrantClient(path=str(settings.resolved_qdrant_path / "client-local")))
    return EdgeEngine(settings.resolved_qdrant_path)
