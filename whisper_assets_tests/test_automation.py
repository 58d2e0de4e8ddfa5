"""The automation wiring: the Qdrant sensor evaluated through Dagster's sensor context, the daily
close-out schedule, TTL pruning and forget-user (plain functions and their jobs), on real
PostgreSQL, an embedded Qdrant and the real pipeline with the offline backend."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator

import dagster as dg
import numpy as np
import pytest

from whisper_assets.defs.definitions import build_definitions, build_resources
from whisper_assets.defs.jobs import forget_user_job, prune_job
from whisper_assets.defs.schedules import daily_closeout_schedule
from whisper_assets.defs.sensors import SENSOR_NAME
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.defs.run_tags import RANGE_END, RANGE_START
from whisper_assets.core.enrichment.scheduling import SensorState
from whisper_assets.memory.hot_path import MessageIn, store_messages
from whisper_assets.memory.maintenance import DAY_TABLES, USER_TABLES, forget_user, prune, user_sha256
from whisper_assets.core.messages import Message, Role
from whisper_assets.defs.partitions import bots_partitions
from whisper_assets.defs.runs import materialize_days
from whisper_assets.core.settings import Settings
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.qdrant import open_store
from whisper_assets_tests.enrichment_helpers import (
    count, fast_settings, message_points, query, statuses, summary_points, table_rows,
)

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

UTC = timezone.utc
D1, D2 = date(2025, 11, 9), date(2025, 11, 10)
ALL_TABLES = (*USER_TABLES, "enrichment_metadata")


@pytest.fixture()
def settings(tmp_path, database_url) -> Iterator[Settings]:
    """conftest's settings (own database), with the embedded store on tmpfs when there is one."""
    with fast_settings(tmp_path, database_url) as s:
        yield s


@pytest.fixture()
def stores(settings) -> StoresResource:
    return StoresResource(data_dir=str(settings.data_dir), database_url=settings.database_url)


@pytest.fixture()
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC) + timedelta(minutes=minute)


def msg(bot: str, user: str, content: str, when: datetime, role: str = "user") -> MessageIn:
    return MessageIn(bot, user, role, content, when)


def enrich(stores: StoresResource, instance: dg.DagsterInstance, days_by_bot: dict[str, list[date]]) -> None:
    outcomes = materialize_days(days_by_bot, instance=instance, stores=stores, llm=LLMResource(backend="offline"),
                                log_level="CRITICAL")
    assert outcomes and all(o.success for o in outcomes), outcomes


def tick(instance: dg.DagsterInstance, stores: StoresResource, cursor: str | None) -> dg.SensorResult:
    """One evaluation of the served sensor, its definitions built (as on load) from the settings of now."""
    defs = build_definitions(stores.settings(), stores)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"stores": stores},
                                 definitions=defs) as context:
        result = defs.resolve_sensor_def(SENSOR_NAME)(context)
    assert isinstance(result, dg.SensorResult)
    return result


def apply_partition_requests(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the daemon does with a tick's dynamic partition requests."""
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def user_rows(settings: Settings, bot: str, user: str) -> dict[str, int]:
    return {t: query(settings, f"SELECT count(*) FROM {t} WHERE bot_name = :b AND user_id = :u", b=bot, u=user)[0][0]
            for t in USER_TABLES}


def table_rows_where(settings: Settings, table: str, where: str, **params: Any) -> list[tuple]:
    cols = [c for c in query(settings, "SELECT column_name FROM information_schema.columns WHERE table_schema ="
                                       " current_schema() AND table_name = :t ORDER BY ordinal_position", t=table)]
    names = [c[0] for c in cols if c[0] not in {"updated_at"}]  # ids and timestamps must stay as they were
    rows = query(settings, f"SELECT {', '.join(names)} FROM {table} WHERE {where}", **params)
    return sorted((tuple(_canon(v) for v in r) for r in rows), key=repr)


def _canon(v: Any) -> Any:
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, list):
        return tuple(_canon(x) for x in v)
    return v


