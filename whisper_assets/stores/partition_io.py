"""A run's reads and writes of the MessageStore, per partition: staging a bot-day's messages, the
summary vectors copied after the commit, and the completion mark. (Its PostgreSQL side is
`stores/repository/enrichment.py`.)"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Any, Mapping, Sequence

import numpy as np

from whisper_assets.core.enrichment.models import StagedMessage, Summary, SummaryEmbedding
from whisper_assets.core.messages import epoch_ms
from whisper_assets.stores.qdrant import MarkResult, MessageStore

PartitionIds = list[tuple[str, date]]
_SUMMARY_NS = uuid.UUID("3d8e0f5a-2c4b-4e7a-8f61-9b2d7c1e5a40")


def read_partitions(store: MessageStore, pids: PartitionIds) -> list[StagedMessage]:
    """All messages of each bot-day (pending or not: a partition is a function of all of them)."""
    rows = []
    for bot, day in pids:
        for s in store.day_messages(bot, day.isoformat(), with_vectors=True):
            m = s.message
            rows.append(StagedMessage(m.message_id, m.bot_name, day, m.user_id, m.role.value, m.content,
                                      m.timestamp, np.asarray(s.vector, dtype=np.float32)))
    return rows


def group_by_partition(rows: Sequence[Any], pids: PartitionIds) -> dict[tuple[str, date], list[Any]]:
    grouped: dict[tuple[str, date], list[Any]] = {pid: [] for pid in pids}
    for r in rows:
        grouped[(r.bot_name, r.day)].append(r)
    return grouped


def summary_point_id(bot_name: str, user_id: str, start: datetime, end: datetime) -> str:
    return str(uuid.uuid5(_SUMMARY_NS, "\x1f".join([bot_name, user_id, start.isoformat(), end.isoformat()])))


def replace_summary_vectors(
    store: MessageStore, pids: PartitionIds, summaries: Sequence[Summary], embeddings: Sequence[SummaryEmbedding]
) -> None:
    """Make the Qdrant `summaries` collection hold exactly these partitions' summaries."""
    days = {bot: [d.isoformat() for d in ds] for bot, ds in _days_by_bot(pids).items()}
    text_of = {(s.bot_name, s.user_id, s.start_timestamp): s for s in summaries}
    ids, payloads = [], []
    for e in embeddings:
        s = text_of[(e.bot_name, e.user_id, e.start_timestamp)]
        ids.append(summary_point_id(e.bot_name, e.user_id, e.start_timestamp, e.end_timestamp))
        payloads.append({
            "bot_name": e.bot_name, "user_id": e.user_id, "day": e.day.isoformat(),
            "start_ts": epoch_ms(e.start_timestamp), "end_ts": epoch_ms(e.end_timestamp),
            "last_ts": epoch_ms(s.said_by),  # when its last message was said: recall's `now` bound
            "window_start": e.start_timestamp.isoformat(), "window_end": e.end_timestamp.isoformat(),
            "summary_text": s.summary_text, "topics": list(s.topics),
        })
    vectors = np.stack([e.embedding for e in embeddings]) if embeddings else np.empty((0, 0), np.float32)
    store.replace_summaries(days, ids, vectors, payloads)


def _days_by_bot(pids: PartitionIds) -> dict[str, list[date]]:
    out: dict[str, list[date]] = defaultdict(list)
    for bot, day in pids:
        out[bot].append(day)
    return dict(out)


def mark_completed(store: MessageStore, staged: Mapping[str, str], run_id: str) -> MarkResult:
    """Invariant 2: called only after the partitions' facts and summaries are committed.
    Invariant 8: only points whose content is still the staged version
    (`repository.enrichment.staged_versions`)."""
    at = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    return store.mark_completed(staged, run_id, at)
