"""What the Dagster UI shows per partition: one run of two bots x three days (real PostgreSQL, the
embedded Qdrant, the offline backend), read back through the Dagster instance.

Each partition's latest materialization carries that partition's figures, equal to its rows in
Postgres; the check results name the bot-days they judged; no metadata value anywhere holds a user
id or a message, fact or summary text (the event log outlives a forget).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator

import dagster as dg
import pytest

from whisper_assets.defs.partitions import partition_key
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.defs.runs import describe_failed_check, materialize_days
from whisper_assets.core.settings import Settings
from whisper_assets.memory.hot_path import MessageIn, store_messages
from whisper_assets_tests.enrichment_helpers import FACT_TEXTS as TEXTS, fast_settings, query

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

UTC = timezone.utc
DAYS = [date(2025, 11, 9), date(2025, 11, 10), date(2025, 11, 11)]
BOTS = ["elena", "marcus"]
USERS = ["uid-4f9c2a71", "uid-b83e0d55", "uid-17aa6e30"]


@pytest.fixture()
def settings(tmp_path, database_url) -> Iterator[Settings]:
    with fast_settings(tmp_path, database_url) as s:
        yield s


def conversation() -> list[MessageIn]:
    """A different number of users, turns and bot turns in every bot-day (so no two partitions'
    figures are the run's, and the plots over partitions are not flat)."""
    out = []
    for b, bot in enumerate(BOTS):
        for d, day in enumerate(DAYS):
            n_users = 1 + (b + d) % len(USERS)
            for u, user in enumerate(USERS[:n_users]):
                for t in range(1 + (u + d + b) % 3):
                    when = datetime.combine(day, time(9 + u), tzinfo=UTC) + timedelta(minutes=2 * t)
                    out.append(MessageIn(bot, user, "user", TEXTS[(u + t + d) % len(TEXTS)], when))
                if (u + d) % 2 == 0:
                    out.append(MessageIn(bot, user, "bot", "Tell me more about that, please.",
                                         datetime.combine(day, time(9 + u, 30), tzinfo=UTC)))
    return out


def latest(instance: dg.DagsterInstance, asset: str, key: str) -> dict[str, Any]:
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1)
    [record] = result.records
    return {k: v.value for k, v in record.asset_materialization.metadata.items()}


def rows(settings: Settings, sql: str, **params: Any) -> list[tuple]:
    return query(settings, sql, **params)


