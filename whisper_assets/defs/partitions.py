"""Bot x day partitions: a dynamic `bots` dimension (added by the sensor or the CLI) and UTC days
from the deployment's first day (WHISPER_FIRST_DAY).

The assets are declared with the default first day; `with_first_day` gives them the settings' own
(build_definitions), so the UI, the sensor, the schedules and the CLI's runs all see one definition.
"""

from __future__ import annotations

from datetime import date
from typing import Sequence, TypeVar

import dagster as dg

from whisper_assets.core.days import DAYS_AHEAD, FIRST_DAY
from whisper_assets.core.messages import validate_bot_name

bots_partitions = dg.DynamicPartitionsDefinition(name="bots")


def build_bot_day_partitions(first_day: date) -> dg.MultiPartitionsDefinition:
    """Bots x UTC days from `first_day`. end_offset=1 + DAYS_AHEAD includes today and tomorrow: a
    conversation is enriched the day it happens, and a message stamped up to MAX_FUTURE ahead,
    which the hot path accepts, has its partition."""
    days = dg.DailyPartitionsDefinition(start_date=first_day.isoformat(), end_offset=1 + DAYS_AHEAD, timezone="UTC")
    return dg.MultiPartitionsDefinition({"bot": bots_partitions, "day": days})


bot_day_partitions = build_bot_day_partitions(FIRST_DAY)
A = TypeVar("A", bound=dg.AssetsDefinition)


def with_first_day(assets: Sequence[A], first_day: date) -> list[A]:
    """The bot x day assets with their days starting at `first_day` (the others unchanged)."""
    if first_day == FIRST_DAY:
        return list(assets)
    pdef = build_bot_day_partitions(first_day)

    def moved(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(partitions_def=pdef) if spec.partitions_def == bot_day_partitions else spec

    return [a.map_asset_specs(moved) for a in assets]


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
