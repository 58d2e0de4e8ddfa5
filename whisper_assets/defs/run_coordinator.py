"""The queued run coordinator, plus the `bot` tag for runs of one bot that lack it.

The sensor tags its runs with `bot`; a run launched from the UI (Materialize, a backfill) carries
only partition tags. Tagging it here, before it is queued, puts it under the same per-bot limit (and the same retry
strategy: every step, see run_tags.RETRY_ALL_STEPS).
"""

from __future__ import annotations

from dagster import DagsterRun
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext

from whisper_assets.defs.run_tags import RETRY_ALL_STEPS, SOURCE, bots_of_run


class BotRunCoordinator(QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        bots = bots_of_run(run.tags)
        tags = {}
        if len(bots) == 1 and "bot" not in run.tags:
            tags["bot"] = bots[0]
        if bots and SOURCE not in run.tags:
            tags[SOURCE] = "backfill" if "dagster/backfill" in run.tags else "ui"
        if bots:
            tags.update({k: v for k, v in RETRY_ALL_STEPS.items() if k not in run.tags})
        if tags:
            self._instance.add_run_tags(run.run_id, tags)
        return super().submit_run(context)
