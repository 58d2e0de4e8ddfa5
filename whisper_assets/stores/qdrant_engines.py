"""The two Qdrant engines behind one small interface (`Engine`): qdrant-edge, embedded, one shard
directory per collection; and qdrant-client for a server (QDRANT_URL) or its local mode in tests.
Both take filters as plain `{field: value | list | Range}` dicts, so the store logic above them
(`qdrant.MessageStore`) exists once. Nothing outside `stores/` calls an engine directly.
"""

from __future__ import annotations

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


def engine_for(settings: Settings) -> Engine:
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return ClientEngine(QdrantClient(url=settings.qdrant_url, api_key=key))
    return EdgeEngine(settings.resolved_qdrant_path)
