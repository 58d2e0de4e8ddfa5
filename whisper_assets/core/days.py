"""Day arithmetic of the bot x day partitions, without Dagster: which days exist, and how days
are batched into runs (the sensor, the CLI and the assets' BackfillPolicy all use these)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Iterable

# The first daily partition (UTC); LoCoMo's fictional timeline starts in 2022.
FIRST_DAY = date(2022, 1, 1)
# Day partitions exist up to DAYS_AHEAD after today (UTC), so every accepted timestamp has one.
DAYS_AHEAD = 1
MAX_DAYS_PER_RUN = 31


def latest_day(now: datetime) -> date:
    """The last day partition that exists at `now` (aware)."""
    return now.astimezone(timezone.utc).date() + timedelta(days=DAYS_AHEAD)


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