# -- the sensor -------------------------------------------------------------------------------------

def conversation() -> list[MessageIn]:
    return [
        msg("elena", "user_a", "I work as a nurse at St. Mary's", at(D1, 9, 0)),
        msg("elena", "user_a", "Oh, how long have you worked there?", at(D1, 9, 1), role="bot"),
        msg("elena", "user_b", "I have a dog named Biscuit", at(D2, 10, 0)),
        msg("marcus", "user_a", "I live in Lisbon", at(D1, 11, 0)),
    ]


def test_sensor_requests_runs_then_nothing_then_forgets_done_groups(settings, stores, instance, monkeypatch):
    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "0")
    store_messages(conversation(), settings)
    stored = {p["message_id"]: p["stored_ms"] for p in message_points(settings).values()}

    first = tick(instance, stores, None)
    assert [(r.partitions_def_name, sorted(r.partition_keys)) for r in first.dynamic_partitions_requests] == [
        (bots_partitions.name, ["elena", "marcus"])
    ]
    requests = {r.tags["bot"]: r for r in first.run_requests}
    assert sorted(requests) == ["elena", "marcus"]
    elena, marcus = requests["elena"], requests["marcus"]
    # Two days of one bot: one run over a key range, carried by Dagster's range tags.
    assert elena.partition_key is None
    assert (elena.tags[RANGE_START], elena.tags[RANGE_END]) == (f"elena|{D1}", f"elena|{D2}")
    assert elena.run_key == f"elena|{D1}|{D2}|{max(stored.values())}|0"
    assert elena.tags["whisper/reason"] == "debounce elapsed"
    # One day: a plain partition key, no range tags.
    assert marcus.partition_key == f"marcus|{D1}"
    assert RANGE_START not in marcus.tags and RANGE_END not in marcus.tags
    assert marcus.run_key.startswith(f"marcus|{D1}|{D1}|")
    apply_partition_requests(instance, first)

    # The same tick again (same cursor) asks for exactly the same work: Dagster dedupes by run key.
    assert sorted(r.run_key for r in tick(instance, stores, None).run_requests) == sorted(
        r.run_key for r in first.run_requests)

    second = tick(instance, stores, first.cursor)
    assert second.run_requests == [] and second.dynamic_partitions_requests == []
    assert sorted(SensorState.from_cursor(second.cursor).groups) == [f"elena|{D1}", f"elena|{D2}", f"marcus|{D1}"]

    # Run what was requested, as the requests say.
    days_by_bot: dict[str, list[date]] = {}
    for r in first.run_requests:
        start = r.tags.get(RANGE_START, r.partition_key)
        end = r.tags.get(RANGE_END, r.partition_key)
        d0, d1 = date.fromisoformat(start.split("|")[1]), date.fromisoformat(end.split("|")[1])
        days_by_bot[r.tags["bot"]] = [d0 + timedelta(days=i) for i in range((d1 - d0).days + 1)]
    enrich(stores, instance, days_by_bot)
    assert set(statuses(settings).values()) == {"completed"}

    third = tick(instance, stores, second.cursor)
    assert third.run_requests == []
    assert SensorState.from_cursor(third.cursor).groups == {}


def test_sensor_debounces_but_adds_new_bots_at_once(settings, stores, instance, monkeypatch):
    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "3600")
    store_messages(conversation()[:1], settings)
    result = tick(instance, stores, None)
    assert result.run_requests == []
    assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [["elena"]]
    assert list(SensorState.from_cursor(result.cursor).groups) == [f"elena|{D1}"]
    # The thresholds are those of the settings the sensor is built with (when the definitions
    # load): built without a debounce, the next tick asks for the run.
    apply_partition_requests(instance, result)
    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "0")
    result = tick(instance, stores, result.cursor)
    assert [r.partition_key for r in result.run_requests] == [f"elena|{D1}"]
    assert result.dynamic_partitions_requests == []


