"""The enrichment runs' statements: partition staging, observations, summaries and embeddings
(written and read by the IO manager and the assets), the user_facts recompute under its lock,
run records, the run's session and bot locks, and the forget bookkeeping a run checks against.

Partitions are bound as two arrays, `:bots` and `:days`, matched pairwise (`_IN_PARTITIONS`):
never string-built keys, and never the cross product of the bots and the days.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whisper_assets.core.enrichment.models import FactObservation, StagedMessage, Summary, SummaryEmbedding
from whisper_assets.core.enrichment.pipeline import PartitionResult
from whisper_assets.core.messages import message_version

PartitionIds = list[tuple[str, date]]

_IN_PARTITIONS = (
    "(bot_name, day) IN (SELECT b, d FROM unnest(CAST(:bots AS text[]), CAST(:days AS date[])) AS p(b, d))"
)


def partition_params(pids: PartitionIds) -> dict[str, list]:
    """The `:bots` and `:days` of `_IN_PARTITIONS`."""
    return {"bots": [b for b, _ in pids], "days": [d for _, d in pids]}


# -- the tables of the IO manager -------------------------------------------------------------------

# Rows per INSERT statement. Each row is one named parameter bound to a tuple, which psycopg2 renders
# as a row `(v1, v2, ...)`: a page is one multi-row VALUES, as fast as psycopg2's execute_values.
# (A text() statement executed with a list of parameter sets is sent row by row -- SQLAlchemy's
# multi-row VALUES applies to insert() constructs only -- about 2x slower on the staging write; one
# named parameter per value is about 1.5x slower, from SQLAlchemy's per-parameter work.)
INSERT_PAGE_ROWS = 1000


@functools.lru_cache(maxsize=32)
def _insert_statement(table: str, columns: tuple[str, ...], casts: tuple[tuple[str, str], ...],
                      n_rows: int) -> sa.TextClause:
    cast_of = dict(casts)
    names = ", ".join(columns)
    selected = ", ".join(f"CAST({c} AS {cast_of[c]})" if c in cast_of else c for c in columns)
    values = ", ".join(f":row_{i}" for i in range(n_rows))
    return sa.text(f"INSERT INTO {table} ({names}) SELECT {selected} FROM (VALUES {values}) AS v({names})")


def insert_rows(conn: Connection, table: str, columns: tuple[str, ...], rows: Sequence[tuple],
                casts: Mapping[str, str] | None = None) -> None:
    """INSERT `rows` (tuples in the order of `columns`), `INSERT_PAGE_ROWS` per statement. `casts`:
    column -> its SQL type, for values whose literal is not already of the column's type
    (a str for a uuid, a list for a uuid[] or real[])."""
    cast_items = tuple(sorted((casts or {}).items()))
    for start in range(0, len(rows), INSERT_PAGE_ROWS):
        page = rows[start : start + INSERT_PAGE_ROWS]
        statement = _insert_statement(table, columns, cast_items, len(page))
        conn.execute(statement, {f"row_{i}": tuple(row) for i, row in enumerate(page)})


@dataclass(frozen=True)
class TableSpec:
    """An asset's table: its columns, and how its rows map to and from the asset's objects."""

    table: str
    columns: tuple[str, ...]
    casts: dict[str, str]  # column -> the SQL type its values are cast to (see insert_rows)
    to_row: Callable[[Any], tuple]
    from_row: Callable[[Sequence[Any]], Any]
    order_by: str


def _vec(raw: Any) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype=np.float32)


# Keyed by asset name: what the IO manager stores each asset's output in.
TABLES: dict[str, TableSpec] = {
    "pending_messages": TableSpec(
        "pending_messages",
        ("message_id", "bot_name", "day", "user_id", "role", "content", "ts", "vector"),
        {"message_id": "uuid"},
        lambda m: (m.message_id, m.bot_name, m.day, m.user_id, m.role, m.content, m.ts,
                   np.asarray(m.vector, dtype=np.float32).tobytes()),
        lambda r: StagedMessage(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], _vec(r[7])),
        "bot_name, day, ts, message_id",
    ),
    "extracted_facts": TableSpec(
        "fact_observations",
        ("bot_name", "day", "user_id", "category", "fact_content", "confidence", "source_message_ids",
         "observed_at", "model", "prompt_version", "run_id"),
        {"source_message_ids": "uuid[]"},
        lambda f: (f.bot_name, f.day, f.user_id, f.category, f.fact_content, f.confidence,
                   list(f.source_message_ids), f.observed_at, f.model, f.prompt_version, f.run_id),
        lambda r: FactObservation(r[0], r[1], r[2], r[3], r[4], r[5], tuple(str(x) for x in r[6]),
                                  r[7], r[8], r[9], r[10]),
        "bot_name, day, user_id, category, fact_content",
    ),
    "windowed_summaries": TableSpec(
        "conversation_summaries",
        ("bot_name", "day", "user_id", "start_timestamp", "end_timestamp", "summary_text", "topics",
         "message_count", "source_message_ids", "model", "prompt_version", "run_id", "last_message_at"),
        {"topics": "text[]", "source_message_ids": "uuid[]"},
        lambda s: (s.bot_name, s.day, s.user_id, s.start_timestamp, s.end_timestamp, s.summary_text,
                   list(s.topics), s.message_count, list(s.source_message_ids), s.model, s.prompt_version,
                   s.run_id, s.said_by),
        lambda r: Summary(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6]), r[7], tuple(str(x) for x in r[8]),
                          r[9], r[10], r[11], r[12]),
        "bot_name, day, user_id, start_timestamp",
    ),
    "summary_embeddings": TableSpec(
        "summary_embeddings",
        ("bot_name", "day", "user_id", "start_timestamp", "end_timestamp", "embedding", "model"),
        {"embedding": "real[]"},
        lambda e: (e.bot_name, e.day, e.user_id, e.start_timestamp, e.end_timestamp,
                   [float(x) for x in e.embedding], e.model),
        lambda r: SummaryEmbedding(r[0], r[1], r[2], r[3], r[4], np.asarray(r[5], dtype=np.float32), r[6]),
        "bot_name, day, user_id, start_timestamp",
    ),
}


def replace_partitions(
    conn: Connection, spec: TableSpec, pids: PartitionIds, rows: Sequence[Any], run_started: datetime | None = None
) -> int:
    """DELETE the partitions' rows and INSERT `rows`, except those of users forgotten since
    `run_started` (None: the rows were not read by a run that a forget can overtake); returns the
    rows kept (the caller owns the transaction)."""
    strays = {(r.bot_name, r.day) for r in rows} - set(pids)
    if strays:
        raise ValueError(f"{spec.table}: rows for partitions outside this run: {sorted(strays)[:3]}")
    lock_bots(conn, (b for b, _ in pids))
    conn.execute(sa.text(f"DELETE FROM {spec.table} WHERE {_IN_PARTITIONS}"), partition_params(pids))
    insert_rows(conn, spec.table, spec.columns, [spec.to_row(r) for r in rows], spec.casts)
    if run_started is None:
        return len(rows)
    return len(rows) - drop_forgotten(conn, spec.table, pids, run_started)


def load_partitions(conn: Connection, spec: TableSpec, pids: PartitionIds) -> list[Any]:
    rows = conn.execute(sa.text(
        f"SELECT {', '.join(spec.columns)} FROM {spec.table} WHERE {_IN_PARTITIONS} ORDER BY {spec.order_by}"
    ), partition_params(pids))
    return [spec.from_row(r) for r in rows]


def staged_versions(conn: Connection, pids: PartitionIds) -> dict[str, str]:
    """message id -> the content version the run staged (what the completion mark checks against)."""
    rows = conn.execute(sa.text(
        f"SELECT message_id, bot_name, user_id, role, ts, content FROM pending_messages WHERE {_IN_PARTITIONS}"
    ), partition_params(pids))
    return {str(r[0]): message_version(r[1], r[2], r[3], r[4], r[5]) for r in rows}


# -- user_facts --------------------------------------------------------------------------------------

def touched_users(conn: Connection, pids: PartitionIds) -> dict[str, list[str]]:
    """Users with messages in these partitions, by bot: theirs are the facts a re-run can change."""
    users: dict[str, list[str]] = defaultdict(list)
    for bot, user in conn.execute(sa.text(
        f"SELECT DISTINCT bot_name, user_id FROM pending_messages WHERE {_IN_PARTITIONS}"
    ), partition_params(pids)):
        users[bot].append(user)
    return dict(users)


def recompute_user_facts(conn: Connection, users_by_bot: Mapping[str, Iterable[str]], embedder: Any = None) -> int:
    """Rebuild user_facts of these users (bot -> user ids) from fact_observations, for a run and for
    prune alike; returns how many rows they now have. Consolidation (near-duplicates merged, facts
    with validity periods) and its statements are in stores/repository/consolidation.py.

    Each bot under its user_facts lock, until the end of the transaction: whoever else recomputes
    that bot's users (a run, a prune) waits for this transaction, so neither undoes the other.
    """
    from whisper_assets.stores.repository import consolidation

    return consolidation.recompute(conn, users_by_bot, embedder).rows


# -- run records -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunRecord:
    """A row of enrichment_metadata: one partition of a run, with its counts and LLM usage."""

    run_id: str
    asset_key: str
    result: PartitionResult
    model: str
    prompt_version: str
    duration_s: float


_RUN_COLUMNS = ("run_id", "asset_key", "bot_name", "day", "status", "message_count", "fact_count",
                "summary_count", "llm_calls", "tokens_in", "tokens_out", "cost_usd", "model", "prompt_version",
                "duration_s", "error")


def record_runs(conn: Connection, records: Sequence[RunRecord]) -> None:
    rows = [
        (r.run_id, r.asset_key, r.result.bot_name, r.result.day, "failed" if r.result.error else "success",
         r.result.message_count, len(r.result.facts), len(r.result.summaries), r.result.usage.calls,
         r.result.usage.tokens_in, r.result.usage.tokens_out, r.result.usage.cost_usd, r.model,
         r.prompt_version, r.duration_s, r.result.error)
        for r in records
    ]
    insert_rows(conn, "enrichment_metadata", _RUN_COLUMNS, rows)


# -- the run's session and the bots' locks -----------------------------------------------------------

_LOCK_SHARED = sa.text("SELECT pg_advisory_xact_lock_shared(hashtext('forget:' || :bot))")
_LOCK_EXCLUSIVE = sa.text("SELECT pg_advisory_xact_lock(hashtext('forget:' || :bot))")


def lock_bots(conn: Connection, bots: Iterable[str], *, exclusive: bool = False) -> None:
    """Writes of a bot's partitions (shared) and a forget of one of its users (exclusive) take turns,
    until the end of the transaction: a forget either finds a run's committed rows and erases them,
    or is committed before the run's write, which then sees it. Sorted: two lockers never deadlock."""
    statement = _LOCK_EXCLUSIVE if exclusive else _LOCK_SHARED
    for bot in sorted(set(bots)):
        conn.execute(statement, {"bot": bot})


