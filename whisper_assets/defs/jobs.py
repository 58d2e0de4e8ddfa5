"""Jobs: enrichment of bot-days, the freshness check, TTL pruning and forget-user. Thin wiring over
whisper_assets.memory.maintenance. No executor here: definitions.py sets the one executor.
No `from __future__ import annotations`: Dagster reads the ops' config and resource annotations."""

from typing import Optional

import dagster as dg

from whisper_assets.defs.assets import ASSETS
from whisper_assets.defs.checks import pending_lag_check
from whisper_assets.defs.resources import StoresResource
from whisper_assets.defs.run_tags import RETRY_ALL_STEPS
from whisper_assets.memory.maintenance import forget_user_by_sha256, prune

enrichment_job = dg.define_asset_job(
    "enrichment_job",
    # Without the freshness check (freshness_job runs it): it would take a store turn in every run.
    selection=dg.AssetSelection.assets(*ASSETS) - dg.AssetSelection.checks(pending_lag_check),
    # No partitions_def: the assets' own, whose first day the settings choose (partitions.with_first_day).
    description="Enrich bot-day partitions: facts, summaries, embeddings, then mark points completed.",
    tags=RETRY_ALL_STEPS,
)

freshness_job = dg.define_asset_job(
    "freshness_job", selection=dg.AssetSelection.checks(pending_lag_check),
    description="Checks that no message waits for enrichment longer than the freshness SLA.",
)


class PruneConfig(dg.Config):
    ttl_days: Optional[int] = None  # None: the settings' ttl_days (WHISPER_TTL_DAYS)
    dry_run: bool = False


@dg.op
def prune_op(context: dg.OpExecutionContext, config: PruneConfig, stores: StoresResource) -> dg.Output:
    ttl = config.ttl_days if config.ttl_days is not None else stores.settings().ttl_days
    with stores.open_store() as store:
        report = prune(stores.engine(), store, ttl, config.dry_run)
    counts = report.flat()
    context.log.info(f"{'would delete' if config.dry_run else 'deleted'} before {report.cutoff}: {counts}")
    return dg.Output(None, metadata={"cutoff": str(report.cutoff), "dry_run": config.dry_run, **counts})


@dg.job(description="Delete points and rows older than the TTL.")
def prune_job() -> None:
    prune_op()


class ForgetConfig(dg.Config):
    """The user is named by the SHA-256 of their id (hex of the UTF-8 bytes, e.g.
    `printf %s USER | sha256sum`): Dagster keeps a run's config and tags forever, so the plain id
    must never be in them. `forgotten_users` keeps the same hash."""

    bot: str
    user_sha256: str


@dg.op
def forget_user_op(context: dg.OpExecutionContext, config: ForgetConfig, stores: StoresResource) -> dg.Output:
    report = forget_user_by_sha256(stores.engine(), stores.open_store, config.bot, config.user_sha256)
    counts = report.flat()
    # Nothing here may name the user: the event log outlives the forget.
    context.log.info(f"forgot the user with SHA-256 {config.user_sha256[:12]}… of {config.bot}: {counts}")
    return dg.Output(None, metadata=counts)


@dg.job(description="Erase one user of one bot everywhere; config: bot and the SHA-256 of the user id.")
def forget_user_job() -> None:
    forget_user_op()


JOBS = [enrichment_job, prune_job, forget_user_job, freshness_job]