def test_sensor_skips_points_of_an_invalid_bot_without_crashing(settings, stores, instance, monkeypatch):
    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "0")
    store_messages(conversation()[:1], settings)
    # A point the hot path would refuse, written by some other tool straight into the store.
    bad = Message("0b5c1e1e-7a53-4c51-9e2e-1f1f8d0e6a11", "bad|bot", "user_a", Role.USER, "hello", at(D1))
    vector = np.full((1, 384), 1 / np.sqrt(384), dtype=np.float32)
    with open_store(settings) as store:
        store.upsert_messages([bad], vector)
    result = tick(instance, stores, None)
    assert [r.tags["bot"] for r in result.run_requests] == ["elena"]
    assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [["elena"]]
    assert list(SensorState.from_cursor(result.cursor).groups) == [f"elena|{D1}"]


def test_sensor_skips_with_a_reason_when_another_process_holds_the_store(settings, stores, instance, monkeypatch):
    """A store held past the wait is a skip that says so, inside Dagster's tick deadline, and the
    cursor is kept, so the next tick picks up where this one could not."""
    import subprocess
    import sys

    from whisper_assets.defs import sensors

    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "0")
    monkeypatch.setattr(sensors, "SENSOR_STORE_WAIT_S", 0.5)
    store_messages(conversation(), settings)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire();"
        " print('held', flush=True); time.sleep(30)"), str(settings.resolved_qdrant_path / ".lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = tick(instance, stores, None)
    finally:
        holder.kill()
        holder.wait()
    assert not busy.run_requests and busy.cursor is None
    assert "store busy" in busy.skip_reason.skip_message
    assert {r.tags["bot"] for r in tick(instance, stores, None).run_requests} == {"elena", "marcus"}


def test_sensor_holds_a_day_whose_partition_does_not_exist_yet_and_runs_the_others(settings, stores, instance,
                                                                                   monkeypatch):
    """A writer whose clock runs ahead: its bot-day waits, named in the skip reason; other bots run."""
    from whisper_assets.stores.qdrant import open_store as open_qdrant

    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "0")
    now = datetime.now(UTC)
    store_messages([msg("elena", "user_a", "I am repainting my kitchen", now)], settings)
    far = Message("5d0f6c52-1b7e-4c1a-9f41-6d9d2b1c7e01", "felix", "user_f", Role.USER, "A note from the future",
                  now + timedelta(days=3))
    with open_qdrant(settings) as store:  # past the hot path's check, as a writer with a wrong clock would
        store.upsert_messages([far], np.ones((1, 384), dtype=np.float32) / np.sqrt(384))
    result = tick(instance, stores, None)
    assert [(r.tags["bot"], r.partition_key) for r in result.run_requests] == [
        ("elena", f"elena|{now.date()}")]
    state = SensorState.from_cursor(result.cursor)
    later = tick(instance, stores, result.cursor)
    assert not later.run_requests
    assert f"felix|{(now + timedelta(days=3)).date()}: 1 pending, held" in later.skip_reason.skip_message
    assert len(state.groups) == 2


def test_sensor_requests_nothing_for_days_a_queued_run_of_the_bot_will_read(settings, stores, instance, monkeypatch):
    """A run still in the queue has not read its messages: it takes the new ones too, so the sensor
    does not pile a second run of the bot behind it (they would run one after the other)."""
    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "0")
    store_messages(conversation(), settings)
    tags = {"bot": "elena", RANGE_START: f"elena|{D1}", RANGE_END: f"elena|{D2}"}
    instance.add_run(dg.DagsterRun(job_name="enrichment_job", run_id="0a0a0a0a-1111-2222-3333-444444444444",
                                   status=dg.DagsterRunStatus.NOT_STARTED, tags=tags))
    result = tick(instance, stores, None)
    assert [r.tags["bot"] for r in result.run_requests] == ["marcus"]
    # Once it has started (it may have read already), new messages for the bot need a run of their own.
    instance.delete_run("0a0a0a0a-1111-2222-3333-444444444444")
    instance.add_run(dg.DagsterRun(job_name="enrichment_job", run_id="0b0b0b0b-1111-2222-3333-444444444444",
                                   status=dg.DagsterRunStatus.STARTED, tags=tags))
    store_messages([msg("elena", "user_b", "I also have a parrot", at(D2, 12, 0))], settings)
    assert [r.tags["bot"] for r in tick(instance, stores, result.cursor).run_requests] == ["elena"]


