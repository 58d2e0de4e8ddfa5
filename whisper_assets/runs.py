"""Materialize chosen bot-days through Dagster, in-process, batching days into few runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

import dagster as dg

from whisper_assets.defs.assets import ASSETS
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.definitions import build_resources
from whisper_assets.partitions import bots_partitions, partition_key

MAX_DAYS_PER_RUN = 31  # the assets' BackfillPolicy batches the same way


@dataclass(frozen=True)
class RunOutcome:
    bot_name: str
    first_day: date
    last_day: date
    run_id: str
    success: bool
    error: str | None = None


def day_ranges(days: Iterable[date], max_days: int = MAX_DAYS_PER_RUN) -> list[tuple[date, date]]:
    """Cover the days with few contiguous ranges of at most max_days (gaps of a few empty days
    are cheaper inside a run than as another run; longer gaps split)."""
    ordered = sorted(set(days))
    ranges: list[tuple[date, date]] = []
    for d in ordered:
        if ranges and (d - ranges[-1][0]).days < max_days and (d - ranges[-1][1]) <= timedelta(days=7):
            ranges[-1] = (ranges[-1][0], d)
        else:
            ranges.append((d, d))
    return ranges


def default_instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance when there is one (runs show in the UI), else an ephemeral one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def materialize_days(
    days_by_bot: dict[str, Iterable[date]],
    instance: dg.DagsterInstance | None = None,
    stores: StoresResource | None = None,
    llm: LLMResource | None = None,
    raise_on_error: bool = False,
    log_level: str = "WARNING",
) -> list[RunOutcome]:
    instance = instance or default_instance()
    known = set(instance.get_dynamic_partitions(bots_partitions.name))
    new_bots = sorted(set(days_by_bot) - known)
    if new_bots:
        instance.add_dynamic_partitions(bots_partitions.name, new_bots)
    resources = build_resources(stores, llm)
    outcomes = []
    for bot in sorted(days_by_bot):
        for first, last in day_ranges(days_by_bot[bot]):
            start, end = str(partition_key(bot, first)), str(partition_key(bot, last))
            result = dg.materialize(
                ASSETS,
                instance=instance,
                resources=resources,
                partition_key=start if first == last else None,
                tags={} if first == last else {
                    "dagster/asset_partition_range_start": start,
                    "dagster/asset_partition_range_end": end,
                },
                raise_on_error=raise_on_error,
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            )
            error = None
            if not result.success:
                failures = [e for e in result.all_events if e.is_step_failure]
                error = failures[0].step_failure_data.error.message.strip() if failures else "run failed"
            outcomes.append(RunOutcome(bot, first, last, result.run_id, result.success, error))
    return outcomes
