"""The Qdrant sensor: thin wiring over whisper_assets.core.enrichment.scheduling.

Built from the Settings the definitions load with (`build_qdrant_pending_sensor(settings)`): Dagster needs
the tick interval when the sensor is defined, and the thresholds come from the same object."""

from dataclasses import dataclass, replace
from datetime import date, datetime, timezone

import dagster as dg

from whisper_assets.core.days import FIRST_DAY, latest_day
from whisper_assets.core.enrichment.scheduling import (
    RETRY_REASON, PlannedRun, SensorConfig, SensorState, count_pending, plan_tick, scan_new_pending,
)
from whisper_assets.core.messages import InvalidMessageError, epoch_ms, validate_bot_name
from whisper_assets.core.settings import Settings
from whisper_assets.defs.instance import is_temporary
from whisper_assets.defs.jobs import enrichment_job
from whisper_assets.defs.partitions import bots_partitions, partition_key
from whisper_assets.defs.resources import StoresResource
from whisper_assets.defs.run_tags import REASON, SOURCE, day_range_of_run, partition_tags
from whisper_assets.stores.qdrant import StoreBusyError

SENSOR_STORE_WAIT_S = 40.0  # under Dagster's 60 s sensor deadline
SENSOR_NAME = "qdrant_pending_sensor"


def build_qdrant_pending_sensor(settings: Settings) -> dg.SensorDefinition:
    """The sensor, ticking every `settings.sensor_interval_s` with the settings' thresholds."""
    config = SensorConfig.from_settings(settings)

    @dg.sensor(
        name=SENSOR_NAME,
        job=enrichment_job,
        minimum_interval_seconds=settings.sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests enrichment runs for bot-days with pending points in Qdrant.",
    )
    def _sensor(context: dg.SensorEvaluationContext, stores: StoresResource) -> dg.SensorResult:
        return evaluate_tick(context, stores, config, settings.first_day)

    return _sensor


def evaluate_tick(context: dg.SensorEvaluationContext, stores: StoresResource, config: SensorConfig,
                  first_day: date = FIRST_DAY) -> dg.SensorResult:
    """One tick: plan from the store (scheduling.plan_tick), then turn the plan into run requests.
    Days before `first_day` have no partition (points stored before WHISPER_FIRST_DAY was raised):
    they are named in the skip reason, never requested."""
    state = SensorState.from_cursor(context.cursor)
    now = datetime.now(timezone.utc)
    if is_temporary(context.instance):
        context.log.warning("this Dagster instance is temporary: its history is deleted when `dagster dev` exits; "
                            "start it with `whisper-assets dev` (DAGSTER_HOME under WHISPER_DATA_DIR)")
    try:
        # Within Dagster's 60 s tick deadline: a clear skip, not "user code server unreachable".
        with stores.open_store(lock_timeout_s=SENSOR_STORE_WAIT_S) as store:
            # A new or lost instance (empty cursor): every bot in the store becomes a partition
            # again, pending or not, so all of them can be backfilled from the UI.
            stored_bots = store.bots() if not context.cursor else []
            # Re-read a minute back: with a Qdrant server, writers' upserts can land out of order.
            new_points = scan_new_pending(store, max(0, state.stored_ms - 60_000))
            plan = plan_tick(state, new_points, lambda keys: count_pending(store, keys), epoch_ms(now), config,
                             latest_day(now))
    except StoreBusyError as exc:
        return dg.SensorResult(skip_reason=f"store busy, the next tick retries: {exc}")
    for bot in plan.invalid_bots:
        context.log.warning(f"skipping pending points of bot {bot!r}: not a valid partition key")
    known = set(context.instance.get_dynamic_partitions(bots_partitions.name))
    seen = {key.split("|")[0] for key in plan.state.groups} | set(stored_bots)
    new_bots = sorted(b for b in seen - known if _valid_bot(b))
    active = _active_runs(context.instance)
    requests = []
    for run in plan.runs:
        key = f"{run.bot_name}|{run.first_day}"
        if run.first_day < first_day:
            if run.last_day < first_day:
                plan.waiting[key] = f"before WHISPER_FIRST_DAY {first_day}: no partition"
                continue
            run = replace(run, first_day=first_day)
        queued = next((r for r in active.get(run.bot_name, []) if r.queued and r.covers(run)), None)
        if queued is not None:
            # It has not read its messages yet, so it will take these too: a second run would wait
            # behind it for the bot's lock and then redo the same days.
            plan.waiting[key] = f"covered by queued run {queued.run_id[:8]}"
            continue
        if run.reason == RETRY_REASON and active.get(run.bot_name):
            plan.waiting[key] = "still pending; a run of this bot is running"
            continue
        try:  # one bot's problem becomes its own log line and skip reason, never the tick's failure
            tags = partition_tags([run.bot_name], str(run.first_day), str(run.last_day))
            single = run.first_day == run.last_day
            requests.append(dg.RunRequest(
                run_key=run.run_key,
                partition_key=str(partition_key(run.bot_name, run.first_day)) if single else None,
                tags={**tags, REASON: run.reason, SOURCE: "sensor"},
            ))
        except Exception as exc:  # noqa: BLE001
            context.log.error(f"bot {run.bot_name!r} {run.first_day}..{run.last_day}: not requested: {exc}")
            plan.waiting[key] = f"not requested: {type(exc).__name__}"
    if requests and plan.waiting:
        context.log.info("waiting: " + plan.skip_reason())
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[bots_partitions.build_add_request(new_bots)] if new_bots else [],
        cursor=plan.state.to_cursor(),
        skip_reason=None if requests else plan.skip_reason(),
    )


@dataclass(frozen=True)
class ActiveRun:
    run_id: str
    queued: bool  # not started: it will read the bot's messages when it does
    days: tuple[str, str] | None

    def covers(self, run: PlannedRun) -> bool:
        return self.days is not None and self.days[0] <= str(run.first_day) and str(run.last_day) <= self.days[1]


QUEUED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
ACTIVE = [*QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _active_runs(instance: dg.DagsterInstance) -> dict[str, list[ActiveRun]]:
    """The enrichment runs of one bot that are queued or running, by bot."""
    out: dict[str, list[ActiveRun]] = {}
    for record in instance.get_run_records(dg.RunsFilter(job_name=enrichment_job.name, statuses=ACTIVE)):
        run = record.dagster_run
        if "bot" in run.tags:
            out.setdefault(run.tags["bot"], []).append(
                ActiveRun(run.run_id, run.status in QUEUED, day_range_of_run(run.tags)))
    return out


def _valid_bot(bot: str) -> bool:
    try:
        validate_bot_name(bot)
        return True
    except InvalidMessageError:
        return False
