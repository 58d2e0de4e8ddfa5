"""Always on (ARCHITECTURE.md, invariants 7-10), end to end:

- one persistent Dagster instance under WHISPER_DATA_DIR: a CLI run shows in the webserver of
  `whisper-assets dev`, survives a restart, and a lost instance gets its bots back from the store;
- a message stamped for tomorrow does not stop the sensor (nor other bots);
- processes creating the instance of a new data dir at once all get it;
- two runs of one bot at once write the rows of one run;
- re-ingesting identical content spends no LLM call;
- an edit made while a run is in flight stays pending and is enriched by the next run.

Processes are real: `whisper-assets dev` (dagster dev: webserver, daemon, code server, run
workers) in its own process group and CLI commands as subprocesses, sharing the embedded store
by its file lock; the Dagster instance is read through the webserver's GraphQL API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import dagster as dg
import pytest
from typer.testing import CliRunner

from whisper_assets.interfaces.cli.app import app
from whisper_assets.defs.assets import ASSETS
from whisper_assets.defs.instance import persistent_instance
from whisper_assets.memory.hot_path import MessageIn, close_shared_writers, store_messages
from whisper_assets.defs.partitions import bots_partitions
from whisper_assets.core.settings import Settings
from whisper_assets_tests.always_on_helpers import (
    DevServer, cli, open_new_instances_at_once, process_env, start_cli, tail, wait_for,
)
from whisper_assets_tests.enrichment_helpers import (
    answer, echo_responder, enrich, fast_settings, message_points, query, sent_texts, snapshot, statuses,
)
from whisper_assets_tests.llm_stub import Reply, StubLLMServer

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

UTC = timezone.utc
DAY = date(2025, 11, 9)
ASSET_KEYS = [k.to_user_string() for a in ASSETS for k in a.keys]
# Generous: the machine is shared. Lower it to see a broken behaviour fail fast.
SETTLE_S = float(os.environ.get("WHISPER_TEST_SETTLE_S", 240))


@pytest.fixture()
def settings(tmp_path, database_url) -> Iterator[Settings]:
    """conftest's settings (own database), with the embedded stores on tmpfs when there is one."""
    with fast_settings(tmp_path, database_url) as s:
        yield s
        close_shared_writers()  # this process's writer hands the store back before it is deleted


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def cli_and_sensor_runs(server: DevServer) -> list[dict[str, Any]]:
    """The enrichment runs the UI lists, without the daily close-out's (the schedule fires at
    00:30 UTC if the daemon happens to be up then)."""
    return [r for r in server.runs() if r["tags"].get("whisper/source") != "schedule"]


def points_of(settings: Settings, bot: str) -> dict[str, dict[str, Any]]:
    return {mid: p for mid, p in message_points(settings).items() if p["bot_name"] == bot}


# -- 1, 2 and 3: the instance `whisper-assets dev` serves ---------------------------------------------

BOAT_BOT, BOAT_USER = "orla", "user_kai"
BOAT_CHAT = [
    {"bot": BOAT_BOT, "user": BOAT_USER, "role": "user", "content": "I repair old sailboats in a shed by the harbour",
     "timestamp": "2025-11-09T08:15:00Z"},
    {"bot": BOAT_BOT, "user": BOAT_USER, "role": "bot", "content": "Which boat is on your trestles this week?",
     "timestamp": "2025-11-09T08:16:00Z"},
    {"bot": BOAT_BOT, "user": BOAT_USER, "role": "user", "content": "A wooden dinghy my grandfather built in 1961",
     "timestamp": "2025-11-09T08:17:00Z"},
]


