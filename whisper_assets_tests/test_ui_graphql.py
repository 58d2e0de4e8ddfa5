"""What an operator sees in the Dagster UI, read through the webserver's GraphQL API (issue 14, item 5).

`whisper-assets dev` (webserver, daemon, code server) on 127.0.0.1 and a free port, on a temporary
data dir (DAGSTER_HOME under it). One bot-day is enriched through the CLI (`ingest`, `enrich`) before
the server starts; two bot-days of another bot are written through the hot path and enriched by the
sensor (interval 1 s, debounce 0). Then, through GraphQL only:

- the graph: every asset, and its dependencies (lineage edges) exactly;
- bot x day partition statuses: the enriched bot-days materialized for every asset, another day of
  the sensor's bot missing, no failed partition;
- per-partition metadata: the latest materialization of a sensor partition and of the CLI partition
  carries that bot-day's message, fact and summary counts, equal to its rows in Postgres;
- asset checks: each enrichment check's latest result passed, and each run's results name the
  bot-days they judged.
"""

from __future__ import annotations

import json
import os
import time
from datetime import date, datetime, timezone
from typing import Any, Iterator

import pytest

from whisper_assets.core.settings import Settings
from whisper_assets.memory.hot_path import MessageIn, close_shared_writers, store_messages
from whisper_assets_tests.always_on_helpers import DevServer, cli, process_env, tail, wait_for
from whisper_assets_tests.enrichment_helpers import FACT_TEXTS as TEXTS, fast_settings, query

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

UTC = timezone.utc
SETTLE_S = float(os.environ.get("WHISPER_TEST_SETTLE_S", 240))

SENSOR_BOT, CLI_BOT = "elena", "marcus"
SENSOR_DAYS = [date(2025, 11, 9), date(2025, 11, 10)]
# elena has no message that day (outside the range of her runs; marcus has one): missing.
MISSING_DAY = date(2025, 11, 11)
CLI_DAY = date(2025, 11, 11)

# The graph as the operator must see it: asset -> its upstream assets.
LINEAGE = {
    "pending_messages": set(),
    "extracted_facts": {"pending_messages"},
    "windowed_summaries": {"pending_messages"},
    "user_facts": {"extracted_facts"},
    "summary_embeddings": {"windowed_summaries"},
    "completed_messages": {"user_facts", "summary_embeddings"},
}
ENRICHMENT_CHECKS = {
    ("extracted_facts", "FACT_CONFIDENCE"), ("extracted_facts", "JUNK_FACTS"),
    ("windowed_summaries", "SUMMARY_QUALITY"), ("windowed_summaries", "MESSAGE_COVERAGE"),
}



@pytest.fixture()
def settings(tmp_path, database_url) -> Iterator[Settings]:
    with fast_settings(tmp_path, database_url) as s:
        yield s
        close_shared_writers()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def sensor_messages() -> list[MessageIn]:
    """elena: two users on 11-09 (5 messages), one user on 11-10 (3 messages)."""
    d1, d2 = SENSOR_DAYS
    return [
        MessageIn(SENSOR_BOT, "uid-4f9c2a71", "user", TEXTS[0], at(d1, 9)),
        MessageIn(SENSOR_BOT, "uid-4f9c2a71", "bot", "Which ward do you work on?", at(d1, 9, 1)),
        MessageIn(SENSOR_BOT, "uid-4f9c2a71", "user", TEXTS[1], at(d1, 9, 2)),
        MessageIn(SENSOR_BOT, "uid-b83e0d55", "user", TEXTS[2], at(d1, 10)),
        MessageIn(SENSOR_BOT, "uid-b83e0d55", "user", TEXTS[3], at(d1, 10, 2)),
        MessageIn(SENSOR_BOT, "uid-17aa6e30", "user", TEXTS[4], at(d2, 11)),
        MessageIn(SENSOR_BOT, "uid-17aa6e30", "bot", "What do you play?", at(d2, 11, 1)),
        MessageIn(SENSOR_BOT, "uid-17aa6e30", "user", TEXTS[5], at(d2, 11, 2)),
    ]


def cli_records() -> list[dict[str, Any]]:
    """marcus on 11-11: two users, 4 messages."""
    stamp = lambda h, m: at(CLI_DAY, h, m).isoformat().replace("+00:00", "Z")  # noqa: E731
    return [
        {"bot": CLI_BOT, "user": "uid-9d01c3aa", "role": "user", "content": TEXTS[2], "timestamp": stamp(8, 0)},
        {"bot": CLI_BOT, "user": "uid-9d01c3aa", "role": "bot", "content": "Which district?", "timestamp": stamp(8, 1)},
        {"bot": CLI_BOT, "user": "uid-9d01c3aa", "role": "user", "content": TEXTS[5], "timestamp": stamp(8, 2)},
        {"bot": CLI_BOT, "user": "uid-e2b7f410", "role": "user", "content": TEXTS[0], "timestamp": stamp(14, 0)},
    ]


