"""Run tags: which partitions a run covers, and the tags every enrichment run carries."""

from __future__ import annotations

from typing import Mapping

from whisper_assets.partitions import partition_key, split_key

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


def bots_of_run(tags: Mapping[str, str]) -> list[str]:
    """The bots a run's partition tags name (the first and last bot of a range)."""
    keys = [tags[t] for t in (PARTITION, RANGE_START, RANGE_END) if t in tags]
    bots = []
    for key in keys:
        try:
            bot, _ = split_key(key)
        except Exception:  # not a bot|day key (another job's partition): no bot
            continue
        if bot not in bots:
            bots.append(bot)
    return bots


def day_range_of_run(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """(first, last) day (ISO) of a run's partition tags, or None when it has none."""
    if PARTITION in tags:
        keys = [tags[PARTITION]] * 2
    elif RANGE_START in tags and RANGE_END in tags:
        keys = [tags[RANGE_START], tags[RANGE_END]]
    else:
        return None
    try:
        (_, first), (_, last) = (split_key(k) for k in keys)
    except Exception:  # not a bot|day key
        return None
    return first.isoformat(), last.isoformat()
