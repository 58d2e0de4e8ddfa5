"""Partition-scoped Postgres IO manager.

An output is the list of rows of every bot-day the run covers (a run may cover a range).
`handle_output` replaces exactly those partitions — DELETE their rows, INSERT the new ones —
in the run's transaction (every output of a run commits together), minus the rows of users forgotten since the run started (a forget that lands
mid-run stays a forget: see `persistence.drop_forgotten`); `load_input` reads the partitions the
downstream step asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import dagster as dg
import numpy as np
from psycopg2.extras import execute_values

from whisper_assets.defs.resources import StoresResource
from whisper_assets.core.enrichment.models import FactObservation, StagedMessage, Summary, SummaryEmbedding
from whisper_assets.stores.persistence import IN_PARTITIONS, PartitionIds, drop_forgotten, lock_bots, unzip
from whisper_assets.defs.partitions import partition_ids


@dataclass(frozen=True)
class TableSpec:
    table: str
    columns: tuple[str, ...]
    casts: dict[str, str]  # column -> SQL type for the insert template
    to_row: Callable[[Any], tuple]
    from_row: Callable[[tuple], Any]
    order_by: str

    @property
    def template(self) -> str:
        return "(" + ", ".join(f"%s::{self.casts[c]}" if c in self.casts else "%s" for c in self.columns) + ")"


def _vec(raw: Any) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype=np.float32)


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
         "message_count", "source_message_ids", "model", "prompt_version", "run_id"),
        {"topics": "text[]", "source_message_ids": "uuid[]"},
        lambda s: (s.bot_name, s.day, s.user_id, s.start_timestamp, s.end_timestamp, s.summary_text,
                   list(s.topics), s.message_count, list(s.source_message_ids), s.model, s.prompt_version,
                   s.run_id),
        lambda r: Summary(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6]), r[7], tuple(str(x) for x in r[8]),
                          r[9], r[10], r[11]),
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

def run_started_at(instance: dg.DagsterInstance, run_id: str) -> datetime:
    """When the run started (its creation time before the start is recorded)."""
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        raise dg.DagsterInvariantViolationError(f"run {run_id} is not in this instance")
    if record.start_time is not None:
        return datetime.fromtimestamp(record.start_time, timezone.utc)
    return record.create_timestamp.astimezone(timezone.utc)


def replace_partitions(
    cursor: Any, spec: TableSpec, pids: PartitionIds, rows: Sequence[Any], run_started: datetime | None = None
) -> int:
    """DELETE the partitions' rows and INSERT `rows`, except those of users forgotten since
    `run_started` (None: the rows were not read by a run that a forget can overtake); returns the
    rows kept (the caller owns the transaction)."""
    wanted = set(pids)
    strays = {(r.bot_name, r.day) for r in rows} - wanted
    if strays:
        raise ValueError(f"{spec.table}: rows for partitions outside this run: {sorted(strays)[:3]}")
    lock_bots(cursor, (b for b, _ in pids))
    cursor.execute(f"DELETE FROM {spec.table} WHERE {IN_PARTITIONS}", unzip(pids))
    if rows:
        execute_values(
            cursor,
            f"INSERT INTO {spec.table} ({', '.join(spec.columns)}) VALUES %s",
            [spec.to_row(r) for r in rows],
            template=spec.template,
            page_size=1000,
        )
    if run_started is None:
        return len(rows)
    return len(rows) - drop_forgotten(cursor, spec.table, pids, run_started)


def load_partitions(cursor: Any, spec: TableSpec, pids: PartitionIds) -> list[Any]:
    cursor.execute(
        f"SELECT {', '.join(spec.columns)} FROM {spec.table} WHERE {IN_PARTITIONS} ORDER BY {spec.order_by}",
        unzip(pids),
    )
    return [spec.from_row(r) for r in cursor.fetchall()]


class PostgresPartitionIOManager(dg.ConfigurableIOManager):
    """Stores each asset's rows in its Postgres table, one transaction per output."""

    stores: StoresResource

    def _spec(self, asset_key: dg.AssetKey) -> TableSpec:
        name = asset_key.path[-1]
        if name not in TABLES:
            raise dg.DagsterInvariantViolationError(f"no Postgres table is mapped for asset {name!r}")
        return TABLES[name]

    def handle_output(self, context: dg.OutputContext, obj: Sequence[Any]) -> None:
        """Into the run's transaction (StoresResource.run_transaction): committed with the rest of
        the run, under the run's exclusive lock on its bots."""
        spec = self._spec(context.asset_key)
        pids = partition_ids(context.asset_partition_keys)
        tx = self.stores.run_transaction(context.run_id, (b for b, _ in pids))
        started = run_started_at(context.step_context.instance, context.run_id)
        written = replace_partitions(tx.cursor, spec, pids, obj, started)
        context.add_output_metadata(
            {"table": spec.table, "rows_written": written, "partitions_replaced": len(pids)}
        )

    def load_input(self, context: dg.InputContext) -> list[Any]:
        spec = self._spec(context.asset_key)
        pids = partition_ids(context.asset_partition_keys)
        # The run's own transaction: it sees what this run staged and has not committed yet.
        tx = self.stores.run_transaction(context.step_context.run_id, (b for b, _ in pids))
        return load_partitions(tx.cursor, spec, pids)
