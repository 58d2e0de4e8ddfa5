"""Search by meaning: the summaries and the past messages closest to the query vector, from Qdrant
(through MessageStore, filtered on bot and user) or ranked exactly from the vectors PostgreSQL keeps."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from whisper_assets.core.messages import epoch_ms, from_epoch_ms
from whisper_assets.core.timephrases import TimeRange
from whisper_assets.memory.retrieval.lexical import fused_order
from whisper_assets.core.llm.guard import injection_reason
from whisper_assets.memory.retrieval.limits import MAX_MESSAGES_SCANNED, MIN_MESSAGE_WORDS, RERANK_POOL
from whisper_assets.memory.retrieval.models import MessageItem, SummaryItem, message_item, summary_item
from whisper_assets.stores.repository import memories

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from whisper_assets.core.settings import Settings
    from whisper_assets.stores.qdrant import MessageStore

log = logging.getLogger(__name__)

# Without a `store`, recall searches the Qdrant collections through this process's shared store
# (hot_path.shared_store): free when this process has it open (e.g. it just stored a message),
# else one open (~0.3-0.4 s at 100k points) that later calls within the writer's idle window reuse.
# It waits at most this long for another process's turn at the embedded store, then ranks the
# Postgres vectors instead (benchmarks/results/hot_path_release.json, "recall").
STORE_LOCK_TIMEOUT_S = 0.1

Picked = list[tuple[float, datetime, datetime]]  # (score, window start, window end), best first
Ranked = TypeVar("Ranked", SummaryItem, MessageItem)


def shared_store(held: contextlib.ExitStack, settings: Settings) -> MessageStore | None:
    """This process's shared store, held until `held` closes; None if it stays busy or fails."""
    from whisper_assets.memory.hot_path import shared_store as take
    from whisper_assets.stores.qdrant import StoreBusyError, StoreError

    try:
        return held.enter_context(take(settings, STORE_LOCK_TIMEOUT_S))
    except StoreBusyError:
        return None
    except StoreError as exc:
        log.warning("recall: the Qdrant store is unusable (%s); ranking the Postgres vectors", exc)
        return None


def cosines(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Exact cosine of each row to `vector` (what a Qdrant cosine search scores)."""
    norms = np.linalg.norm(matrix, axis=1)
    return (matrix @ vector) / np.maximum(norms * float(np.linalg.norm(vector)), 1e-12)


# -- summaries ---------------------------------------------------------------------------------------

def related_postgres(
    conn: Connection, bot: str, user: str, vector: np.ndarray, shown: set[datetime], k: int, min_score: float,
    now: datetime, terms: set[str] | None = None,
) -> list[SummaryItem]:
    windows = memories.summary_vectors(conn, bot, user, now)
    if not len(windows):
        return []
    scores = cosines(windows.matrix, vector)
    picked: Picked = []
    pool = _pool(k, terms)
    for i in np.argsort(-scores):
        if scores[i] < min_score or len(picked) == pool:
            break
        if windows.starts[i] not in shown:
            picked.append((float(scores[i]), windows.starts[i], windows.ends[i]))
    return _fused(_summaries_for(conn, bot, user, picked, now), terms, k)


def related_qdrant(
    conn: Connection, store: MessageStore, bot: str, user: str, vector: np.ndarray, shown: set[datetime],
    k: int, min_score: float, now: datetime, terms: set[str] | None = None,
) -> list[SummaryItem]:
    pool = _pool(k, terms)
    hits = store.search_summaries(bot, user, vector, epoch_ms(now) + 1, pool + len(shown))
    picked: Picked = []
    for hit in hits:
        p = hit.payload
        if hit.score is None or hit.score < min_score or len(picked) == pool:
            break
        start, end = from_epoch_ms(int(p["start_ts"])), from_epoch_ms(int(p["end_ts"]))
        if start not in shown:
            picked.append((float(hit.score), start, end))
    return _fused(_summaries_for(conn, bot, user, picked, now), terms, k)


def _worth_quoting(text: str) -> bool:
    """A past message that can stand in a prompt on its own: not a bare reply ("nope", "me too"),
    which reads as an answer to whatever is asked now, and nothing that reads as an instruction to
    a model (the regex layer of the one detector, core/llm/guard)."""
    return len(text.split()) >= MIN_MESSAGE_WORDS and injection_reason(text, paraphrases=False) is None


def _pool(k: int, terms: set[str] | None) -> int:
    """How many of the nearest to re-rank: a pool when the query has words to re-rank by."""
    return max(k, RERANK_POOL) if terms else k


def _fused(items: list[Ranked], terms: set[str] | None, k: int) -> list[Ranked]:
    """The `k` best of the pool, cosine order fused with the query's words (lexical.py)."""
    order = fused_order([s.score or 0.0 for s in items], [s.text for s in items], terms or set())
    return [items[i] for i in order[:k]]


def _summaries_for(conn: Connection, bot: str, user: str, picked: Picked, now: datetime) -> list[SummaryItem]:
    """The Postgres rows (text, provenance) of the picked windows, in score order.

    A vector whose summary is gone from Postgres (pruned, or re-materialized since), or whose row
    says its last message came after `now`, is dropped.
    """
    if not picked:
        return []
    rows = memories.summaries_by_start(conn, bot, user, [p[1] for p in picked], now)
    by_key = {(r.start, r.end): r for r in rows}
    out = []
    for score, start, end in picked:
        r = by_key.get((start, end))
        if r is not None:
            out.append(summary_item(bot, r, score))
    return out


# -- messages ----------------------------------------------------------------------------------------

def messages_qdrant(
    store: MessageStore, bot: str, user: str, vector: np.ndarray, time_range: TimeRange | None, k: int,
    min_score: float, now: datetime, terms: set[str] | None = None,
) -> list[MessageItem]:
    upper = epoch_ms(now) + 1
    lower = None
    if time_range is not None:
        upper = min(upper, epoch_ms(time_range.end))
        lower = epoch_ms(time_range.start)
    out: list[MessageItem] = []
    for hit in store.search_messages(bot, user, vector, lower, upper, _pool(k, terms)):
        p = hit.payload
        if hit.score is None or hit.score < min_score:
            break
        if _worth_quoting(p["content"]):
            out.append(message_item(bot, str(p["message_id"]), p["role"], p["content"],
                                    from_epoch_ms(int(p["ts"])), float(hit.score)))
    return _fused(out, terms, k)


def messages_postgres(
    conn: Connection, bot: str, user: str, vector: np.ndarray, time_range: TimeRange | None, k: int,
    min_score: float, now: datetime, terms: set[str] | None = None,
) -> list[MessageItem]:
    found = memories.message_vectors(
        conn, bot, user, now, time_range.start if time_range else None, time_range.end if time_range else None,
        MAX_MESSAGES_SCANNED,
    )
    if not len(found):
        return []
    scores = cosines(found.matrix, vector)
    out = []
    for i in np.argsort(-scores, kind="stable")[:_pool(k, terms)]:
        if scores[i] < min_score:
            break
        m = found.message(i)
        if _worth_quoting(m.text):
            out.append(message_item(bot, m.message_id, m.role, m.text, m.ts, float(scores[i])))
    return _fused(out, terms, k)
