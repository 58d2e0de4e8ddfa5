"""Partition coverage (issue 14, item 3): the deployment's first day (WHISPER_FIRST_DAY) validated,
the partitions and the hot path following it, and days without messages recorded as
materialized-empty by record_empty_days_job, the same way a multi-day run leaves them, so the
UI's fill figure means "processed". Real PostgreSQL, embedded Qdrant, a temporary Dagster instance."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator

import dagster as dg
import pytest

from whisper_assets.core.days import FIRST_DAY, days_between, empty_days
from whisper_assets.core.messages import InvalidMessageError
from whisper_assets.core.settings import Settings, SettingsError, load_settings
from whisper_assets.defs.definitions import build_definitions
from whisper_assets.defs.partitions import bots_partitions
from whisper_assets.defs.resources import StoresResource
from whisper_assets.defs.run_tags import RANGE_START, RANGE_END
from whisper_assets.defs.runs import materialize_days, record_empty_days
from whisper_assets.defs.schedules import BOT_DAY_ASSETS
from whisper_assets.defs.sensors import SENSOR_NAME
from whisper_assets.memory.hot_path import MessageIn, store_messages
from whisper_assets.memory.writer import validate
from whisper_assets_tests.enrichment_helpers import fast_settings

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

TODAY = datetime.now(timezone.utc).date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


# -- the first day: a setting, validated ------------------------------------------------------------

@pytest.mark.parametrize("value, says", [
    ("last spring", "'last spring' is not a YYYY-MM-DD date"),
    ("2026-13-01", "is not a YYYY-MM-DD date"),
    ("1999-12-31", "1999-12-31 is before 2000-01-01"),
    (str(day(1)), f"{day(1)} is after today ({TODAY})"),
])
def test_a_bad_first_day_is_one_line_naming_the_variable(monkeypatch, tmp_path, value, says):
    monkeypatch.setenv("WHISPER_FIRST_DAY", value)
    with pytest.raises(SettingsError) as err:
        load_settings(data_dir=tmp_path)
    message = str(err.value)
    assert message.startswith("invalid settings: WHISPER_FIRST_DAY: ") and says in message, message
    assert "\n" not in message


def test_the_first_day_defaults_to_2022_and_today_is_allowed(monkeypatch, tmp_path):
    monkeypatch.delenv("WHISPER_FIRST_DAY", raising=False)
    assert load_settings(data_dir=tmp_path).first_day == FIRST_DAY == date(2022, 1, 1)
    monkeypatch.setenv("WHISPER_FIRST_DAY", str(TODAY))
    assert load_settings(data_dir=tmp_path).first_day == TODAY


def test_the_hot_path_refuses_a_timestamp_before_the_first_day(tmp_path):
    settings = load_settings(data_dir=tmp_path, first_day=day(-3))
    before = datetime.combine(day(-4), time(23, 59), tzinfo=timezone.utc)
    with pytest.raises(InvalidMessageError) as err:
        validate(MessageIn("elena", "u1", "user", "I moved house", before), settings)
    assert str(err.value) == (f"timestamp {before.isoformat()} is before the first partition day {day(-3)} "
                              "(WHISPER_FIRST_DAY)")
    assert validate(MessageIn("elena", "u1", "user", "I moved house", before + timedelta(minutes=1)), settings)


def test_the_partitions_start_at_the_first_day(tmp_path):
    for first in (FIRST_DAY, day(-10)):
        defs = build_definitions(load_settings(data_dir=tmp_path, first_day=first))
        graph = defs.resolve_asset_graph()
        for key in BOT_DAY_ASSETS:
            days = graph.get(key).partitions_def.get_partitions_def_for_dimension("day")
            assert days.start.date() == first, key
        job = defs.resolve_job_def("enrichment_job").partitions_def
        assert job.get_partitions_def_for_dimension("day").start.date() == first


def test_empty_days_are_those_with_neither_messages_nor_a_materialization():
    first, last = date(2026, 3, 1), date(2026, 3, 7)
    assert days_between(first, last)[::6] == [first, last] and days_between(last, first) == []
    assert empty_days(first, last, [date(2026, 3, 2), date(2026, 3, 9)], [date(2026, 3, 3), date(2026, 2, 1)]) == [
        date(2026, 3, 1), date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 7)]


# -- empty days recorded, and the fill figure -------------------------------------------------------

@pytest.fixture()
def settings(tmp_path, database_url, monkeypatch) -> Iterator[Settings]:
    """A deployment whose partitions start 6 days ago (in the environment, as every process reads it)."""
    monkeypatch.setenv("WHISPER_FIRST_DAY", str(day(-6)))
    with fast_settings(tmp_path, database_url) as s:
        yield s


def turn(bot: str, offset: int, text: str) -> MessageIn:
    return MessageIn(bot, "user_ana", "user", text, datetime.combine(day(offset), time(10), tzinfo=timezone.utc))


def latest_metadata(instance: dg.DagsterInstance, asset: str, key: str) -> dict:
    [record] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1).records
    return {k: getattr(v, "value", v) for k, v in record.asset_materialization.metadata.items()}


def fill(instance: dg.DagsterInstance, defs: dg.Definitions, asset: dg.AssetKey) -> tuple[int, int]:
    """(materialized, partitions) of the asset, over the partitions that exist now (the UI's figure)."""
    pdef = defs.resolve_asset_graph().get(asset).partitions_def
    keys = set(pdef.get_partition_keys(dynamic_partitions_store=instance))
    return len(instance.get_materialized_partitions(asset) & keys), len(keys)


def test_empty_days_are_recorded_like_a_multi_day_run_leaves_them(settings):
    stores = StoresResource.from_settings(settings)
    store_messages([turn("elena", -4, "I adopted a cat"), turn("elena", -2, "I work as a baker"),
                    turn("elena", -5, "I play the cello")], settings)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(bots_partitions.name, ["elena", "marcus"])  # marcus: no messages at all
        # One run covers -4..-2, so -3 (no messages) is materialized inside it; -5 stays pending.
        [run] = materialize_days({"elena": [day(-4), day(-2)]}, instance=instance, stores=stores)
        assert run.success and (run.first_day, run.last_day) == (day(-4), day(-2))
        defs = build_definitions(stores.settings())
        partitions = 2 * 8  # 2 bots x (6 days ago .. tomorrow)
        assert {fill(instance, defs, key) for key in BOT_DAY_ASSETS} == {(3, partitions)}

        outcome = record_empty_days(instance=instance, stores=stores)
        assert outcome.success and (outcome.first_day, outcome.last_day) == (day(-6), day(-1)), outcome
        recorded = {f"elena|{day(d)}" for d in (-6, -1)} | {f"marcus|{day(d)}" for d in range(-6, 0)}
        for key in BOT_DAY_ASSETS:
            materialized = instance.get_materialized_partitions(key)
            assert recorded <= materialized, key
            assert f"elena|{day(-5)}" not in materialized  # messages pending: the sensor's, not empty
            assert fill(instance, defs, key) == (3 + len(recorded), partitions)  # 11 of 16: today, tomorrow, -5 left
        # An empty day says the same whichever way it was done.
        in_run = latest_metadata(instance, "pending_messages", f"elena|{day(-3)}")
        by_closeout = latest_metadata(instance, "pending_messages", f"elena|{day(-1)}")
        assert in_run["messages"] == by_closeout["messages"] == 0
        assert latest_metadata(instance, "completed_messages", f"marcus|{day(-6)}") == {"messages": 0}

        # Nothing twice: a second pass records nothing new.
        events = len(instance.fetch_materializations(dg.AssetKey("pending_messages"), limit=1000).records)
        assert record_empty_days(instance=instance, stores=stores).success
        assert len(instance.fetch_materializations(dg.AssetKey("pending_messages"), limit=1000).records) == events


def test_the_sensor_never_requests_a_day_before_the_first_day(settings, monkeypatch):
    """Points stored before WHISPER_FIRST_DAY was raised: their days have no partition any more."""
    stores = StoresResource.from_settings(settings)
    store_messages([turn("elena", -5, "I bake bread"), turn("elena", -2, "I bake cakes"),
                    turn("marcus", -5, "I sail boats")], settings)  # accepted: the first day is 6 days ago
    monkeypatch.setenv("WHISPER_FIRST_DAY", str(day(-3)))
    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "0")
    defs = build_definitions(stores.settings(), stores)
    with dg.instance_for_test() as instance, dg.build_sensor_context(
            instance=instance, resources={"stores": stores}, definitions=defs) as context:
        result = defs.resolve_sensor_def(SENSOR_NAME)(context)
    # elena's run from -5 to -2 starts at the first day; marcus's only day is before it: not requested.
    assert [(r.tags.get("bot"), r.tags.get(RANGE_START), r.tags.get(RANGE_END)) for r in result.run_requests] == [
        ("elena", f"elena|{day(-3)}", f"elena|{day(-2)}")]