def test_cli_run_shows_in_the_ui_survives_a_restart_and_a_lost_instance_rebuilds_bots_then_tomorrow_blocks_nobody(
    tmp_path, settings,
):
    """1. `whisper-assets ingest` and `enrich` (subprocesses) while `whisper-assets dev` runs: a
    sensor tick's skip reason names the pending bot-day and what it waits for; the webserver lists
    the CLI's run (enrichment_job, SUCCESS, whisper/source=cli) and shows every
    asset of the graph materialized for the bot-day.
    2. Stop everything (SIGTERM to the group) and start again on the same data dir: the run and the
    `bots` partitions are still there. Delete the instance directory and start again: the history
    is gone, and after the sensor's first ticks the bot is a partition again (rebuilt from the store).
    3. With that daemon running, a message for tomorrow (bot tern) and messages for now (bot wren)
    are both enriched; no sensor tick fails (no DagsterUnknownPartitionError)."""
    home = settings.data_dir / "dagster"
    # The sensor adds bots but requests nothing here: the work is the CLI's.
    env = process_env(settings, WHISPER_SENSOR_DEBOUNCE_S="3600")
    log = tmp_path / "dev.log"
    started = time.monotonic()
    servers: list[DevServer] = []

    def serve(environment: dict[str, str]) -> DevServer:
        servers.append(DevServer(environment, log))
        return servers[-1].start()

    try:
        # 1 -- ingest while the server starts (the hot path needs no Dagster), then enrich.
        chat = write_jsonl(tmp_path / "boat.jsonl", BOAT_CHAT)
        ingest = start_cli(env, "ingest", str(chat), log=tmp_path / "ingest.log")
        server = serve(env)
        assert ingest.wait(timeout=300) == 0, tail(tmp_path / "ingest.log")
        assert "3 stored" in (tmp_path / "ingest.log").read_text()
        # The sensor's skip reason says what the bot-day waits for (here: the debounce).
        waiting = f"{BOAT_BOT}|{DAY}: 3 pending"
        reason = wait_for(f"a sensor tick whose skip reason names {waiting!r}", lambda: next(
            (t["skipReason"] for t in server.sensor_ticks(limit=3) if waiting in (t["skipReason"] or "")), None),
            SETTLE_S, 1.0, lambda: f"ticks: {server.sensor_ticks(limit=3)}\n{tail(log)}")
        assert "debouncing" in reason, reason
        enriched = cli(env, "enrich", "--bot", BOAT_BOT, "--day", str(DAY))
        assert enriched.returncode == 0, enriched.stdout
        print(f"[always-on] dev up, ingest and enrich done at {time.monotonic() - started:.0f} s")

        runs = cli_and_sensor_runs(server)
        assert len(runs) == 1, runs
        run = runs[0]
        assert (run["jobName"], run["status"]) == ("enrichment_job", "SUCCESS"), run
        assert run["tags"].get("whisper/source") == "cli", run["tags"]
        assert run["tags"].get("dagster/partition") == f"{BOAT_BOT}|{DAY}", run["tags"]
        assert run["tags"].get("bot") == BOAT_BOT, run["tags"]
        assert run["runId"][:8] in enriched.stdout  # the run the CLI printed
        for asset in ASSET_KEYS:
            assert f"{BOAT_BOT}|{DAY}" in server.materialized_partitions(asset), asset
        assert server.partition_keys()["bot"] == [BOAT_BOT]
        assert set(statuses(settings).values()) == {"completed"}
        assert query(settings, "SELECT DISTINCT run_id FROM enrichment_metadata") == [(run["runId"],)]

        # 2 -- a restart keeps the history and the bots.
        server.stop()
        server = serve(env)
        print(f"[always-on] restarted at {time.monotonic() - started:.0f} s")
        again = cli_and_sensor_runs(server)
        assert [(r["runId"], r["status"]) for r in again] == [(run["runId"], "SUCCESS")], again
        assert again[0]["tags"].get("whisper/source") == "cli"
        assert server.partition_keys()["bot"] == [BOAT_BOT]
        assert f"{BOAT_BOT}|{DAY}" in server.materialized_partitions("completed_messages")

        # 2 -- a lost instance: the sensor's first ticks (empty cursor) add the store's bots again.
        server.stop()
        shutil.rmtree(home)
        env = process_env(settings)  # debounce 0 from here on, for part 3
        server = serve(env)
        print(f"[always-on] started on a new instance at {time.monotonic() - started:.0f} s")
        assert cli_and_sensor_runs(server) == [], "the instance directory was deleted: no history expected"
        wait_for("the sensor to add the stored bot to the new instance's `bots` partitions",
                 lambda: server.partition_keys()["bot"] == [BOAT_BOT], SETTLE_S, 1.0, lambda: tail(log))
        assert cli_and_sensor_runs(server) == [], "the bot's messages are all completed: nothing to run"

        # 3 -- tomorrow's message and today's, stored together by the hot path in this process.
        now = datetime.now(UTC)
        tomorrow = now.date() + timedelta(days=1)
        later = max(now + timedelta(hours=20), datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)
                    + timedelta(seconds=1))
        assert later.date() == tomorrow
        ids = store_messages([
            MessageIn("tern", "user_ines", "user", "I board the early ferry to the islands tomorrow", later),
            MessageIn("wren", "user_odo", "user", "I bake rye bread every Sunday morning", now - timedelta(minutes=2)),
            MessageIn("wren", "user_odo", "bot", "Do you keep your own starter?", now - timedelta(minutes=1)),
            MessageIn("wren", "user_pia", "user", "I started learning the cello last month", now),
        ], settings)
        close_shared_writers()  # hand the store to the daemon at once
        tern_id, wren_ids = ids[0], ids[1:]

        def done(which: list[str]) -> bool:
            server.check_alive()
            failed = [r for r in cli_and_sensor_runs(server) if r["status"] in ("FAILURE", "CANCELED")]
            assert not failed, f"runs failed: {failed}\n{tail(log)}"
            current = statuses(settings)
            return all(current.get(i) == "completed" for i in which)

        wait_for("wren's messages to be completed", lambda: done(wren_ids), SETTLE_S, 2.0,
                 lambda: f"runs: {cli_and_sensor_runs(server)}\nticks: {server.sensor_ticks(limit=5)}\n{tail(log)}")
        wait_for("tern's message for tomorrow to be completed", lambda: done([tern_id]), SETTLE_S, 2.0,
                 lambda: f"runs: {cli_and_sensor_runs(server)}\nticks: {server.sensor_ticks(limit=5)}\n{tail(log)}")
        print(f"[always-on] tomorrow and today enriched at {time.monotonic() - started:.0f} s")

        ticks = server.sensor_ticks()
        assert ticks, "the sensor never ticked"
        failures = [t for t in ticks if t["status"] == "FAILURE" or t["error"]]
        assert not failures, failures
        assert "DagsterUnknownPartitionError" not in log.read_text(errors="replace")
        by_bot = {bot: [(r["tags"].get("dagster/partition"), r["status"]) for r in cli_and_sensor_runs(server)
                        if r["tags"].get("bot") == bot] for bot in ("tern", "wren")}
        assert by_bot["tern"] == [(f"tern|{tomorrow}", "SUCCESS")], by_bot
        assert [status for _, status in by_bot["wren"]] == ["SUCCESS"], by_bot
        assert str(tomorrow) in server.partition_keys()["day"]
        assert sorted(server.partition_keys()["bot"]) == [BOAT_BOT, "tern", "wren"]
        facts = {f for (f,) in query(settings, "SELECT fact_content FROM fact_observations WHERE bot_name = 'tern'")}
        summaries = query(settings, "SELECT day FROM conversation_summaries WHERE bot_name = 'tern'")
        assert summaries == [(tomorrow,)], (summaries, facts)
    except BaseException:
        print(tail(log, 200))
        raise
    finally:
        for s in servers:
            s.stop(grace_s=10)


