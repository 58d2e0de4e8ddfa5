"""Materialize chosen bot-days through Dagster, in-process, in the runs core/run_plan.py plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

import dagster as dg

from whisper_assets.core.run_plan import plan_runs
from whisper_assets.defs.definitions import build_definitions
from whisper_assets.defs.instance import persistent_instance
from whisper_assets.defs.jobs import enrichment_job
from whisper_assets.defs.partitions import bots_partitions, partition_key
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.defs.run_tags import SOURCE, partition_tags
from whisper_assets.defs.schedules import record_empty_days_job


@dataclass(frozen=True)
class RunOutcome:
    bots: tuple[str, ...]
    first_day: date
    last_day: date
    run_id: str
    success: bool
    error: str | None = None


# What each blocking check measures: (the metric, the metadata key of its threshold, and what to do).
CHECK_HINTS: dict[str, tuple[str, str, str]] = {
    "FACT_CONFIDENCE": (
        "share_below_threshold", "max_share",
        "too many facts were extracted with low confidence (or outside [0,1]): check the LLM backend and "
        "model, then re-run with `whisper-assets backfill`; to accept them, raise WHISPER_CHECK_MAX_LOW_SHARE "
        "or lower WHISPER_CHECK_MIN_CONFIDENCE",
    ),
    "JUNK_FACTS": (
        "junk_facts", "",
        "facts cite bot or unknown turns, are placeholders, have bad lengths or repeat: see the check's "
        "counts per reason and partitions table in the Dagster UI (`whisper-assets dev`), fix the model or prompt, then `whisper-assets backfill`",
    ),
    "SUMMARY_QUALITY": (
        "problems", "",
        "a user with turns got no real summary (missing, a placeholder or a copy of one message): see the "
        "check's counts per reason and partitions table in the Dagster UI, fix the model or prompt, then `whisper-assets backfill`",
    ),
}


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def describe_failed_check(check_name: str, asset: str, metadata: dict[str, Any]) -> str:
    """One line: the check, its metric against its threshold, and what to do."""
    metric, limit_key, hint = CHECK_HINTS.get(check_name, ("", "", "see the check in the Dagster UI"))
    values = {k: _value(v) for k, v in metadata.items()}
    parts = []
    if metric in values:
        limit = values.get(limit_key, 0) if limit_key else 0
        parts.append(f"{metric} {values[metric]} (threshold {limit})")
    if check_name == "FACT_CONFIDENCE":
        if values.get("out_of_range"):
            parts.append(f"out_of_range {values['out_of_range']} (threshold 0)")
        if "threshold" in values:
            parts.append(f"low = confidence under {values['threshold']}")
    measured = "; ".join(parts) or ", ".join(f"{k} {v}" for k, v in values.items() if isinstance(v, (int, float)))
    return f"check {check_name} on {asset} failed: {measured}. What to do: {hint}"


def failed_check_messages(events: Iterable[Any]) -> list[str]:
    """The failed blocking asset checks among a run's events, each as `describe_failed_check`."""
    out = []
    for event in events:
        if getattr(event, "event_type_value", None) != "ASSET_CHECK_EVALUATION":
            continue
        data = event.event_specific_data
        if data.passed or not getattr(data, "blocking", False):
            continue
        out.append(describe_failed_check(data.check_name, data.asset_key.to_user_string(), dict(data.metadata)))
    return out


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
            checks = failed_check_messages(result.all_events)
            failures = [e for e in result.all_events if e.is_step_failure]
            if checks:  # a blocking check stopped the run: the step failures it caused say less
                error = " | ".join(checks)
            else:
                error = failure_message(failures[0].step_failure_data.error) if failures else "run failed"
        outcomes.append(RunOutcome(tuple(bots), first, last, result.run_id, result.success, error))
    return outcomes



def record_empty_days(
    instance: dg.DagsterInstance | None = None, stores: StoresResource | None = None,
    last_day: date | None = None, log_level: str = "WARNING",
) -> RunOutcome:
    """Run record_empty_days_job in this process (as the 01:00 UTC schedule does in the daemon):
    every known bot's days without messages, from the first day to `last_day` (default yesterday),
    become materialized-empty."""
    stores = stores or StoresResource()
    settings = stores.settings()
    instance = instance or persistent_instance(settings)
    job = build_definitions(settings, stores).resolve_job_def(record_empty_days_job.name)
    config = {"last_day": str(last_day)} if last_day else {}
    result = job.execute_in_process(
        instance=instance, tags={SOURCE: "cli"}, raise_on_error=False,
        run_config={"ops": {"record_empty_days_op": {"config": config}},
                    "loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    failures = [e for e in result.all_events if e.is_step_failure]
    error = failure_message(failures[0].step_failure_data.error) if failures else None
    last = last_day or datetime.now(timezone.utc).date() - timedelta(days=1)
    return RunOutcome((), settings.first_day, last, result.run_id, result.success, error)