def set_local(conn: Connection, setting: str, value: str) -> None:
    """A session setting until the end of the transaction (`set_config(..., true)`)."""
    conn.execute(sa.text("SELECT set_config(:setting, :value, true)"), {"setting": setting, "value": value})


def bot_lock_holders(conn: Connection, bots: Sequence[str]) -> list[str]:
    """application_name of the sessions that hold the `lock_bots` lock of any of `bots`."""
    return list(conn.execute(sa.text(
        "SELECT DISTINCT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted"
        " AND ((l.classid::bigint << 32) | l.objid::bigint) = ANY(SELECT hashtext('forget:' || b)::bigint"
        " FROM unnest(CAST(:bots AS text[])) AS b)"
    ), {"bots": list(bots)}).scalars())


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


def drop_forgotten(conn: Connection, table: str, pids: PartitionIds, run_started: datetime) -> int:
    """Delete the partitions' rows of users forgotten after `run_started` (under `lock_bots`)."""
    return conn.execute(sa.text(
        f"DELETE FROM {table} WHERE {_IN_PARTITIONS} AND (bot_name, {_USER_SHA256_SQL}) IN"
        " (SELECT bot_name, user_sha256 FROM forgotten_users WHERE forgotten_at > :since)"
    ), {**partition_params(pids), "since": run_started - FORGET_CLOCK_MARGIN}).rowcount


