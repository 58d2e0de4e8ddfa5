"""Day arithmetic of the bot x day partitions, without Dagster: which days exist, which are empty."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Iterable

# The default first daily partition (UTC), WHISPER_FIRST_DAY: early enough for LoCoMo's timeline
# (2022-2024), and the day every deployment before the setting existed started from.
FIRST_DAY = date(2022, 1, 1)
# WHISPER_FIRST_DAY may not be earlier: every day partition is a row in the UI's partition table.
EARLIEST_FIRST_DAY = date(2000, 1, 1)
# Day partitions exist up to DAYS_AHEAD after today (UTC), so every accepted timestamp has one.
DAYS_AHEAD = 1


def latest_day(now: datetime) -> date:
    """The last day partition that exists at `now` (aware)."""
    return now.astimezone(timezone.utc).date() + timedelta(days=DAYS_AHEAD)


def check_first_day(first_day: date, today: date) -> date:
    """A valid first partition day, or ValueError saying why (one line)."""
    if first_day < EARLIEST_FIRST_DAY:
        raise ValueError(f"{first_day} is before {EARLIEST_FIRST_DAY}: every day from it on becomes a partition")
    if first_day > today:
        raise ValueError(f"{first_day} is after today ({today}): messages of today would have no partition")
    return first_day


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included (none when last < first)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def empty_days(
    first: date, last: date, days_with_messages: Iterable[date], done: Iterable[date]
) -> list[date]:
    """The days of [first, last] with no message and no materialization yet: what the close-out
    records as materialized-empty. A day with messages is never empty, whatever its status: it is
    the sensor's (pending) or a backfill's (completed but not materialized in this instance)."""
    skip = set(days_with_messages) | set(done)
    return [d for d in days_between(first, last) if d not in skip]