# -- 4: two runs of one bot at once -----------------------------------------------------------------------

HERON = "heron"
HERON_CHAT = [
    MessageIn(HERON, "user_mo", "user", "I drive a night bus across the river", at(DAY, 21, 0)),
    MessageIn(HERON, "user_mo", "bot", "Quiet streets at that hour?", at(DAY, 21, 1)),
    MessageIn(HERON, "user_mo", "user", "I listen to radio plays between stops", at(DAY, 21, 2)),
    MessageIn(HERON, "user_zu", "user", "I grow chillies on my balcony", at(DAY, 22, 0)),
]


def lock_waiters(settings: Settings) -> list[str]:
    """Sessions of this test's database waiting for an advisory lock (a bot's lock)."""
    return [name for (name,) in query(
        settings,
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()",
    )]


class HoldFirstCall:
    """The stub's answers, but the first call is held until another run waits for the bot's lock
    (then that run can only go on after this one commits) or until a second call arrives (two runs
    enriching at once: what the lock should prevent)."""

    def __init__(self, settings: Settings, timeout_s: float) -> None:
        self.settings, self.timeout_s = settings, timeout_s
        self.calls: list[dict[str, float]] = []
        self.waiters: list[str] = []
        self.runs: list[subprocess.Popen] = []  # stop holding if one of them has exited
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            call = {"arrived": time.monotonic()}
            self.calls.append(call)
            first = len(self.calls) == 1
        if first:
            deadline = call["arrived"] + self.timeout_s
            while time.monotonic() < deadline and len(self.calls) == 1 and all(p.poll() is None for p in self.runs):
                self.waiters = lock_waiters(self.settings)
                if self.waiters:
                    break
                time.sleep(0.2)
        reply = Reply(answer(body))
        call["answered"] = time.monotonic()
        return reply


