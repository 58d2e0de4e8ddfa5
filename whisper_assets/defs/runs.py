"""Materialize chosen bot-days through Dagster, in-process, in the runs core/run_plan.py plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

import dagster as dg

from whisper_assets.core.run_plan import plan_runs
from whisper_assets.defs.definitions import build_definitions
from whisper_assets.defs.instance import persistent_instance
from whisper_assets.defs.jobs import enrichment_job
from whisper_assets.defs.partitions import bots_partitions, partition_key
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.defs.run_tags import SOURCE, partition_tags


@dataclass(frozen=True)
class RunOutcome:
    bots: tuple[str, ...]
    first_day: date
    last_day: date
    run_id: str
    success: bool
    error: str | None = None


def failure_message(error: Any) -> str:
    """The step's own error: Dagster wraps an exception raised in an op in a
    DagsterExecutionStepExecutionError whose message only names the op; its cause says why."""
    while error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
        error = error.cause
    return error.message.strip()


def materialize_days(
    days_by_bot: dict[str, Iterable[date]],
    instance: dg.DagsterInstance | None = None,
    stores: StoresResource | None = None,
    llm: LLMResource | None = None,
    raise_on_error: bool = False,
    log_level: str = "WARNING",
) -> list[RunOutcome]:
    """Run `enrichment_job` in this process for the chosen days, in the persistent instance unless
    one is given: the runs, their tags, materializations and checks show in the UI like the sensor's."""
    stores = stores or StoresResource()
    settings = stores.settings()
    instance = instance or persistent_instance(settings)
    known = set(instance.get_dynamic_partitions(bots_partitions.name))
    new_bots = sorted(set(days_by_bot) - known)
    if new_bots:
        instance.add_dynamic_partitions(bots_partitions.name, new_bots)
    # The job as the definitions serve it (selection, tags), with these resources.
    job = build_definitions(settings, stores, llm).resolve_job_def(enrichment_job.name)
    outcomes = []
    for bots, first, last in plan_runs(days_by_bot, instance.get_dynamic_partitions(bots_partitions.name)):
        tags = partition_tags(bots, str(first), str(last))
        result = job.execute_in_process(
            instance=instance,
            partition_key=str(partition_key(bots[0], first)) if first == last and len(bots) == 1 else None,
            tags={**tags, SOURCE: "cli"},
            raise_on_error=raise_on_error,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
        error = None
        if not result.success:
            failures = [e for e in result.all_events if e.is_step_failure]
            error = failure_message(failures[0].step_failure_data.error) if failures else "run failed"
        outcomes.append(RunOutcome(tuple(bots), first, last, result.run_id, result.success, error))
    return outcomes

