"""Day arithmetic of the bot x day partitions, without Dagster: which days exist."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

# The first daily partition (UTC); LoCoMo's fictional timeline starts in 2022.
FIRST_DAY = date(2022, 1, 1)
# Day partitions exist up to DAYS_AHEAD after today (UTC), so every accepted timestamp has one.
DAYS_AHEAD = 1


def latest_day(now: datetime) -> date:
    """The last day partition that exists at `now` (aware)."""
    return now.astimezone(timezone.utc).date() + timedelta(days=DAYS_AHEAD)
