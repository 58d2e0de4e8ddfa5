"""user_facts: rebuilt from fact_observations by consolidation (core/enrichment/consolidation.py),
and read back with their validity (current facts, or the history).

The recompute runs for a run's touched users and for a prune's, each bot under its user_facts lock
until the end of the transaction, so two recomputes of one bot never undo each other. Texts are
embedded only when they are new to their user: the vectors of the wordings a row merged are kept
in the row (`variants`, `variant_vectors`), so a forget that deletes the row erases them too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, NamedTuple, Sequence

import time

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whisper_assets.core.enrichment.consolidation import ConsolidatedFact, Counts, ObservedFact, consolidate_users

if TYPE_CHECKING:
    from whisper_assets.core.embedding import Embedder

USER_FACTS_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext('user_facts:' || :bot))")
_OBSERVATIONS = sa.text(
    "SELECT user_id, category, fact_content, confidence, source_message_ids::text[], observed_at, day, model,"
    " prompt_version FROM fact_observations WHERE bot_name = :bot AND user_id = ANY(:users)"
)
_EXISTING = sa.text(
    "SELECT id, user_id, bot_name, fact_content, category, confidence, mention_count, first_seen, last_seen,"
    " source_message_ids::text[], model, prompt_version, slot, status, valid_from, valid_to, prior_valid_from,"
    " prior_valid_to, prior_ended_by, variants, variant_vectors FROM user_facts"
    " WHERE bot_name = :bot AND user_id = ANY(:users)"
)
_DELETE_IDS = sa.text("DELETE FROM user_facts WHERE id = ANY(:ids)")
_COLUMNS = ("user_id", "bot_name", "fact_content", "category", "confidence", "mention_count", "first_seen",
            "last_seen", "source_message_ids", "model", "prompt_version", "slot", "status", "valid_from", "valid_to",
            "prior_valid_from", "prior_valid_to", "prior_ended_by", "variants", "variant_vectors")
_CASTS = {"source_message_ids": "uuid[]", "valid_from": "timestamptz", "valid_to": "timestamptz", "slot": "text",
          "prior_valid_from": "timestamptz[]", "prior_valid_to": "timestamptz[]",
          "prior_ended_by": "text[]", "variants": "text[]", "variant_vectors": "bytea"}


@dataclass
class RecomputeReport:
    """Rows the recomputed users now have, and what consolidation did, by (bot, day) of the
    observation that did it (a merge counts the folded observations)."""

    rows: int = 0
    users: int = 0
    counts: dict[str, Counts] = field(default_factory=dict)  # by bot
    rows_written: int = 0  # rows inserted or replaced (unchanged rows are left alone)
    texts_embedded: int = 0  # wordings new to their user
    # read, consolidate (which includes embed: the wordings new to their user), write
    timings_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def for_partition(self, bot: str, day: date) -> dict[str, int]:
        c = self.counts.get(bot)
        if c is None:
            return {"facts_merged": 0, "facts_superseded": 0, "facts_closed": 0}
        return {"facts_merged": c.merged.get(day, 0), "facts_superseded": c.superseded.get(day, 0),
                "facts_closed": c.closed.get(day, 0)}


def _default_embed(texts: list[str]) -> np.ndarray:
    """The process's embedder, loaded only when a text is new."""
    from whisper_assets.core.embedding import get_embedder

    return get_embedder().encode(texts)


def recompute(conn: Connection, users_by_bot: Mapping[str, Iterable[str]],
              embedder: Embedder | None = None) -> RecomputeReport:
    """Rebuild the user_facts rows of these users (bot -> user ids) from fact_observations."""
    report = RecomputeReport()
    encode: Callable[[list[str]], np.ndarray] = embedder.encode if embedder is not None else _default_embed

    def embed(texts: list[str]) -> np.ndarray:
        t = time.perf_counter()
        report.texts_embedded += len(texts)
        try:
            return encode(texts)
        finally:
            report.timings_ms["embed"] += (time.perf_counter() - t) * 1000
    for bot, users in sorted(users_by_bot.items()):
        t0 = time.perf_counter()
        users = sorted(set(users))
        params = {"bot": bot, "users": users}
        conn.execute(USER_FACTS_LOCK, params)
        observations: dict[str, list[ObservedFact]] = defaultdict(list)
        for r in conn.execute(_OBSERVATIONS, params).all():
            observations[r[0]].append(ObservedFact(r[1], r[2], float(r[3]), tuple(r[4]), r[5], r[6], r[7], r[8]))
        existing = conn.execute(_EXISTING, params).all()
        t1 = time.perf_counter()
        rows, used = consolidate_users(observations, _cached_vectors(existing), embed)
        t2 = time.perf_counter()
        out = [_row(bot, u, f, used[u]) for u in sorted(rows) for f in rows[u]]
        # Only the rows that changed are rewritten: most of a user's facts stay as they were.
        kept = {tuple(_plain(v) for v in r[1:]): r[0] for r in existing}
        fresh = [r for r in out if tuple(_plain(v) for v in r) not in kept]
        stale = set(kept.values()) - {kept.get(tuple(_plain(v) for v in r)) for r in out}
        if stale:
            conn.execute(_DELETE_IDS, {"ids": sorted(stale)})
        from whisper_assets.stores.repository.enrichment import insert_rows

        insert_rows(conn, "user_facts", _COLUMNS, fresh, _CASTS)
        t3 = time.perf_counter()
        for name, ms in (("read", t1 - t0), ("consolidate", t2 - t1), ("write", t3 - t2)):
            report.timings_ms[name] += ms * 1000
        report.rows_written += len(fresh)
        counts = Counts()
        for facts in rows.values():
            counts.add(facts)
        report.counts[bot] = counts
        report.rows += len(out)
        report.users += len(users)
    return report