# -- GraphQL ------------------------------------------------------------------------------------------

def asset_graph(server: DevServer) -> dict[str, set[str]]:
    data = server.gql("{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    return {"/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
            for n in data["assetNodes"]}


def failed_partitions(server: DevServer, asset: str) -> list[Any]:
    data = server.gql(
        """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
             ... on AssetNode { assetPartitionStatuses { ... on MultiPartitionStatuses { ranges {
               secondaryDim { ... on DefaultPartitionStatuses { failedPartitions } } } } } } } }""",
        {"path": [asset]},
    )["assetNodeOrError"]
    return [k for r in data["assetPartitionStatuses"]["ranges"] for k in r["secondaryDim"].get("failedPartitions", [])]


def latest_metadata(server: DevServer, asset: str, key: str) -> dict[str, Any]:
    """The metadata of the asset's latest materialization of partition `key`, as the UI shows it."""
    data = server.gql(
        """query($path: [String!]!, $key: String!) { assetOrError(assetKey: {path: $path}) {
             __typename ... on Asset { assetMaterializations(partitions: [$key], limit: 1) {
               partition runId metadataEntries { label __typename
                 ... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue }
                 ... on TextMetadataEntry { text } } } } } }""",
        {"path": [asset], "key": key},
    )["assetOrError"]
    assert data["__typename"] == "Asset", data
    [event] = data["assetMaterializations"]
    assert event["partition"] == key, event
    return {e["label"]: e.get("intValue", e.get("floatValue", e.get("text"))) for e in event["metadataEntries"]}


def latest_checks(server: DevServer) -> dict[tuple[str, str], dict[str, Any]]:
    data = server.gql(
        """{ assetNodes { assetKey { path } assetChecksOrError { __typename ... on AssetChecks { checks {
             name blocking executionForLatestMaterialization { runId status
               evaluation { success description } } } } } } }""")
    out = {}
    for node in data["assetNodes"]:
        checks = node["assetChecksOrError"]
        for c in checks.get("checks", []):
            out[("/".join(node["assetKey"]["path"]), c["name"])] = c
    return out


def check_executions(server: DevServer, asset: str, name: str) -> list[dict[str, Any]]:
    return server.gql(
        """query($path: [String!]!, $name: String!) { assetCheckExecutions(
             assetKey: {path: $path}, checkName: $name, limit: 20) {
               runId status evaluation { success description } } }""",
        {"path": [asset], "name": name},
    )["assetCheckExecutions"]


def count(settings: Settings, table: str, bot: str, day: date) -> int:
    return query(settings, f"SELECT count(*) FROM {table} WHERE bot_name = :b AND day = :d", b=bot, d=day)[0][0]


