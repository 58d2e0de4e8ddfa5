"""Schedules: the daily close-out of yesterday, TTL pruning and the freshness check (UTC)."""

from datetime import timedelta

import dagster as dg

from whisper_assets.defs.jobs import enrichment_job, freshness_job, prune_job
from whisper_assets.defs.partitions import bots_partitions, partition_key
from whisper_assets.defs.run_tags import REASON, SOURCE


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


prune_schedule = dg.ScheduleDefinition(
    job=prune_job, cron_schedule="0 3 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

freshness_schedule = dg.ScheduleDefinition(
    job=freshness_job, cron_schedule="*/5 * * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

SCHEDULES = [daily_closeout_schedule, prune_schedule, freshness_schedule]