def forgotten_since(conn: Connection, bots: Iterable[str], run_started: datetime) -> set[tuple[str, str]]:
    """(bot, user_sha256) of the users of `bots` forgotten after `run_started`."""
    rows = conn.execute(sa.text(
        "SELECT bot_name, user_sha256 FROM forgotten_users WHERE bot_name = ANY(:bots) AND forgotten_at > :since"
    ), {"bots": sorted(set(bots)), "since": run_started - FORGET_CLOCK_MARGIN})
    return {(r[0], r[1]) for r in rows}


def record_forget(conn: Connection, bot: str, user: str) -> None:
    conn.execute(sa.text(
        "INSERT INTO forgotten_users (bot_name, user_sha256, forgotten_at) VALUES (:bot, :user, clock_timestamp())"
        " ON CONFLICT (bot_name, user_sha256) DO UPDATE SET forgotten_at = EXCLUDED.forgotten_at"
    ), {"bot": bot, "user": user_sha256(user)})


# -- what runs produced, read back (the evaluation) ---------------------------------------------------
class UsageTotals(NamedTuple):
    partitions: int
    llm_calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    models: str | None  # the distinct models, comma-separated


_USAGE_TOTALS = sa.text(
    "SELECT count(DISTINCT (bot_name, day)), coalesce(sum(llm_calls), 0), coalesce(sum(tokens_in), 0),"
    " coalesce(sum(tokens_out), 0), coalesce(sum(cost_usd), 0), string_agg(DISTINCT model, ', ')"
    " FROM enrichment_metadata WHERE status = 'success'"
)


def usage_totals(conn: Connection) -> UsageTotals:
    """LLM usage over every successful partition run recorded in this database."""
    r = conn.execute(_USAGE_TOTALS).one()
    return UsageTotals(int(r[0]), int(r[1]), int(r[2]), int(r[3]), float(r[4]), r[5])


class Observation(NamedTuple):
    user_id: str
    category: str
    fact_content: str
    confidence: float
    source_message_ids: list[str]


_BOT_OBSERVATIONS = sa.text(
    "SELECT user_id, category, fact_content, confidence, source_message_ids::text[] FROM fact_observations"
    " WHERE bot_name = :bot ORDER BY day, user_id, category, fact_content"
)


def bot_observations(conn: Connection, bot: str) -> list[Observation]:
    """Every fact observation of one bot, in day, user, category, text order."""
    return [Observation(r[0], r[1], r[2], float(r[3]), list(r[4]))
            for r in conn.execute(_BOT_OBSERVATIONS, {"bot": bot}).all()]
