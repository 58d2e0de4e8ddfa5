"""Schedules: the daily close-out of yesterday (with the empty days it records), TTL pruning and the
freshness check (UTC)."""

from datetime import date, datetime, timedelta, timezone
from typing import Iterator, Optional

import dagster as dg

from whisper_assets.core.days import empty_days
from whisper_assets.defs.assets import ASSETS
from whisper_assets.defs.jobs import enrichment_job, freshness_job, prune_job
from whisper_assets.defs.partitions import bots_partitions, partition_key
from whisper_assets.defs.resources import StoresResource
from whisper_assets.defs.run_tags import REASON, SOURCE

# What an empty day's materialization says, from a multi-day run or from record_empty_days_job alike.
EMPTY_DAY_METADATA = {"messages": 0}
BOT_DAY_ASSETS = [key for a in ASSETS for key in a.keys]


@dg.schedule(job=enrichment_job, cron_schedule="30 0 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_closeout_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Re-runs yesterday for every bot once the day is over, so late messages make it in."""
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return [
        dg.RunRequest(run_key=f"closeout|{bot}|{yesterday}", partition_key=str(partition_key(bot, yesterday)),
                      tags={"bot": bot, REASON: "daily close-out", SOURCE: "schedule"})
        for bot in context.instance.get_dynamic_partitions(bots_partitions.name)
    ]


class EmptyDaysConfig(dg.Config):
    last_day: Optional[str] = None  # YYYY-MM-DD; None: yesterday (UTC)


def plan_empty_days(
    instance: dg.DagsterInstance, days_with_messages: dict[str, set[date]], first: date, last: date
) -> dict[dg.AssetKey, list[tuple[str, date]]]:
    """Per asset, the (bot, day) of [first, last] of every known bot with no message and no
    materialization of that asset yet."""
    bots = instance.get_dynamic_partitions(bots_partitions.name)
    plan: dict[dg.AssetKey, list[tuple[str, date]]] = {}
    for key in BOT_DAY_ASSETS:
        done: dict[str, set[date]] = {}
        for k in instance.get_materialized_partitions(key):
            bot, _, day = k.partition("|")
            done.setdefault(bot, set()).add(date.fromisoformat(day))
        plan[key] = [(bot, d) for bot in bots
                     for d in empty_days(first, last, days_with_messages.get(bot, ()), done.get(bot, ()))]
    return plan


@dg.op(description="Records each known bot's days without messages, from WHISPER_FIRST_DAY to yesterday, as "
       "materialized-empty (metadata messages=0) on every bot x day asset, so the partitions' fill means "
       "'processed'. Days with messages are left to the sensor and to backfills.")
def record_empty_days_op(context: dg.OpExecutionContext, config: EmptyDaysConfig,
                         stores: StoresResource) -> Iterator[dg.AssetMaterialization | dg.Output]:
    first = stores.settings().first_day
    last = (date.fromisoformat(config.last_day) if config.last_day
            else datetime.now(timezone.utc).date() - timedelta(days=1))
    with stores.open_store() as store:
        days_with_messages: dict[str, set[date]] = {}
        for row in store.status_by_day():
            days_with_messages.setdefault(row.bot_name, set()).add(date.fromisoformat(row.day))
    plan = plan_empty_days(context.instance, days_with_messages, first, last)
    for key, pids in plan.items():
        for bot, day in pids:
            yield dg.AssetMaterialization(asset_key=key, partition=str(partition_key(bot, day)),
                                          metadata=EMPTY_DAY_METADATA)
    bot_days = {pid for pids in plan.values() for pid in pids}
    context.log.info(f"recorded {len(bot_days)} empty bot-days from {first} to {last}")
    yield dg.Output(None, metadata={"first_day": str(first), "last_day": str(last), "empty_bot_days": len(bot_days),
                                    "materializations": sum(len(p) for p in plan.values())})


@dg.job(description="Record days without messages as materialized-empty (partition coverage).")
def record_empty_days_job() -> None:
    record_empty_days_op()


# After the close-out's runs of yesterday (which materialize it, messages or not).
record_empty_days_schedule = dg.ScheduleDefinition(
    name="record_empty_days_schedule", job=record_empty_days_job, cron_schedule="0 1 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

prune_schedule = dg.ScheduleDefinition(
    job=prune_job, cron_schedule="0 3 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

freshness_schedule = dg.ScheduleDefinition(
    job=freshness_job, cron_schedule="*/5 * * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

SCHEDULES = [daily_closeout_schedule, record_empty_days_schedule, prune_schedule, freshness_schedule]
