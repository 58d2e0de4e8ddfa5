"""Run tags: which partitions a run covers, and the tags every enrichment run carries."""

from __future__ import annotations

from datetime import date
from typing import Mapping

from whisper_assets.defs.partitions import partition_key, split_key

PARTITION = "dagster/partition"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
REASON = "whisper/reason"
SOURCE = "whisper/source"
# Dagster's automatic retries re-execute every step: a failed run's transaction rolled back its
# staging, so a retry "from failure" would load another run's staging and complete nothing new.
RETRY_ALL_STEPS = {"dagster/retry_strategy": "ALL_STEPS"}


def partition_tags(bots: list[str], first: str, last: str) -> dict[str, str]:
    """A run of `bots` (neighbours in the instance's order) over first..last: a single key or a range.
    A run of one bot carries `bot`, the per-bot run limit's key (dagster.yaml)."""
    start, end = str(partition_key(bots[0], first)), str(partition_key(bots[-1], last))
    tags = {} if start == end else {RANGE_START: start, RANGE_END: end}
    return {**tags, "bot": bots[0]} if len(bots) == 1 else tags


def _partition_keys(tags: Mapping[str, str]) -> list[tuple[str, date]]:
    """A run's partition tags as (bot, day): one key, or a range's first and last; [] when they are
    not bot|day keys (another job's partitions) or absent."""
    names = [tags[PARTITION]] if PARTITION in tags else [tags[t] for t in (RANGE_START, RANGE_END) if t in tags]
    try:
        return [split_key(name) for name in names]
    except Exception:  # not a bot|day key
        return []


def bots_of_run(tags: Mapping[str, str]) -> list[str]:
    """The bots a run's partition tags name (the first and last bot of a range)."""
    return list(dict.fromkeys(bot for bot, _ in _partition_keys(tags)))


def day_range_of_run(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """(first, last) day (ISO) of a run's partition tags, or None when it has none."""
    keys = _partition_keys(tags)
    return (keys[0][1].isoformat(), keys[-1][1].isoformat()) if keys else None