def test_sensor_finds_a_point_that_became_visible_after_a_newer_one(settings, stores, instance, monkeypatch):
    monkeypatch.setenv("WHISPER_SENSOR_DEBOUNCE_S", "0")
    store_messages(conversation()[:1], settings)  # elena, D1
    first = tick(instance, stores, None)
    apply_partition_requests(instance, first)
    high = SensorState.from_cursor(first.cursor).stored_ms
    # A slower writer took its stored_ms 50 ms before the point the tick saw, and landed after the tick.
    late = Message("6c1f7c1e-2b9a-4a7e-8f0e-3d2b1a0c9e88", "marcus", "user_a", Role.USER, "I live in Lisbon", at(D1))
    with open_store(settings) as store:
        store.engine.upsert(store.messages, [late.message_id], np.full((1, 384), 1 / np.sqrt(384), dtype=np.float32),
                            [late.payload(high - 50)])
    second = tick(instance, stores, first.cursor)
    assert [r.tags["bot"] for r in second.run_requests] == ["marcus"]


def test_a_fact_repeated_on_two_days_of_one_run_is_not_junk(settings, stores, instance):
    store_messages([msg("elena", "user_a", "I have a dog named Biscuit", at(D1)),
                    msg("elena", "user_a", "I have a dog named Biscuit", at(D2))], settings)
    enrich(stores, instance, {"elena": [D1, D2]})
    assert query(settings, "SELECT mention_count FROM user_facts") == [(2,)]


# -- the daily close-out -----------------------------------------------------------------------------

@pytest.fixture()
def persistent_instance() -> Iterator[dg.DagsterInstance]:
    """build_schedule_context needs a persistent instance (it passes an instance ref)."""
    with dg.instance_for_test() as inst:
        yield inst


def test_daily_closeout_requests_yesterday_for_every_known_bot(persistent_instance):
    instance = persistent_instance
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2025, 11, 10, 0, 30, tzinfo=UTC))
    assert daily_closeout_schedule(context) == []  # no bots yet
    instance.add_dynamic_partitions(bots_partitions.name, ["elena", "marcus"])
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2025, 11, 10, 0, 30, tzinfo=UTC))
    requests = daily_closeout_schedule(context)
    assert sorted((r.partition_key, r.run_key, r.tags["bot"]) for r in requests) == [
        ("elena|2025-11-09", "closeout|elena|2025-11-09", "elena"),
        ("marcus|2025-11-09", "closeout|marcus|2025-11-09", "marcus"),
    ]
    # At the turn of the year too.
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 1, 1, 0, 30, tzinfo=UTC))
    assert {r.partition_key for r in daily_closeout_schedule(context)} == {"elena|2025-12-31", "marcus|2025-12-31"}


def test_daily_closeout_request_runs(settings, stores, persistent_instance):
    """The request is a valid partition of enrichment_job: executing it enriches that bot-day."""
    instance = persistent_instance
    store_messages(conversation()[:2], settings)
    instance.add_dynamic_partitions(bots_partitions.name, ["elena"])
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at(D2, 0, 30))
    [request] = daily_closeout_schedule(context)
    job = build_definitions(settings).resolve_job_def("enrichment_job")
    result = job.execute_in_process(
        partition_key=request.partition_key, tags=request.tags, instance=instance,
        resources=build_resources(stores, LLMResource(backend="offline")),
    )
    assert result.success
    assert count(settings, "fact_observations") >= 1
    assert set(statuses(settings).values()) == {"completed"}


