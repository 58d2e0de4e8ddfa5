"""Run planning without Dagster: how chosen bot-days become runs (core/run_plan.py), and that one
bot's runs are the sensor's."""

from __future__ import annotations

from datetime import date, timedelta

from whisper_assets.core.enrichment.scheduling import PendingPoint, SensorConfig, SensorState, plan_tick
from whisper_assets.core.run_plan import MAX_DAYS_PER_RUN, MAX_PARTITIONS_PER_RUN, plan_runs

D = date(2025, 11, 1)


def days(*offsets: int) -> list[date]:
    return [D + timedelta(days=i) for i in offsets]


def test_neighbouring_bots_with_the_same_days_share_a_run():
    order = ["ana", "bob", "cy", "dee"]
    runs = plan_runs({"ana": days(0, 1), "bob": days(0, 1), "dee": days(0, 1), "cy": days(5)}, order)
    # dee is not next to bob in the instance's order (cy is between): a run's key range would cover cy.
    assert runs == [(["ana", "bob"], D, D + timedelta(days=1)), (["dee"], D, D + timedelta(days=1)),
                    (["cy"], D + timedelta(days=5), D + timedelta(days=5))]


def test_a_long_gap_splits_and_a_month_is_the_most_one_run_covers():
    assert plan_runs({"ana": days(0, 1, 20)}, ["ana"]) == [(["ana"], D, D + timedelta(days=1)),
                                                            (["ana"], D + timedelta(days=20), D + timedelta(days=20))]
    many = plan_runs({"ana": days(*range(40))}, ["ana"])
    assert [(last - first).days + 1 for _, first, last in many] == [MAX_DAYS_PER_RUN, 40 - MAX_DAYS_PER_RUN]


def test_many_bots_are_cut_at_the_partition_limit():
    bots = [f"bot{i:03d}" for i in range(150)]
    runs = plan_runs({b: days(0, 1) for b in bots}, bots)  # 2 days: at most 100 bots a run
    assert [len(b) for b, _, _ in runs] == [MAX_PARTITIONS_PER_RUN // 2, 150 - MAX_PARTITIONS_PER_RUN // 2]
    assert [b for block, _, _ in runs for b in block] == bots


def test_one_bot_gets_the_runs_the_sensor_plans():
    due = days(0, 1, 3, 15, *range(16, 50))
    points = [PendingPoint("ana", str(d), "user_a", 1_000 + i) for i, d in enumerate(due)]
    plan = plan_tick(SensorState(), points, lambda keys: dict.fromkeys(keys, 1), 10_000_000,
                     SensorConfig(debounce_s=0, pile_up=1000, retry_s=60))
    assert [(r.first_day, r.last_day) for r in plan.runs] == [(f, l) for _, f, l in plan_runs({"ana": due}, ["ana"])]
