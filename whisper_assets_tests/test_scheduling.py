"""The sensor's decisions as plain functions (no Dagster, no daemon): plan_tick on hand-made
PendingPoints with a fake `count`, the cursor round trip, and scan_new_pending / count_pending
on a real embedded store written through the hot path."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Iterator

import pytest

from whisper_assets.core.enrichment.scheduling import (
    Group, PendingPoint, SensorConfig, SensorState, count_pending, plan_tick, scan_new_pending,
)
from whisper_assets.memory.hot_path import MessageIn, store_messages
from whisper_assets.core.messages import Status
from whisper_assets.core.settings import Settings
from whisper_assets.stores.qdrant import open_store
from whisper_assets_tests.enrichment_helpers import fast_settings

UTC = timezone.utc
S = 1000  # ms per second
T0 = 1_762_678_800_000  # 2025-11-09T09:00:00Z in epoch ms: when the first point was stored
CFG = SensorConfig(debounce_s=120, pile_up=50, retry_s=900, fast_track_users=frozenset({"vip"}))
D1, D2, D3 = "2025-11-09", "2025-11-10", "2025-11-11"


def pt(bot: str = "elena", day: str = D1, user: str = "user_a", at_s: float = 0) -> PendingPoint:
    return PendingPoint(bot, day, user, T0 + int(at_s * S))


class FakeCount:
    """Stands in for count_pending: pending counts per "bot|day" (default: the points seen so far)."""

    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts = dict(counts or {})
        self.calls: list[list[str]] = []

    def add(self, *points: PendingPoint) -> None:
        for p in points:
            key = f"{p.bot_name}|{p.day}"
            self.counts[key] = self.counts.get(key, 0) + 1

    def done(self, key: str) -> None:
        self.counts[key] = 0

    def __call__(self, keys: Iterable[str]) -> dict[str, int]:
        keys = list(keys)
        self.calls.append(keys)
        return {k: self.counts.get(k, 0) for k in keys}


def tick(cursor: str | None, points: list[PendingPoint], count: FakeCount, now_s: float,
         config: SensorConfig = CFG):
    """One tick as the sensor does it: state from the cursor, plan, new cursor."""
    plan = plan_tick(SensorState.from_cursor(cursor), points, count, T0 + int(now_s * S), config)
    return plan, plan.state.to_cursor()


def keys(plan) -> list[str]:
    return [r.run_key for r in plan.runs]


# -- debounce, pile-up, fast track -----------------------------------------------------------------

def test_debounce_not_due_before_and_due_after():
    points = [pt(at_s=0), pt(user="user_b", at_s=30)]
    count = FakeCount()
    count.add(*points)
    plan, cursor = tick(None, points, count, now_s=119)
    assert plan.runs == [] and plan.invalid_bots == []
    assert SensorState.from_cursor(cursor).groups[f"elena|{D1}"].pending == 2

    plan, cursor = tick(cursor, [], count, now_s=120)  # the oldest point has waited debounce_s
    assert [(r.bot_name, str(r.first_day), str(r.last_day), r.reason) for r in plan.runs] == [
        ("elena", D1, D1, "debounce elapsed")
    ]
    assert plan.runs[0].run_key == f"elena|{D1}|{D1}|{T0 + 30 * S}|0"


def test_pile_up_is_due_before_the_debounce():
    points = [pt(at_s=i / 10) for i in range(CFG.pile_up)]
    count = FakeCount()
    count.add(*points)
    plan, _ = tick(None, points[:-1], FakeCount({f"elena|{D1}": CFG.pile_up - 1}), now_s=5)
    assert plan.runs == []
    plan, _ = tick(None, points, count, now_s=5)
    assert [r.reason for r in plan.runs] == [f"{CFG.pile_up} pending"]


def test_fast_track_user_is_due_at_once():
    count = FakeCount()
    plan, cursor = tick(None, [pt(user="user_a", at_s=0)], FakeCount({f"elena|{D1}": 1}), now_s=1)
    assert plan.runs == []
    count.add(pt(at_s=0), pt(user="vip", at_s=2))
    plan, cursor = tick(cursor, [pt(user="vip", at_s=2)], count, now_s=2)
    assert [r.reason for r in plan.runs] == ["fast-track user"]
    # The flag is consumed by the request: the next tick does not fast-track again.
    plan, _ = tick(cursor, [], count, now_s=3)
    assert plan.runs == []


# -- run keys: no duplicate work -------------------------------------------------------------------

def test_same_cursor_and_input_give_the_same_run_keys():
    points = [pt(at_s=0), pt(day=D2, at_s=1), pt(bot="marcus", at_s=2)]
    count = FakeCount()
    count.add(*points)
    _, cursor = tick(None, points, count, now_s=10)  # seen, not yet due
    first, _ = tick(cursor, [], count, now_s=200)
    again, _ = tick(cursor, [], count, now_s=200)
    assert keys(first) and keys(first) == keys(again)
    # A tick that re-reads the boundary point (scan is gte the cursor) changes nothing either.
    boundary, _ = tick(cursor, [points[-1]], count, now_s=200)
    assert keys(boundary) == keys(first)


def test_no_re_request_on_the_next_tick():
    points = [pt(at_s=0)]
    count = FakeCount()
    count.add(*points)
    plan, cursor = tick(None, points, count, now_s=200)
    assert len(plan.runs) == 1
    for now in (230, 260, 600, 1099):  # still pending (the run has not finished), retry not due yet
        plan, cursor = tick(cursor, [], count, now_s=now)
        assert plan.runs == [], now


def test_pile_up_is_not_re_requested_while_its_run_is_pending():
    points = [pt(at_s=i / 10) for i in range(CFG.pile_up)]
    count = FakeCount()
    count.add(*points)
    plan, cursor = tick(None, points, count, now_s=5)
    assert len(plan.runs) == 1
    plan, cursor = tick(cursor, [], count, now_s=35)  # nothing new; the requested run is queued
    assert plan.runs == []
    # New points on top of the pile: one new request for them, then quiet again.
    more = pt(user="user_b", at_s=36)
    count.add(more)
    plan, cursor = tick(cursor, [more], count, now_s=37)
    assert [r.reason for r in plan.runs] == [f"{CFG.pile_up + 1} pending"]
    plan, cursor = tick(cursor, [], count, now_s=67)
    assert plan.runs == []


def test_new_messages_after_a_request_give_a_new_request():
    count = FakeCount()
    count.add(pt(at_s=0))
    plan, cursor = tick(None, [pt(at_s=0)], count, now_s=200)
    first_key = keys(plan)
    new = pt(user="user_b", at_s=300)
    count.add(new)
    plan, cursor = tick(cursor, [new], count, now_s=301)
    assert plan.runs == []  # debounced again from the new point
    plan, cursor = tick(cursor, [], count, now_s=420)
    assert len(plan.runs) == 1 and keys(plan) != first_key
    assert plan.runs[0].run_key == f"elena|{D1}|{D1}|{T0 + 300 * S}|{T0 + 200 * S}"


def test_still_pending_after_a_run_is_retried_after_retry_s():
    count = FakeCount()
    count.add(pt(at_s=0))
    plan, cursor = tick(None, [pt(at_s=0)], count, now_s=200)
    first_key = keys(plan)
    plan, cursor = tick(cursor, [], count, now_s=200 + CFG.retry_s - 1)
    assert plan.runs == []
    plan, cursor = tick(cursor, [], count, now_s=200 + CFG.retry_s)
    assert [r.reason for r in plan.runs] == ["still pending after a run"]
    assert keys(plan) != first_key
    plan, _ = tick(cursor, [], count, now_s=200 + CFG.retry_s + 30)
    assert plan.runs == []


# -- bookkeeping -----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["bad|bot", "a,b", "", "x[1]", "-leading", "x" * 65])
def test_invalid_bot_names_are_reported_and_skipped(bad):
    points = [pt(bot=bad, at_s=0), pt(at_s=1)]
    count = FakeCount()
    count.add(pt(at_s=1))
    plan, cursor = tick(None, points, count, now_s=500)
    assert plan.invalid_bots == [bad]
    assert list(SensorState.from_cursor(cursor).groups) == [f"elena|{D1}"]
    assert [r.bot_name for r in plan.runs] == ["elena"]
    assert all(k == [f"elena|{D1}"] for k in count.calls)  # the bad bot is never counted


def test_groups_are_dropped_when_nothing_is_pending_any_more():
    points = [pt(at_s=0), pt(day=D2, at_s=1)]
    count = FakeCount()
    count.add(*points)
    plan, cursor = tick(None, points, count, now_s=200)
    assert len(plan.runs) == 1
    count.done(f"elena|{D1}")
    plan, cursor = tick(cursor, [], count, now_s=230)
    assert list(SensorState.from_cursor(cursor).groups) == [f"elena|{D2}"]
    count.done(f"elena|{D2}")
    plan, cursor = tick(cursor, [], count, now_s=260)
    assert SensorState.from_cursor(cursor).groups == {} and plan.runs == []
    # A dropped group with no new points does not come back, even after retry_s.
    plan, _ = tick(cursor, [], count, now_s=5000)
    assert plan.runs == []


def test_days_of_one_bot_share_one_run_with_a_range():
    points = [pt(day=D1, at_s=0), pt(day=D3, at_s=1), pt(day=D2, at_s=5), pt(bot="marcus", day=D2, at_s=3)]
    count = FakeCount()
    count.add(*points)
    plan, _ = tick(None, points, count, now_s=500)
    assert [(r.bot_name, str(r.first_day), str(r.last_day)) for r in plan.runs] == [
        ("elena", D1, D3), ("marcus", D2, D2),
    ]
    elena = plan.runs[0]
    assert elena.run_key == f"elena|{D1}|{D3}|{T0 + 5 * S}|0"  # the newest of the three days


def test_far_apart_days_are_separate_runs():
    far = (date.fromisoformat(D1) + timedelta(days=40)).isoformat()
    points = [pt(day=D1, at_s=0), pt(day=far, at_s=1)]
    count = FakeCount()
    count.add(*points)
    plan, _ = tick(None, points, count, now_s=500)
    assert [(str(r.first_day), str(r.last_day)) for r in plan.runs] == [(D1, D1), (far, far)]
    assert len(set(keys(plan))) == 2


def test_only_due_days_join_a_run():
    old, fresh = pt(day=D1, at_s=0), pt(day=D2, at_s=450)
    count = FakeCount()
    count.add(old, fresh)
    plan, _ = tick(None, [old, fresh], count, now_s=500)
    assert [(str(r.first_day), str(r.last_day)) for r in plan.runs] == [(D1, D1)]


def test_cursor_round_trip():
    state = SensorState(
        stored_ms=T0 + 42,
        groups={
            f"elena|{D1}": Group(pending=3, oldest_ms=T0, newest_ms=T0 + 42, fast_track=True, requested_ms=None),
            f"marcus|{D2}": Group(pending=1, oldest_ms=None, newest_ms=T0 + 7, fast_track=False, requested_ms=T0 + 9),
        },
    )
    cursor = state.to_cursor()
    json.loads(cursor)  # a plain JSON string
    assert SensorState.from_cursor(cursor) == state
    assert SensorState.from_cursor(None) == SensorState() == SensorState.from_cursor("")


def test_cursor_advances_to_the_newest_point_and_skips_the_known_boundary():
    count = FakeCount()
    a, b = pt(at_s=0), pt(user="user_b", at_s=10)
    count.add(a, b)
    plan, cursor = tick(None, [a, b], count, now_s=11)
    state = SensorState.from_cursor(cursor)
    assert state.stored_ms == b.stored_ms
    g = state.groups[f"elena|{D1}"]
    assert (g.oldest_ms, g.newest_ms, g.pending) == (a.stored_ms, b.stored_ms, 2)
    # The boundary point comes back (scan is gte) but is not counted twice nor moves oldest.
    plan, cursor = tick(cursor, [b], count, now_s=12)
    assert SensorState.from_cursor(cursor).groups[f"elena|{D1}"] == g


# -- on a real embedded store ----------------------------------------------------------------------

@pytest.fixture()
def settings(tmp_path) -> Iterator[Settings]:
    """Embedded Qdrant only (no Postgres needed), on tmpfs when there is one."""
    with fast_settings(tmp_path) as s:
        yield s


def _at(day: str, minute: int) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=9, minutes=minute)


def test_scan_new_pending_and_count_pending_on_a_real_store(settings):
    first = [MessageIn("elena", "user_a", "user", f"hello number {i}", _at(D1, i)) for i in range(4)]
    first += [MessageIn("elena", "user_b", "bot", "nice to meet you", _at(D2, 0)),
              MessageIn("marcus", "user_a", "user", "I live in Lisbon", _at(D1, 5))]
    ids = store_messages(first, settings)

    with open_store(settings) as store:
        points = scan_new_pending(store, 0)
    assert len(points) == 6
    assert {(p.bot_name, p.day, p.user_id) for p in points} == {
        ("elena", D1, "user_a"), ("elena", D2, "user_b"), ("marcus", D1, "user_a"),
    }
    high = max(p.stored_ms for p in points)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    assert now_ms - 60_000 < high <= now_ms  # stored_ms is when it was written, not the message time

    with open_store(settings) as store:
        store.set_status(ids[:2], Status.COMPLETED, "run-1", "2025-11-09T10:00:00Z")
        pending_now = scan_new_pending(store, 0)
        boundary = scan_new_pending(store, high)  # the boundary is re-read on purpose
        after = scan_new_pending(store, high + 1)
        counts = count_pending(store, [f"elena|{D1}", f"elena|{D2}", f"marcus|{D1}", f"nobody|{D1}"])
    assert len(pending_now) == 4
    assert {p.stored_ms for p in boundary} == {high} and after == []
    assert counts == {f"elena|{D1}": 2, f"elena|{D2}": 1, f"marcus|{D1}": 1, f"nobody|{D1}": 0}

    # A later write is found from the old cursor; completed points never are.
    later = store_messages([MessageIn("elena", "user_c", "user", "I adopted a cat", _at(D3, 0))], settings)
    with open_store(settings) as store:
        new = scan_new_pending(store, high + 1)
        store.set_status(ids[2:] + later, Status.COMPLETED, "run-2", "2025-11-09T10:00:00Z")
        none_left = scan_new_pending(store, 0)
        zero = count_pending(store, [f"elena|{D1}", f"elena|{D3}"])
    assert [(p.bot_name, p.day, p.user_id) for p in new] == [("elena", D3, "user_c")]
    assert none_left == [] and zero == {f"elena|{D1}": 0, f"elena|{D3}": 0}


def test_plan_tick_over_a_real_store(settings):
    """The plain sensor loop: scan since the cursor, plan with count_pending, mark, plan again."""
    ids = store_messages([MessageIn("elena", "user_a", "user", f"message {i}", _at(D1, i)) for i in range(3)]
                         + [MessageIn("elena", "user_a", "user", "and the next day", _at(D2, 0))], settings)
    config = SensorConfig(debounce_s=0, pile_up=1000, retry_s=900)
    with open_store(settings) as store:
        state = SensorState()
        points = scan_new_pending(store, state.stored_ms)
        now = max(p.stored_ms for p in points) + 1
        plan = plan_tick(state, points, lambda k: count_pending(store, k), now, config)
    assert [(r.bot_name, str(r.first_day), str(r.last_day)) for r in plan.runs] == [("elena", D1, D2)]
    cursor = plan.state.to_cursor()

    with open_store(settings) as store:
        state = SensorState.from_cursor(cursor)
        plan = plan_tick(state, scan_new_pending(store, state.stored_ms), lambda k: count_pending(store, k),
                         now + 30_000, config)
        assert plan.runs == []
        store.set_status(ids, Status.COMPLETED, "run", "2025-11-09T10:00:00Z")
        state = SensorState.from_cursor(plan.state.to_cursor())
        plan = plan_tick(state, scan_new_pending(store, state.stored_ms), lambda k: count_pending(store, k),
                         now + 60_000, config)
    assert plan.runs == [] and plan.state.groups == {}