# -- TTL pruning ------------------------------------------------------------------------------------

def prune_data(settings: Settings, stores: StoresResource, instance: dg.DagsterInstance, now: datetime):
    """user_a: facts only long ago (nurse) and both long ago and recently (dog); user_b: only long ago."""
    cutoff = now.date() - timedelta(days=90)
    old, recent = cutoff - timedelta(days=1), cutoff  # the last pruned day and the first kept one
    store_messages([
        msg("elena", "user_a", "I work as a nurse at St. Mary's", at(old, 23, 0)),
        msg("elena", "user_a", "I have a dog named Biscuit", at(old, 23, 5)),
        msg("elena", "user_a", "Lovely!", at(old, 23, 6), role="bot"),
        msg("elena", "user_b", "I live in Lisbon", at(old, 23, 59)),
        msg("elena", "user_a", "I have a dog named Biscuit", at(recent, 0, 1)),
        msg("elena", "user_a", "I play the cello", at(recent, 0, 2)),
    ], settings)
    # One run per day: a fact repeated on two days of one run trips JUNK_FACTS (see
    # test_a_fact_repeated_on_two_days_of_one_run_is_not_junk).
    enrich(stores, instance, {"elena": [old]})
    enrich(stores, instance, {"elena": [recent]})
    return old, recent


def user_facts(settings: Settings) -> dict[tuple[str, str], tuple[int, date]]:
    rows = query(settings, "SELECT user_id, fact_content, mention_count, first_seen FROM user_facts")
    return {(u, f): (n, first.astimezone(UTC).date()) for u, f, n, first in rows}


def state(settings: Settings) -> dict[str, Any]:
    return {"pg": {t: table_rows(settings, t) for t in ALL_TABLES},
            "messages": message_points(settings), "summaries": summary_points(settings)}


def test_prune_dry_run_counts_and_real_run_deletes_only_old(settings, stores, instance):
    now = datetime.now(UTC)
    old, recent = prune_data(settings, stores, instance, now)
    before = state(settings)
    assert user_facts(settings) == {
        ("user_a", "works as a nurse"): (1, old), ("user_a", "works at St. Mary's"): (1, old),
        ("user_a", "has a dog named Biscuit"): (2, old), ("user_a", "plays the cello"): (1, recent),
        ("user_b", "lives in Lisbon"): (1, old),
    }
    old_pg = {t: query(settings, f"SELECT count(*) FROM {t} WHERE day = :d", d=old)[0][0]
              for t in (*DAY_TABLES, "enrichment_metadata")}
    assert all(old_pg.values()), old_pg

    engine = get_engine(settings)
    with open_store(settings) as store:
        dry = prune(engine, store, 90, dry_run=True, now=now)
    assert dry.cutoff == recent and dry.dry_run
    assert dry.qdrant == {"messages": 4, "summaries": 2}
    assert dry.postgres == old_pg
    assert state(settings) == before  # nothing deleted

    kept_pg = {t: table_rows_where(settings, t, "day >= :d", d=recent) for t in (*DAY_TABLES, "enrichment_metadata")}
    with open_store(settings) as store:
        real = prune(engine, store, 90, dry_run=False, now=now)
    assert (real.qdrant, real.postgres, real.dry_run) == (dry.qdrant, dry.postgres, False)
    for t in (*DAY_TABLES, "enrichment_metadata"):
        assert query(settings, f"SELECT count(*) FROM {t} WHERE day < :d", d=recent)[0][0] == 0, t
        assert table_rows_where(settings, t, "day >= :d", d=recent) == kept_pg[t], t
    assert sorted(p["day"] for p in message_points(settings).values()) == [recent.isoformat()] * 2
    assert [p["day"] for p in summary_points(settings).values()] == [recent.isoformat()]
    # user_facts recomputed: only-old facts are gone, the dog keeps its recent evidence only.
    assert user_facts(settings) == {
        ("user_a", "has a dog named Biscuit"): (1, recent), ("user_a", "plays the cello"): (1, recent),
    }
    # Idempotent: a second prune finds nothing.
    with open_store(settings) as store:
        again = prune(engine, store, 90, dry_run=False, now=now)
    assert again.total == 0


