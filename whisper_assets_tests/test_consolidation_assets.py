"""Consolidation through Dagster (the user_facts asset): a conversation of two users over four
days, enriched against the stub LLM (which states facts the way a model does). A backfill of the
first two days after the last two gives the same user_facts as one run of all four, and each
partition's materialization counts what its day's facts did: merged, superseded, closed (counts
only). (Four adjacent days, so that "all of them" is one run: Dagster runs are the costly part.)"""

from __future__ import annotations

from datetime import date
from typing import Iterator

import dagster as dg
import pytest

from whisper_assets.core.settings import Settings
from whisper_assets.defs.partitions import partition_key
from whisper_assets_tests.conftest import _create_db, _url_for
from whisper_assets_tests.enrichment_helpers import (
    echo_responder, enrich, fast_settings, say, skip_output_backoff, snapshot, store,
)
from whisper_assets_tests.llm_stub import StubLLMServer

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

BOT = "elena"
EARLY = [date(2026, 3, 30), date(2026, 3, 31)]
LATE = [date(2026, 4, 1), date(2026, 4, 2)]
# (day, user, what they say, the fact a model states of it)
SAID = [
    (EARLY[0], "u-rosa", "I live in Lisbon with my two cats.", ("location", "lives in Lisbon")),
    (EARLY[0], "u-rosa", "I work at Halvorsen Logistics as a dispatcher.", ("employer", "works at Halvorsen Logistics")),
    (EARLY[0], "u-rosa", "I really enjoy hiking on weekends.", ("hobby", "enjoys hiking")),
    (EARLY[1], "u-rosa", "I like hiking in the hills a lot.", ("hobby", "likes hiking")),
    (EARLY[1], "u-tom", "I live in Porto near the river.", ("location", "lives in Porto")),
    (EARLY[1], "u-tom", "I really enjoy hiking with my brother.", ("hobby", "enjoys hiking")),
    (LATE[0], "u-rosa", "I moved last month and I live in Porto now.", ("location", "lives in Porto")),
    (LATE[1], "u-rosa", "I lost my job at Halvorsen Logistics yesterday.",
     ("employer", "lost their job at Halvorsen Logistics")),
    (LATE[1], "u-tom", "I still work at Halvorsen Logistics.", ("employer", "works at Halvorsen Logistics")),
]
RULE = {text: fact for _, _, text, fact in SAID}


def fact_rule(text: str) -> tuple[str, str] | None:
    return RULE.get(text)


@pytest.fixture()
def stub() -> Iterator[StubLLMServer]:
    with StubLLMServer(default=echo_responder(fact_rule)) as server:
        yield server


def world(tmp_path, url: str) -> Iterator[Settings]:
    with fast_settings(tmp_path, url) as settings:
        store(settings, [say(user, text, i, day=day) for i, (day, user, text, _) in enumerate(SAID)])
        yield settings


def test_a_backfill_of_earlier_days_equals_one_run_and_partitions_count_what_they_did(
    tmp_path, database_url, pg_admin, _created_dbs, _template_db, stub, monkeypatch,
):
    skip_output_backoff(monkeypatch)
    other_url = _url_for(_create_db(pg_admin, _created_dbs, template=_template_db))
    backfill = world(tmp_path / "a", database_url)
    at_once = world(tmp_path / "b", other_url)
    a, b = next(backfill), next(at_once)
    try:
        assert enrich(a, stub, LATE).success and enrich(a, stub, EARLY).success  # a backfill of earlier days
        instance = dg.DagsterInstance.ephemeral()
        assert enrich(b, stub, EARLY + LATE, instance=instance).success
        assert snapshot(a, ("user_facts",)) == snapshot(b, ("user_facts",))
        facts = {(r[0], r[2]): r for r in snapshot(b, ("user_facts",))["user_facts"]}  # (user, fact)
        assert ("u-rosa", "likes hiking") not in facts or ("u-rosa", "enjoys hiking") not in facts
        assert ("u-tom", "enjoys hiking") in facts  # a look-alike of another user: their own row

        def figures(day: date) -> dict[str, int]:
            [record] = instance.fetch_materializations(dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("user_facts"), asset_partitions=[partition_key(BOT, day)]), limit=1).records
            md = record.asset_materialization.metadata
            return {k: md[k].value for k in ("facts_merged", "facts_superseded", "facts_closed")}

        assert figures(EARLY[0]) == {"facts_merged": 0, "facts_superseded": 0, "facts_closed": 0}
        assert figures(EARLY[1]) == {"facts_merged": 1, "facts_superseded": 0, "facts_closed": 0}
        assert figures(LATE[0]) == {"facts_merged": 0, "facts_superseded": 1, "facts_closed": 0}
        assert figures(LATE[1]) == {"facts_merged": 0, "facts_superseded": 0, "facts_closed": 1}
    finally:
        backfill.close()
        at_once.close()