def _plain(v: object) -> object:
    """A column value as compared between a stored row and a computed one."""
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, list):
        return tuple(v)
    return v


def _cached_vectors(existing: Iterable[Sequence]) -> dict[str, dict[str, np.ndarray]]:
    """user -> text -> vector, from the stored rows' variants and variant_vectors."""
    cached: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for r in existing:
        user, variants, blob = r[1], r[-2], r[-1]
        if blob is None or not variants:
            continue
        matrix = np.frombuffer(bytes(blob), dtype=np.float32)
        if matrix.size % len(variants):
            continue
        for text, vec in zip(variants, matrix.reshape(len(variants), -1)):
            if vec.any():
                cached[user][text] = vec
    return cached


def _row(bot: str, user: str, f: ConsolidatedFact, vectors: Mapping[str, np.ndarray]) -> tuple:
    prior = f.periods[:-1]
    dims = {v.shape[0] for v in vectors.values()}
    blob = None
    if len(dims) == 1 and any(t in vectors for t in f.variants):
        dim = dims.pop()
        matrix = np.zeros((len(f.variants), dim), dtype=np.float32)
        for i, t in enumerate(f.variants):
            if t in vectors:
                matrix[i] = vectors[t]
        blob = matrix.tobytes()
    return (user, bot, f.fact, f.category, f.confidence, f.mention_count, f.first_seen, f.last_seen,
            list(f.source_message_ids), f.model, f.prompt_version, f.slot, f.status, f.valid_from, f.valid_to,
            [p.start for p in prior], [p.end for p in prior], [p.ended_by for p in prior], list(f.variants), blob)


# -- reading -----------------------------------------------------------------------------------------

class FactRecord(NamedTuple):
    """A user_facts row with its validity: the latest period and the earlier ones."""

    category: str
    fact: str
    confidence: float
    mention_count: int
    first_seen: datetime
    last_seen: datetime
    source_message_ids: list[str]
    model: str
    prompt_version: str
    slot: str | None
    status: str
    valid_from: datetime
    valid_to: datetime | None
    prior_valid_from: list[datetime]
    prior_valid_to: list[datetime]
    prior_ended_by: list[str]

    def periods(self) -> list[tuple[datetime, datetime | None, str | None]]:
        """(start, end, how it ended) oldest first; the last one is (valid_from, valid_to, status)."""
        latest = (self.valid_from, self.valid_to, None if self.status == "current" else self.status)
        return [*zip(self.prior_valid_from, self.prior_valid_to, self.prior_ended_by), latest]


# Current ones first, so that the cap never drops a current fact for an ended one.
FACT_RECORDS_SQL = sa.text(
    "SELECT category, fact_content, confidence, mention_count, first_seen, last_seen,"
    " source_message_ids::text[], model, prompt_version, slot, status, COALESCE(valid_from, first_seen),"
    " valid_to, prior_valid_from, prior_valid_to, prior_ended_by FROM user_facts"
    " WHERE bot_name = :bot AND user_id = :user AND (CAST(:cat AS text) IS NULL OR category = :cat)"
    " AND (CAST(:now AS timestamptz) IS NULL OR first_seen <= :now)"
    " AND (NOT :current_only OR valid_to IS NULL)"
    " ORDER BY valid_to IS NULL DESC, confidence DESC, mention_count DESC, last_seen DESC, fact_content LIMIT :cap"
)


def fact_records(
    conn: Connection, bot: str, user: str, *, limit: int, category: str | None = None, now: datetime | None = None,
    current_only: bool = False,
) -> list[FactRecord]:
    """A user's facts with their periods: first learnt at or before `now` when given; only those
    that hold today when `current_only`. Current ones first, then most confident."""
    rows = conn.execute(FACT_RECORDS_SQL, {"bot": bot, "user": user, "cat": category, "now": now, "cap": limit,
                                           "current_only": current_only}).all()
    return [FactRecord(*r[:13], list(r[13]), list(r[14]), list(r[15])) for r in rows]
