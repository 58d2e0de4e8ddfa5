"""The Qdrant sensor, the daily close-out, TTL pruning and forget-user: thin wiring over
whisper_assets.enrichment.scheduling and whisper_assets.maintenance."""

from datetime import datetime, timedelta, timezone
from typing import Optional

import dagster as dg

from whisper_assets.defs.assets import ASSETS, pending_lag_check
from whisper_assets.defs.resources import StoresResource
from whisper_assets.enrichment.scheduling import (
    SensorConfig, SensorState, count_pending, plan_tick, scan_new_pending,
)
from whisper_assets.maintenance import forget_user, prune
from whisper_assets.messages import epoch_ms
from whisper_assets.partitions import bot_day_partitions, bots_partitions, partition_key
from whisper_assets.settings import load_settings

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

enrichment_job = dg.define_asset_job(
    "enrichment_job",
    selection=dg.AssetSelection.assets(*ASSETS),
    partitions_def=bot_day_partitions,
    # In-process: the multiprocess executor adds ~6 s a run and fights over the embedded store.
    executor_def=dg.in_process_executor,
    description="Enrich bot-day partitions: facts, summaries, embeddings, then mark points completed.",
)


def _partition_tags(bot: str, first: str, last: str) -> dict[str, str]:
    start, end = str(partition_key(bot, first)), str(partition_key(bot, last))
    return {"bot": bot} if start == end else {"bot": bot, RANGE_START: start, RANGE_END: end}


@dg.sensor(
    job=enrichment_job,
    # Read once when the definitions load: Dagster needs the interval up front.
    minimum_interval_seconds=load_settings().sensor_interval_s,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests enrichment runs for bot-days with pending points in Qdrant.",
)
def qdrant_pending_sensor(context: dg.SensorEvaluationContext, stores: StoresResource) -> dg.SensorResult:
    settings = stores.settings()
    config = SensorConfig(settings.sensor_debounce_s, settings.sensor_pile_up, max(900.0, settings.sensor_debounce_s),
                          frozenset(settings.fast_track_users))
    state = SensorState.from_cursor(context.cursor)
    with stores.open_store() as store:
        # Re-read a minute back: with a Qdrant server, writers' upserts can land out of order.
        new_points = scan_new_pending(store, max(0, state.stored_ms - 60_000))
        plan = plan_tick(state, new_points, lambda keys: count_pending(store, keys),
                         epoch_ms(datetime.now(timezone.utc)), config)
    for bot in plan.invalid_bots:
        context.log.warning(f"skipping pending points of bot {bot!r}: not a valid partition key")
    known = set(context.instance.get_dynamic_partitions(bots_partitions.name))
    seen = {key.split("|")[0] for key in plan.state.groups}
    new_bots = sorted(seen - known)
    requests = [
        dg.RunRequest(
            run_key=run.run_key,
            partition_key=None if run.first_day != run.last_day else str(partition_key(run.bot_name, run.first_day)),
            tags={**_partition_tags(run.bot_name, str(run.first_day), str(run.last_day)), "whisper/reason": run.reason},
        )
        for run in plan.runs
    ]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[bots_partitions.build_add_request(new_bots)] if new_bots else [],
        cursor=plan.state.to_cursor(),
    )


@dg.schedule(job=enrichment_job, cron_schedule="30 0 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_closeout_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Re-runs yesterday for every bot once the day is over, so late messages make it in."""
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return [
        dg.RunRequest(run_key=f"closeout|{bot}|{yesterday}", partition_key=str(partition_key(bot, yesterday)),
                      tags={"bot": bot, "whisper/reason": "daily close-out"})
        for bot in context.instance.get_dynamic_partitions(bots_partitions.name)
    ]


class PruneConfig(dg.Config):
    ttl_days: Optional[int] = None  # default WHISPER_TTL_DAYS (90)
    dry_run: bool = False


@dg.op
def prune_op(context: dg.OpExecutionContext, config: PruneConfig, stores: StoresResource) -> dg.Output:
    ttl = config.ttl_days if config.ttl_days is not None else stores.settings().ttl_days
    with stores.open_store() as store:
        report = prune(stores.engine(), store, ttl, config.dry_run)
    counts = report.flat()
    context.log.info(f"{'would delete' if config.dry_run else 'deleted'} before {report.cutoff}: {counts}")
    return dg.Output(None, metadata={"cutoff": str(report.cutoff), "dry_run": config.dry_run, **counts})


@dg.job(executor_def=dg.in_process_executor, description="Delete points and rows older than the TTL.")
def prune_job() -> None:
    prune_op()


prune_schedule = dg.ScheduleDefinition(
    job=prune_job, cron_schedule="0 3 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


class ForgetConfig(dg.Config):
    bot: str
    user: str


@dg.op
def forget_user_op(context: dg.OpExecutionContext, config: ForgetConfig, stores: StoresResource) -> dg.Output:
    with stores.open_store() as store:
        report = forget_user(stores.engine(), store, config.bot, config.user)
    counts = report.flat()
    context.log.info(f"forgot {config.user} of {config.bot}: {counts}")
    return dg.Output(None, metadata=counts)


@dg.job(executor_def=dg.in_process_executor, description="Erase one user of one bot everywhere.")
def forget_user_job() -> None:
    forget_user_op()


freshness_job = dg.define_asset_job(
    "freshness_job", selection=dg.AssetSelection.checks(pending_lag_check), executor_def=dg.in_process_executor,
    description="Checks that no message waits for enrichment longer than the freshness SLA.",
)
freshness_schedule = dg.ScheduleDefinition(
    job=freshness_job, cron_schedule="*/5 * * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

SENSORS = [qdrant_pending_sensor]
SCHEDULES = [daily_closeout_schedule, prune_schedule, freshness_schedule]
JOBS = [enrichment_job, prune_job, forget_user_job, freshness_job]
