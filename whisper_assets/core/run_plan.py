"""How chosen bot-days are batched into runs, without Dagster.

Every launcher cuts days with `days.day_ranges` (at most MAX_DAYS_PER_RUN days, short gaps kept
inside a run): the sensor per bot (`enrichment.scheduling.plan_tick`), the assets' BackfillPolicy
by the same MAX_DAYS_PER_RUN, and `plan_runs` below, which also lets neighbouring bots share a run.
For a single bot `plan_runs` gives exactly the sensor's ranges.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from whisper_assets.core.days import day_ranges

# Bot-day partitions of one run at most, when neighbouring bots share it (a run commits, or
# fails, as a whole).
MAX_PARTITIONS_PER_RUN = 200


def plan_runs(
    days_by_bot: dict[str, Iterable[date]], bot_order: list[str]
) -> list[tuple[list[str], date, date]]:
    """Few runs: a run's key range spans every bot between its first and last in the instance's
    order, so bots with the same day ranges that are neighbours there share one run."""
    position = {bot: i for i, bot in enumerate(bot_order)}
    by_ranges: dict[tuple[tuple[date, date], ...], list[str]] = {}
    for bot, days in days_by_bot.items():
        by_ranges.setdefault(tuple(day_ranges(days)), []).append(bot)
    runs = []
    for ranges, bots in sorted(by_ranges.items()):
        bots.sort(key=position.__getitem__)
        for first, last in ranges:
            per_run = max(1, MAX_PARTITIONS_PER_RUN // ((last - first).days + 1))
            block: list[str] = []
            for bot in bots:
                if block and (position[bot] != position[block[-1]] + 1 or len(block) >= per_run):
                    runs.append((block, first, last))
                    block = []
                block.append(bot)
            runs.append((block, first, last))
    return runs