def test_prune_refuses_a_ttl_below_one_day(settings):
    with open_store(settings) as store, pytest.raises(ValueError, match="ttl_days"):
        prune(get_engine(settings), store, 0, dry_run=True)


def step_output_metadata(result: dg.ExecuteInProcessResult, op: str) -> dict[str, Any]:
    [event] = [e for e in result.events_for_node(op) if e.is_successful_output]
    return {k: v.value for k, v in event.step_output_data.metadata.items()}


def test_prune_job_in_process(settings, stores, instance):
    now = datetime.now(UTC)
    _, recent = prune_data(settings, stores, instance, now)
    before = state(settings)

    def run(dry_run: bool) -> dict[str, Any]:
        result = prune_job.execute_in_process(
            run_config={"ops": {"prune_op": {"config": {"ttl_days": 90, "dry_run": dry_run}}}},
            resources={"stores": stores}, instance=instance,
        )
        assert result.success
        return step_output_metadata(result, "prune_op")

    dry = run(True)
    assert dry["dry_run"] is True and dry["cutoff"] == recent.isoformat()
    assert (dry["qdrant.messages"], dry["qdrant.summaries"]) == (4, 2)
    assert dry["postgres.fact_observations"] == count(settings, "fact_observations") - 2
    assert state(settings) == before
    real = run(False)
    assert real["dry_run"] is False and real["qdrant.messages"] == 4
    assert {p["day"] for p in message_points(settings).values()} == {recent.isoformat()}
    assert query(settings, "SELECT count(*) FROM fact_observations WHERE day < :d", d=recent)[0][0] == 0


# -- forgetting a user --------------------------------------------------------------------------------

def forget_data(settings: Settings, stores: StoresResource, instance: dg.DagsterInstance) -> None:
    """user_1 and the look-alike user_10 on elena; the same id user_1 on marcus."""
    items = []
    for bot, user, job, place in (("elena", "user_1", "nurse", "Lisbon"), ("elena", "user_10", "teacher", "Oslo"),
                                  ("marcus", "user_1", "chef", "Lagos")):
        for day in (D1, D2):
            items += [
                msg(bot, user, f"I work as a {job} at St. Mary's", at(day, 9, 0)),
                msg(bot, user, "Sounds busy!", at(day, 9, 1), role="bot"),
                msg(bot, user, f"I live in {place}", at(day, 9, 2)),
            ]
    store_messages(items, settings)
    for day in (D1, D2):  # one run per day: see test_a_fact_repeated_on_two_days_of_one_run_is_not_junk
        enrich(stores, instance, {"elena": [day], "marcus": [day]})


def others(settings: Settings) -> dict[str, Any]:
    """Everything that is not elena's user_1."""
    keep = "NOT (bot_name = 'elena' AND user_id = 'user_1')"
    pg = {t: table_rows_where(settings, t, keep) for t in USER_TABLES}
    pg["enrichment_metadata"] = table_rows_where(settings, "enrichment_metadata", "true")
    is_target = lambda p: (p["bot_name"], p["user_id"]) == ("elena", "user_1")  # noqa: E731
    return {"pg": pg,
            "messages": {k: p for k, p in message_points(settings).items() if not is_target(p)},
            "summaries": {k: p for k, p in summary_points(settings).items() if not is_target(p)}}


def qdrant_of(settings: Settings, bot: str, user: str) -> tuple[int, int]:
    mine = lambda points: sum((p["bot_name"], p["user_id"]) == (bot, user) for p in points.values())  # noqa: E731
    return mine(message_points(settings)), mine(summary_points(settings))


