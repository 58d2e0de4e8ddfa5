"""How bot-days are batched into runs, without Dagster: the one place for every launcher.

Launching a run costs seconds, so runs cover many partitions: `day_ranges` cuts a bot's days into
ranges of at most MAX_DAYS_PER_RUN (short gaps kept inside a run), and `plan_runs` lets
neighbouring bots with the same ranges share a run. The sensor (`enrichment.scheduling.plan_tick`)
and the CLI (`defs/runs.py`) call `plan_runs`; the assets' BackfillPolicy, which Dagster applies to
UI backfills, uses the same MAX_DAYS_PER_RUN.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable

MAX_DAYS_PER_RUN = 31

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