def test_two_concurrent_cli_runs_of_one_bot_leave_the_rows_of_one_run(tmp_path, settings):
    """Two `whisper-assets enrich --bot heron --day D` at once: both succeed, the second waiting for
    the bot's lock (seen in pg_locks while the first run's LLM call is held) and calling the LLM
    only after the first answered; the tables hold exactly the rows one run writes (compared with
    a single run done afterwards), no duplicate fact, summary or embedding; enrichment_metadata has
    one success row per run; the persistent instance lists both runs and the bot once."""
    ids = store_messages(HERON_CHAT, settings)
    close_shared_writers()
    # The instance exists already (see test_processes_creating_the_instance_at_once_all_succeed);
    # the `bots` partition does not: both runs add it.
    persistent_instance(settings).dispose()
    gate = HoldFirstCall(settings, timeout_s=SETTLE_S)
    with StubLLMServer(default=gate) as stub:
        # One call at a time: a run makes one call per user (users never share a call), so a second
        # call arriving while the first is held can only be the other run's.
        env = process_env(settings, WHISPER_LLM_BACKEND="openai", OPENAI_BASE_URL=stub.base_url, OPENAI_API_KEY="x",
                          WHISPER_LLM_MODEL="stub-model", WHISPER_LLM_TIMEOUT_S="600", WHISPER_LLM_MAX_RETRIES="0",
                          WHISPER_LLM_CONCURRENCY="1")
        args = ("enrich", "--bot", HERON, "--day", str(DAY))
        logs = [tmp_path / "enrich1.log", tmp_path / "enrich2.log"]
        procs = gate.runs = [start_cli(env, *args, log=logs[0]), start_cli(env, *args, log=logs[1])]
        try:
            codes = [p.wait(timeout=2 * SETTLE_S) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        outputs = [tail(log) for log in logs]
        assert codes == [0, 0], outputs
        assert all("success" in out for out in outputs), outputs

        # The second run waited for the bot's lock; its LLM calls (one per user) came after the first
        # run's were answered.
        assert len(gate.calls) == 4, gate.calls
        assert gate.waiters and all(w.startswith("whisper run ") for w in gate.waiters), gate.waiters
        assert gate.calls[2]["arrived"] >= max(c["answered"] for c in gate.calls[:2]), gate.calls

        after_two = snapshot(settings)
        for table, key in [
            ("fact_observations", "bot_name, day, user_id, fact_content"),
            ("conversation_summaries", "bot_name, user_id, start_timestamp, end_timestamp"),
            ("summary_embeddings", "bot_name, user_id, start_timestamp, end_timestamp"),
        ]:
            dupes = query(settings, f"SELECT {key}, count(*) FROM {table} GROUP BY {key} HAVING count(*) > 1")
            assert not dupes, (table, dupes)
        assert len(after_two["fact_observations"]) == 3  # one per "I ..." user turn (the stub's rule)
        assert len(after_two["conversation_summaries"]) == 2  # one per user
        assert len(after_two["summary_embeddings"]) == 2
        success = query(settings, "SELECT run_id, bot_name, day FROM enrichment_metadata WHERE status = 'success'")
        assert len(success) == 2 and len({r for r, _, _ in success}) == 2, success
        assert {(b, d) for _, b, d in success} == {(HERON, DAY)}
        assert query(settings, "SELECT count(*) FROM enrichment_metadata WHERE status <> 'success'") == [(0,)]
        assert set(statuses(settings).values()) == {"completed"} and set(statuses(settings)) == set(ids)

        # A single run afterwards replaces the partition: the same rows as the two concurrent runs.
        single = enrich(settings, stub, days=[DAY], bot=HERON)
        assert single.success, single.error
        assert snapshot(settings) == after_two

    instance = dg.DagsterInstance.from_config(str(settings.data_dir / "dagster"))
    try:
        cli_runs = instance.get_runs(dg.RunsFilter(job_name="enrichment_job", tags={"whisper/source": "cli"}))
        assert [r.status for r in cli_runs] == [dg.DagsterRunStatus.SUCCESS] * 2
        assert {r.run_id for r in cli_runs} == {r for r, _, _ in success}
        assert instance.get_dynamic_partitions(bots_partitions.name) == [HERON]
    finally:
        instance.dispose()


def test_processes_creating_the_instance_at_once_all_succeed(tmp_path, settings):
    """The first use of a data dir creates the Dagster instance's SQLite storage. Several
    processes doing that at once (two `enrich`, or `enrich` and `demo`, on a new data dir) must all
    get the instance; Dagster's own schema creation is not safe across processes ("table ...
    already exists", "alembic_version has more than one head"), so that first creation needs a
    lock of ours. Four processes open a new data dir's instance together, twice."""
    failures = open_new_instances_at_once(settings, tmp_path, processes=4, rounds=2)
    assert not failures, "\n".join(failures)


# -- 5 and 6: the LLM is paid once per content ------------------------------------------------------------

KITE = "kite"
KITE_CHAT = [
    {"bot": KITE, "user": "user_ada", "role": "user", "content": "I sing bass in a harbour choir",
     "timestamp": "2025-11-09T18:00:00Z"},
    {"bot": KITE, "user": "user_ada", "role": "bot", "content": "What are you rehearsing?",
     "timestamp": "2025-11-09T18:01:00Z"},
    {"bot": KITE, "user": "user_ada", "role": "user", "content": "I practise sea shanties for a winter concert",
     "timestamp": "2025-11-09T18:02:00Z"},
]


def test_reingesting_the_same_file_spends_no_llm_call(tmp_path, settings, monkeypatch):
    """`ingest` then `enrich` (the CLI, OpenAI-compatible stub): every point completed; `ingest` of
    the same file again stores nothing and leaves the points as they were (status, run, time);
    `enrich` then finds nothing pending and the stub sees no new request."""
    for var in ("DAGSTER_HOME", "QDRANT_URL", "WHISPER_QDRANT_PATH", "WHISPER_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    chat = write_jsonl(tmp_path / "choir.jsonl", KITE_CHAT)
    with StubLLMServer(default=echo_responder()) as stub:
        for var, value in {"WHISPER_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url,
                           "WHISPER_LLM_BACKEND": "openai", "OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "x",
                           "WHISPER_LLM_MAX_RETRIES": "0"}.items():
            monkeypatch.setenv(var, value)

        first = runner.invoke(app, ["ingest", str(chat)])
        assert first.exit_code == 0 and "3 stored" in first.output, first.output
        enriched = runner.invoke(app, ["enrich"])
        assert enriched.exit_code == 0 and "success" in enriched.output, enriched.output
        calls = len(stub.chat_requests)
        assert calls >= 1
        points = points_of(settings, KITE)
        assert {p["enrichment_status"] for p in points.values()} == {"completed"}, points

        again = runner.invoke(app, ["ingest", str(chat)])
        assert again.exit_code == 0, again.output
        after_ingest = points_of(settings, KITE)
        nothing = runner.invoke(app, ["enrich"])
        assert nothing.exit_code == 0, nothing.output
        assert len(stub.chat_requests) == calls, (again.output, nothing.output)
        assert "nothing to enrich" in nothing.output, nothing.output
        assert after_ingest == points  # status, run id, enriched_at, stored_ms: untouched
        assert points_of(settings, KITE) == points
        assert "0 stored, 3 unchanged" in " ".join(again.output.split()), again.output


def test_an_edit_during_a_run_stays_pending_and_the_next_run_enriches_it(settings):
    """While the run's LLM call is in flight, the bot re-stores one message (same id, new content).
    The run writes what it read and marks the others completed; the edited point stays pending
    with its new content. The next run sends the new text and its fact and summary replace the old."""
    bot, user = "finch", "user_noor"
    ids = store_messages([
        MessageIn(bot, user, "user", "I keep bees on the roof of my flat", at(DAY, 7, 0)),
        MessageIn(bot, user, "bot", "How many hives do you have?", at(DAY, 7, 1)),
        MessageIn(bot, user, "user", "I sell the honey at a Saturday market", at(DAY, 7, 2)),
    ], settings)
    edited, new_text = ids[0], "I keep pigeons on the roof of my flat"
    echo = echo_responder()
    edits: list[list[str]] = []

    def edit_then_answer(body: dict[str, Any]) -> Reply:
        if not edits:
            edits.append(store_messages([MessageIn(bot, user, "user", new_text, at(DAY, 7, 0), edited)], settings))
        return echo(body)

    def facts() -> set[str]:
        return {f for (f,) in query(settings, "SELECT fact_content FROM fact_observations WHERE bot_name = :b", b=bot)}

    def summary() -> str:
        rows = query(settings, "SELECT summary_text FROM conversation_summaries WHERE bot_name = :b", b=bot)
        assert len(rows) == 1, rows
        return rows[0][0]

    with StubLLMServer(default=edit_then_answer) as stub:
        first = enrich(settings, stub, days=[DAY], bot=bot)
        assert first.success, first.error
        assert edits == [[edited]]
        points = points_of(settings, bot)
        assert points[edited]["content"] == new_text
        assert points[edited]["enrichment_status"] == "pending", points[edited]
        assert {points[i]["enrichment_status"] for i in ids[1:]} == {"completed"}
        assert "keep bees on the roof of my flat" in facts() and "pigeons" not in summary()

        second = enrich(settings, stub, days=[DAY], bot=bot)
        assert second.success, second.error
        assert new_text in sent_texts(stub)[-2:], sent_texts(stub)
        assert {p["enrichment_status"] for p in points_of(settings, bot).values()} == {"completed"}
        assert "keep pigeons on the roof of my flat" in facts()
        assert "keep bees on the roof of my flat" not in facts()
        assert "pigeons" in summary() and "bees" not in summary()