def test_forget_user_erases_one_user_everywhere_and_nothing_else(settings, stores, instance):
    forget_data(settings, stores, instance)
    before_rows = user_rows(settings, "elena", "user_1")
    assert all(before_rows.values()), before_rows
    assert qdrant_of(settings, "elena", "user_1") == (6, 2)
    untouched = others(settings)
    assert qdrant_of(settings, "elena", "user_10") == (6, 2) and qdrant_of(settings, "marcus", "user_1") == (6, 2)

    report = forget_user(get_engine(settings), lambda: open_store(settings), "elena", "user_1")
    assert report.qdrant == {"messages": 6, "summaries": 2}
    assert report.postgres == before_rows
    assert report.flat()["postgres.user_facts"] == before_rows["user_facts"]

    assert user_rows(settings, "elena", "user_1") == dict.fromkeys(USER_TABLES, 0)
    assert qdrant_of(settings, "elena", "user_1") == (0, 0)
    for table in ("pending_messages", "fact_observations", "conversation_summaries", "user_facts"):
        # No text of theirs survives anywhere either (e.g. in another user's rows).
        assert query(settings, f"SELECT count(*) FROM {table} WHERE {table}::text LIKE '%Lisbon%'")[0][0] == 0, table
    assert others(settings) == untouched

    # Re-enriching the user's days does not bring them back.
    enrich(stores, instance, {"elena": [D1]})
    enrich(stores, instance, {"elena": [D2]})
    assert user_rows(settings, "elena", "user_1") == dict.fromkeys(USER_TABLES, 0)
    assert qdrant_of(settings, "elena", "user_1") == (0, 0)
    assert user_rows(settings, "elena", "user_10") == user_rows(settings, "marcus", "user_1")

    # Forgetting someone who is not there reports zeros.
    assert forget_user(get_engine(settings), lambda: open_store(settings), "elena", "user_1").total == 0


def test_a_forget_during_a_run_is_not_undone_by_the_run(settings):
    """The run reads user_1's messages, then user_1 is forgotten while the LLM call is in flight:
    the forget waits for the run's commit (the bot's lock), then erases user_1 everywhere, including
    what the run wrote; user_2 of the same bot-day is enriched as usual."""
    import threading

    from whisper_assets.stores.repository.enrichment import user_sha256
    from whisper_assets_tests.enrichment_helpers import echo_responder
    from whisper_assets_tests.enrichment_helpers import enrich as enrich_via_stub
    from whisper_assets_tests.llm_stub import StubLLMServer

    store_messages([msg("elena", "user_1", "I work as a nurse in Lisbon", at(D1, 9, 0)),
                    msg("elena", "user_2", "I work as a baker in Oslo", at(D1, 9, 1))], settings)
    answer = echo_responder()
    forgotten: list = []
    forget = threading.Thread(target=lambda: forgotten.append(
        forget_user(get_engine(settings), lambda: open_store(settings), "elena", "user_1")))

    first_call = threading.Lock()

    def forget_then_answer(body):
        # The run makes one call per user: the first one starts the forget.
        if first_call.acquire(blocking=False):
            forget.start()
            forget.join(timeout=2)  # it cannot finish: the run holds the bot's lock
            assert forget.is_alive()
        return answer(body)

    with StubLLMServer(default=forget_then_answer) as stub:
        outcome = enrich_via_stub(settings, stub, days=[D1])
    forget.join(timeout=60)
    assert outcome.success, outcome.error
    assert forgotten and forgotten[0].qdrant["messages"] == 1  # the run had staged it before
    assert user_rows(settings, "elena", "user_1") == dict.fromkeys(USER_TABLES, 0)
    assert qdrant_of(settings, "elena", "user_1") == (0, 0)
    assert all(user_rows(settings, "elena", "user_2").values())
    assert qdrant_of(settings, "elena", "user_2") == (1, 1)
    assert set(statuses(settings).values()) == {"completed"}
    # The record keeps a hash, never the erased id.
    assert query(settings, "SELECT bot_name, user_sha256 FROM forgotten_users") == [("elena", user_sha256("user_1"))]
    assert query(settings, "SELECT count(*) FROM forgotten_users WHERE user_sha256 LIKE '%user_1%'")[0][0] == 0

    # user_1 comes back later: a run that starts after the forget enriches the new messages.
    with get_engine(settings).begin() as conn:
        conn.exec_driver_sql("UPDATE forgotten_users SET forgotten_at = forgotten_at - interval '1 hour'")
    store_messages([msg("elena", "user_1", "I work as a pilot now", at(D1, 10, 0))], settings)
    with StubLLMServer(default=echo_responder()) as stub:
        assert enrich_via_stub(settings, stub, days=[D1]).success
    assert user_rows(settings, "elena", "user_1")["fact_observations"] == 1
    assert qdrant_of(settings, "elena", "user_1") == (1, 1)


