"""Bot x day partitions: a dynamic `bots` dimension (added by the sensor or the CLI) and UTC days."""

from __future__ import annotations

from datetime import date
from typing import Sequence

import dagster as dg

from whisper_assets.core.days import DAYS_AHEAD, FIRST_DAY
from whisper_assets.core.messages import validate_bot_name

bots_partitions = dg.DynamicPartitionsDefinition(name="bots")
# end_offset=1 + DAYS_AHEAD includes today and tomorrow: a conversation is enriched the day it
# happens, and a message stamped up to MAX_FUTURE ahead, which the hot path accepts, has its partition.
days_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DAY.isoformat(), end_offset=1 + DAYS_AHEAD, timezone="UTC"
)
bot_day_partitions = dg.MultiPartitionsDefinition({"bot": bots_partitions, "day": days_partitions})


def partition_key(bot_name: str, day: date | str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"bot": validate_bot_name(bot_name), "day": str(day)})


def split_key(key: str | dg.MultiPartitionKey) -> tuple[str, date]:
    """'elena|2026-11-09' (or a MultiPartitionKey) -> ('elena', date(2026, 11, 9))."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
    else:
        dims = bot_day_partitions.get_partition_key_from_str(key).keys_by_dimension
    return dims["bot"], date.fromisoformat(dims["day"])


def partition_ids(keys: Sequence[str | dg.MultiPartitionKey]) -> list[tuple[str, date]]:
    """A run's partition keys as sorted (bot, day) pairs."""
    return sorted(split_key(k) for k in keys)