def one(settings: Settings, sql: str, **params: Any) -> Any:
    return rows(settings, sql, **params)[0][0]


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def test_each_partition_carries_its_own_figures_and_nothing_identifying(settings):
    messages = conversation()
    store_messages(messages, settings)
    stores = StoresResource(data_dir=str(settings.data_dir), database_url=settings.database_url)
    with dg.DagsterInstance.ephemeral() as instance:
        outcomes = materialize_days({bot: DAYS for bot in BOTS}, instance=instance, stores=stores,
                                    llm=LLMResource(backend="offline"), log_level="CRITICAL")
        assert [o.success for o in outcomes] == [True], outcomes  # one run of all six partitions
        run_id = outcomes[0].run_id

        figures: dict[str, list[Any]] = {"messages": [], "facts": [], "summaries": []}
        all_metadata: list[str] = []
        for bot in BOTS:
            for day in DAYS:
                key = str(partition_key(bot, day))
                mine = [m for m in messages if m.bot == bot and m.timestamp.date() == day]
                pending = latest(instance, "pending_messages", key)
                facts = latest(instance, "extracted_facts", key)
                summaries = latest(instance, "windowed_summaries", key)
                embeddings = latest(instance, "summary_embeddings", key)
                all_metadata += [text_of(v) for md in (pending, facts, summaries, embeddings) for v in md.values()]

                where = "bot_name = :b AND day = :d"
                n_facts = one(settings, f"SELECT count(*) FROM fact_observations WHERE {where}", b=bot, d=day)
                n_summaries = one(settings, f"SELECT count(*) FROM conversation_summaries WHERE {where}", b=bot, d=day)
                mean = one(settings, f"SELECT avg(confidence) FROM fact_observations WHERE {where}", b=bot, d=day)
                [run] = rows(settings, "SELECT message_count, fact_count, summary_count, llm_calls, tokens_in, "
                             f"tokens_out FROM enrichment_metadata WHERE run_id = :r AND {where}",
                             r=run_id, b=bot, d=day)
                user_turns = sum(m.role == "user" for m in mine)

                assert (pending["messages"], pending["user_turns"], pending["users"]) == (
                    len(mine), user_turns, len({m.user for m in mine})), key
                assert facts["facts"] == n_facts and summaries["summaries"] == n_summaries, key
                assert facts["mean_confidence"] == pytest.approx(float(mean or 0.0), abs=1e-4), key
                assert embeddings["embeddings"] == one(
                    settings, f"SELECT count(*) FROM summary_embeddings WHERE {where}", b=bot, d=day), key
                for md in (facts, summaries):
                    assert (md["messages"], md["user_turns"], md["skipped_messages"]) == (
                        len(mine), user_turns, len(mine) - user_turns), key
                    assert sum(md["skipped_by_reason"].values()) == md["skipped_messages"], key
                    assert (md["messages"], md["llm_calls"], md["tokens_in"], md["tokens_out"]) == (
                        run[0], run[3], run[4], run[5]), key
                    assert md["duration_s_share"] >= 0 and md["run_partitions"] == 6, key
                assert (facts["facts"], summaries["summaries"]) == (run[1], run[2]), key
                assert facts["facts_rejected"] == sum(facts["facts_rejected_by_reason"].values()), key
                figures["messages"].append(len(mine))
                figures["facts"].append(n_facts)
                figures["summaries"].append(n_summaries)

        # The partitions differ (the run's totals on every partition would make these flat) ...
        assert all(len(set(v)) > 1 for v in figures.values()), figures
        # ... and the run's preview escapes the `|` of its partition keys.
        preview = latest(instance, "extracted_facts", str(partition_key(BOTS[0], DAYS[0])))["run_preview"]
        assert f"| {BOTS[0]}\\|{DAYS[0]} |" in preview and f"{BOTS[0]}|{DAYS[0]}" not in preview

        checks = [e.dagster_event.event_specific_data for e in instance.all_logs(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)]
        assert sorted(c.check_name for c in checks) == [
            "FACT_CONFIDENCE", "JUNK_FACTS", "MESSAGE_COVERAGE", "SUMMARY_QUALITY"]
        for c in checks:
            assert c.passed, c
            # Which bot-days it judged, in words and as a table.
            assert f"elena {DAYS[0]}…{DAYS[-1]} (3 days); marcus {DAYS[0]}…{DAYS[-1]} (3 days)" in c.description
            table = c.metadata["partitions_judged"].value
            assert table.count("\n") == 2 + 6 - 1 and "| marcus | 2025-11-11 |" in table
            all_metadata += [c.description] + [text_of(v.value) for v in c.metadata.values()]
        [confidence] = [c for c in checks if c.check_name == "FACT_CONFIDENCE"]
        plotted = {k for k, v in confidence.metadata.items() if isinstance(v.value, (int, float))}
        assert plotted == {"facts", "mean_confidence", "share_below_threshold", "out_of_range"}
        assert "A confidence below 0.5 is low" in confidence.description
        # The constants are text (not plotted), still read by the CLI's line for a failed check.
        line = describe_failed_check("FACT_CONFIDENCE", "extracted_facts", dict(confidence.metadata))
        assert f"(threshold {0.5})" in line and "low = confidence under 0.5" in line, line
        histogram = confidence.metadata["confidence_distribution"].value
        assert histogram.count("\n") == 2 + 5 - 1 and "| 0.8-1.0 |" in histogram

    # Nothing that identifies a person, says what they said or what was learnt about them.
    secrets = {*USERS, *(m.content for m in messages)}
    secrets |= {r[0] for r in rows(settings, "SELECT fact_content FROM fact_observations")}
    secrets |= {r[0] for r in rows(settings, "SELECT summary_text FROM conversation_summaries")}
    assert len(secrets) > len(USERS) + 3
    blob = "\n".join(all_metadata)
    leaked = sorted(s for s in secrets if s in blob)
    assert not leaked, leaked