def test_the_ui_shows_lineage_partition_statuses_per_partition_metadata_and_checks(tmp_path, settings):
    env = process_env(settings)
    log = tmp_path / "dev.log"
    started = time.monotonic()
    lap = lambda what: print(f"[ui] {what} at {time.monotonic() - started:.1f} s")  # noqa: E731

    # The CLI's bot-day, before the server starts (its sensor would otherwise race the CLI for it).
    chat = tmp_path / "marcus.jsonl"
    chat.write_text("".join(json.dumps(r) + "\n" for r in cli_records()))
    ingested = cli(env, "ingest", str(chat))
    assert ingested.returncode == 0 and "4 stored" in ingested.stdout, ingested.stdout
    enriched = cli(env, "enrich", "--bot", CLI_BOT, "--day", str(CLI_DAY))
    assert enriched.returncode == 0, enriched.stdout
    lap("CLI ingest + enrich done")

    server = DevServer(env, log)
    try:
        server.start()
        lap("dev serving")
        messages = sensor_messages()
        store_messages(messages, settings)
        close_shared_writers()  # hand the store to the daemon's runs at once

        sensor_keys = {f"{SENSOR_BOT}|{d}" for d in SENSOR_DAYS}
        cli_key = f"{CLI_BOT}|{CLI_DAY}"

        def sensor_done() -> bool:
            server.check_alive()
            runs = server.runs()
            failed = [r for r in runs if r["status"] in ("FAILURE", "CANCELED")]
            assert not failed, f"runs failed: {failed}\n{tail(log)}"
            return (sensor_keys <= server.materialized_partitions("completed_messages")
                    and all(r["status"] == "SUCCESS" for r in runs))

        wait_for("the sensor's runs to materialize elena's two days", sensor_done, SETTLE_S, 1.0,
                 lambda: f"runs: {server.runs()}\nticks: {server.sensor_ticks(limit=5)}\n{tail(log)}")
        lap("sensor runs done")

        runs = [r for r in server.runs() if r["tags"].get("whisper/source") != "schedule"]
        by_source: dict[str, list[dict[str, Any]]] = {}
        for r in runs:
            by_source.setdefault(r["tags"].get("whisper/source", "?"), []).append(r)
        assert [r["tags"].get("dagster/partition") for r in by_source.get("cli", [])] == [cli_key], runs
        sensor_runs = [r for r in runs if r not in by_source["cli"]]
        assert sensor_runs and all(r["tags"].get("bot") == SENSOR_BOT for r in sensor_runs), runs

        # -- lineage: the assets and their dependency edges, exactly.
        assert asset_graph(server) == LINEAGE

        # -- bot x day partition statuses.
        assert set(server.partition_keys()["bot"]) == {SENSOR_BOT, CLI_BOT}
        enriched_keys = sensor_keys | {cli_key}
        for asset in LINEAGE:
            shown = server.materialized_partitions(asset)
            assert shown == enriched_keys, (asset, shown)
            assert f"{SENSOR_BOT}|{MISSING_DAY}" not in shown  # a day of elena without messages: missing
            assert failed_partitions(server, asset) == [], asset

        # -- per-partition metadata equals the partition's rows in Postgres, for a sensor and the CLI partition.
        for bot, day, expected_messages in (
            (SENSOR_BOT, SENSOR_DAYS[0], sum((m.bot, m.timestamp.date()) == (SENSOR_BOT, SENSOR_DAYS[0])
                                              for m in messages)),
            (CLI_BOT, CLI_DAY, len(cli_records())),
        ):
            key = f"{bot}|{day}"
            pending = latest_metadata(server, "pending_messages", key)
            facts = latest_metadata(server, "extracted_facts", key)
            summaries = latest_metadata(server, "windowed_summaries", key)
            embeddings = latest_metadata(server, "summary_embeddings", key)
            n_facts = count(settings, "fact_observations", bot, day)
            n_summaries = count(settings, "conversation_summaries", bot, day)
            assert n_facts > 0 and n_summaries > 0, (key, n_facts, n_summaries)  # not a 0 == 0 comparison
            assert pending["messages"] == expected_messages, (key, pending)
            assert facts["facts"] == n_facts, (key, facts, n_facts)
            assert summaries["summaries"] == n_summaries, (key, summaries, n_summaries)
            assert embeddings["embeddings"] == count(settings, "summary_embeddings", bot, day), (key, embeddings)
            mean = query(settings, "SELECT avg(confidence) FROM fact_observations WHERE bot_name = :b AND day = :d",
                         b=bot, d=day)[0][0]
            assert facts["mean_confidence"] == pytest.approx(float(mean), abs=1e-3), (key, facts)
        # Each partition its own figures: the two sensor days do not show the same counts.
        per_day = [latest_metadata(server, "pending_messages", k)["messages"] for k in sorted(sensor_keys)]
        assert per_day == [5, 3], per_day

        # -- asset checks: declared, latest result passed, each run's results name their bot-days.
        checks = latest_checks(server)
        assert ENRICHMENT_CHECKS | {("pending_messages", "PENDING_LAG")} == set(checks), sorted(checks)
        run_ids = {r["runId"]: r for r in runs}
        for asset, name in sorted(ENRICHMENT_CHECKS):
            latest = checks[(asset, name)]["executionForLatestMaterialization"]
            assert latest is not None, (asset, name)
            assert latest["status"] == "SUCCEEDED" and latest["evaluation"]["success"], (asset, name, latest)
            assert latest["runId"] in run_ids, (asset, name, latest)
            executions = {e["runId"]: e for e in check_executions(server, asset, name)}
            assert set(executions) == set(run_ids), (asset, name, executions.keys(), run_ids.keys())
            for run_id, e in executions.items():
                assert e["status"] == "SUCCEEDED" and e["evaluation"]["success"], (asset, name, e)
                source = run_ids[run_id]["tags"].get("whisper/source")
                bot_days = [str(CLI_DAY)] if source == "cli" else [str(d) for d in SENSOR_DAYS]
                bot = CLI_BOT if source == "cli" else SENSOR_BOT
                description = e["evaluation"]["description"]
                assert f"{bot} " in description and any(d in description for d in bot_days), (asset, name, description)
        lap("assertions done")
    finally:
        server.stop()