def test_rows_of_users_forgotten_after_the_run_started_are_not_written(settings):
    """The write path itself, without Dagster: a forget after `run_started` drops that user's rows,
    an older forget does not; other users and bots are untouched."""
    from whisper_assets.core.enrichment.models import StagedMessage
    from whisper_assets.stores.repository.enrichment import TABLES, record_forget, replace_partitions

    def staged(bot, user, i):
        return StagedMessage(f"00000000-0000-0000-0000-00000000000{i}", bot, D1, user, "user", "hi", at(D1, 9, i),
                             np.zeros(384, dtype=np.float32))

    rows = [staged("elena", "user_1", 1), staged("elena", "user_2", 2), staged("marcus", "user_1", 3)]
    pids = [("elena", D1), ("marcus", D1)]
    engine = get_engine(settings)
    with engine.begin() as conn:
        record_forget(conn, "elena", "user_1")
    before = datetime.now(UTC) - timedelta(hours=1)
    after = datetime.now(UTC) + timedelta(hours=1)
    with engine.begin() as conn:
        assert replace_partitions(conn, TABLES["pending_messages"], pids, rows, before) == 2
    assert sorted(query(settings, "SELECT bot_name, user_id FROM pending_messages")) == [
        ("elena", "user_2"), ("marcus", "user_1")]
    with engine.begin() as conn:
        assert replace_partitions(conn, TABLES["pending_messages"], pids, rows, after) == 3
    assert count(settings, "pending_messages") == 3


def test_forget_user_job_in_process(settings, stores, instance):
    forget_data(settings, stores, instance)
    before_rows = user_rows(settings, "elena", "user_1")
    untouched = others(settings)
    result = forget_user_job.execute_in_process(
        run_config={"ops": {"forget_user_op": {"config": {"bot": "elena", "user_sha256": user_sha256("user_1")}}}},
        resources={"stores": stores}, instance=instance,
    )
    assert result.success
    metadata = step_output_metadata(result, "forget_user_op")
    assert metadata == {"qdrant.messages": 6, "qdrant.summaries": 2,
                        **{f"postgres.{t}": n for t, n in before_rows.items()}}
    assert user_rows(settings, "elena", "user_1") == dict.fromkeys(USER_TABLES, 0)
    assert qdrant_of(settings, "elena", "user_1") == (0, 0)
    assert others(settings) == untouched


@pytest.mark.parametrize("bot, user_sha256", [("bad|bot", user_sha256("user_1")), ("elena", ""),
                                              ("elena", "user_1"), ("elena", user_sha256("user_1").upper())])
def test_forget_user_job_refuses_invalid_input(settings, stores, instance, bot, user_sha256):
    store_messages(conversation()[:1], settings)
    result = forget_user_job.execute_in_process(
        run_config={"ops": {"forget_user_op": {"config": {"bot": bot, "user_sha256": user_sha256}}}},
        resources={"stores": stores}, instance=instance, raise_on_error=False,
    )
    assert not result.success
    assert len(message_points(settings)) == 1
