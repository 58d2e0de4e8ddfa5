"""Partition-scoped Postgres IO manager.

An output is the list of rows of every bot-day the run covers (a run may cover a range).
`handle_output` replaces exactly those partitions -- DELETE their rows, INSERT the new ones --
in the run's transaction (every output of a run commits together), minus the rows of users
forgotten since the run started (a forget that lands mid-run stays a forget: see
`repository.enrichment.drop_forgotten`); `load_input` reads the partitions the downstream step
asks for. The statements and the asset -> table mapping (`TABLES`) are in the repository.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

import dagster as dg

from whisper_assets.defs.partitions import partition_ids
from whisper_assets.defs.resources import StoresResource
from whisper_assets.stores.repository.enrichment import TABLES, TableSpec, load_partitions, replace_partitions


def run_started_at(instance: dg.DagsterInstance, run_id: str) -> datetime:
    """When the run started (its creation time before the start is recorded)."""
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        raise dg.DagsterInvariantViolationError(f"run {run_id} is not in this instance")
    if record.start_time is not None:
        return datetime.fromtimestamp(record.start_time, timezone.utc)
    return record.create_timestamp.astimezone(timezone.utc)


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
        written = replace_partitions(tx.conn, spec, pids, obj, started)
        # Run-wide (an output context has no per-partition metadata): the assets add each
        # partition's own counts (defs/asset_metadata.py).
        context.add_output_metadata(
            {"table": spec.table, "run_rows_written": written, "run_partitions_replaced": len(pids)}
        )

    def load_input(self, context: dg.InputContext) -> list[Any]:
        spec = self._spec(context.asset_key)
        pids = partition_ids(context.asset_partition_keys)
        # The run's own transaction: it sees what this run staged and has not committed yet.
        tx = self.stores.run_transaction(context.step_context.run_id, (b for b, _ in pids))
        return load_partitions(tx.conn, spec, pids)
