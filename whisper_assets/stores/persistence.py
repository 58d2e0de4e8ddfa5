"""Partition-scoped reads and writes outside the IO manager: staging from Qdrant, user_facts
consolidation, run records, the completion mark, and keeping a forget that lands mid-run."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from psycopg2.extras import execute_values

from whisper_assets.core.enrichment.models import StagedMessage, Summary, SummaryEmbedding
from whisper_assets.core.enrichment.pipeline import PartitionResult
from whisper_assets.core.messages import epoch_ms, message_version
from whisper_assets.stores.postgres import sql_dir
from whisper_assets.stores.qdrant import MarkResult, MessageStore

PartitionIds = list[tuple[str, date]]
_SUMMARY_NS = uuid.UUID("3d8e0f5a-2c4b-4e7a-8f61-9b2d7c1e5a40")
# Bound arrays, never string-built keys: matches the (bot_name, day) pairs of a run.
IN_PARTITIONS = "(bot_name, day) IN (SELECT b, d FROM unnest(%s::text[], %s::date[]) AS p(b, d))"


def unzip(pids: PartitionIds) -> tuple[list[str], list[date]]:
    return [b for b, _ in pids], [d for _, d in pids]


# -- a forget while a run of the same bot is in flight -------------------------------------------------
# The run may have read the user's messages before they were erased; its writes must not bring the
# user back. `forget_user` records the forget first (sql/003); every write of a run then drops the
# rows of users forgotten after the run started. The run worker's clock and Postgres' may differ a
# little, so a forget this close before the start counts as during the run: the cost is a delay
# (that user's newer messages are not staged by this run and stay pending for the next), never a loss.
FORGET_CLOCK_MARGIN = timedelta(seconds=60)
_USER_SHA256_SQL = "encode(sha256(convert_to(user_id, 'UTF8')), 'hex')"


def user_sha256(user_id: str) -> str:
    """How forgotten_users names a user: the erased id itself is not kept."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


def lock_bots(cursor: Any, bots: Iterable[str], *, exclusive: bool = False) -> None:
    """Writes of a bot's partitions (shared) and a forget of one of its users (exclusive) take turns,
    until the end of the transaction: a forget either finds a run's committed rows and erases them,
    or is committed before the run's write, which then sees it."""
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    for bot in sorted(set(bots)):
        cursor.execute(f"SELECT {fn}(hashtext('forget:' || %s))", (bot,))


def drop_forgotten(cursor: Any, table: str, pids: PartitionIds, run_started: datetime) -> int:
    """Delete the partitions' rows of users forgotten after `run_started` (under `lock_bots`)."""
    cursor.execute(
        f"DELETE FROM {table} WHERE {IN_PARTITIONS} AND (bot_name, {_USER_SHA256_SQL}) IN"
        " (SELECT bot_name, user_sha256 FROM forgotten_users WHERE forgotten_at > %s)",
        (*unzip(pids), run_started - FORGET_CLOCK_MARGIN),
    )
    return cursor.rowcount


def forgotten_since(cursor: Any, bots: Iterable[str], run_started: datetime) -> set[tuple[str, str]]:
    """(bot, user_sha256) of the users of `bots` forgotten after `run_started`."""
    cursor.execute(
        "SELECT bot_name, user_sha256 FROM forgotten_users WHERE bot_name = ANY(%s) AND forgotten_at > %s",
        (sorted(set(bots)), run_started - FORGET_CLOCK_MARGIN),
    )
    return {(r[0], r[1]) for r in cursor.fetchall()}


def record_forget(cursor: Any, bot: str, user: str) -> None:
    cursor.execute(
        "INSERT INTO forgotten_users (bot_name, user_sha256, forgotten_at) VALUES (%s, %s, clock_timestamp())"
        " ON CONFLICT (bot_name, user_sha256) DO UPDATE SET forgotten_at = EXCLUDED.forgotten_at",
        (bot, user_sha256(user)),
    )


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


def touched_users(cursor: Any, pids: PartitionIds) -> dict[str, list[str]]:
    """Users with messages in these partitions, by bot: theirs are the facts a re-run can change."""
    cursor.execute(f"SELECT DISTINCT bot_name, user_id FROM pending_messages WHERE {IN_PARTITIONS}", unzip(pids))
    users: dict[str, list[str]] = defaultdict(list)
    for bot, user in cursor.fetchall():
        users[bot].append(user)
    return dict(users)


def recompute_user_facts(cursor: Any, pids: PartitionIds) -> int:
    """Rebuild user_facts for the touched users; returns how many rows they now have."""
    total = 0
    lock_bots(cursor, (b for b, _ in pids))  # before reading: a forget in flight finishes first
    for bot, users in sorted(touched_users(cursor, pids).items()):
        recompute_users(cursor, bot, users)
        cursor.execute("SELECT count(*) FROM user_facts WHERE bot_name = %s AND user_id = ANY(%s)", (bot, users))
        total += cursor.fetchone()[0]
    return total


def recompute_users(cursor: Any, bot: str, users: Iterable[str]) -> None:
    """Rebuild user_facts of these users of `bot` from fact_observations (runs and prune)."""
    # Whoever else recomputes this bot's users (a run, a prune) waits for this transaction.
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext('user_facts:' || %s))", (bot,))
    cursor.execute((sql_dir() / "queries" / "recompute_user_facts.sql").read_text(),
                   {"bot": bot, "users": sorted(users)})


def staged_versions(cursor: Any, pids: PartitionIds) -> dict[str, str]:
    """message id -> the content version the run staged (what `mark_completed` checks against)."""
    cursor.execute(
        f"SELECT message_id, bot_name, user_id, role, ts, content FROM pending_messages WHERE {IN_PARTITIONS}",
        unzip(pids),
    )
    return {str(r[0]): message_version(r[1], r[2], r[3], r[4], r[5]) for r in cursor.fetchall()}


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
    Invariant 8: only points whose content is still the staged version (`staged_versions`)."""
    at = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    return store.mark_completed(staged, run_id, at)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    asset_key: str
    result: PartitionResult
    model: str
    prompt_version: str
    duration_s: float


def record_runs(cursor: Any, records: Sequence[RunRecord]) -> None:
    rows = [
        (r.run_id, r.asset_key, r.result.bot_name, r.result.day, "failed" if r.result.error else "success",
         r.result.message_count, len(r.result.facts), len(r.result.summaries), r.result.usage.calls,
         r.result.usage.tokens_in, r.result.usage.tokens_out, r.result.usage.cost_usd, r.model,
         r.prompt_version, r.duration_s, r.result.error)
        for r in records
    ]
    execute_values(
        cursor,
        "INSERT INTO enrichment_metadata (run_id, asset_key, bot_name, day, status, message_count, fact_count,"
        " summary_count, llm_calls, tokens_in, tokens_out, cost_usd, model, prompt_version, duration_s, error)"
        " VALUES %s",
        rows,
    )
