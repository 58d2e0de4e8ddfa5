"""`prune` and `forget` report every table they delete from: the consolidated facts that go when
user_facts is recomputed included, in the dry run as in the real one (CLI and Dagster job too).

Facts are written straight into fact_observations and consolidated with the pipeline's own
recompute (`repository.enrichment.recompute_user_facts`), so the cases are exact and need no
enrichment run.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from whisper_assets.memory.maintenance import DAY_TABLES, USER_TABLES, forget_user, prune
from whisper_assets.core.settings import Settings
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.qdrant import open_store
from whisper_assets.stores.repository.enrichment import recompute_user_facts

UTC = timezone.utc
NOW = datetime.now(UTC)
CUTOFF = NOW.date() - timedelta(days=90)  # the default TTL
OLD, NEW = CUTOFF - timedelta(days=1), CUTOFF  # the last pruned day and the first kept one

# (bot, user, fact, days observed)
OBSERVATIONS = [
    ("elena", "user_a", "works as a nurse", [OLD]),           # only long ago: goes
    ("elena", "user_a", "has a dog named Biscuit", [OLD, NEW]),  # also since: stays, newer evidence only
    ("elena", "user_a", "plays the cello", [NEW]),            # recomputed user, recent fact: stays
    ("elena", "user_b", "lives in Lisbon", [OLD]),            # goes
    ("elena", "user_c", "likes green tea", [NEW]),            # user not recomputed: stays
    ("marco", "user_a", "works as a nurse", [NEW]),           # same user and fact, other bot: stays
    ("marco", "user_b", "lives in Lisbon", [OLD, OLD - timedelta(days=3)]),  # goes
]
GOING = {("elena", "user_a", "works as a nurse"), ("elena", "user_b", "lives in Lisbon"),
         ("marco", "user_b", "lives in Lisbon")}


def seed_facts(settings: Settings) -> None:
    with get_engine(settings).begin() as conn:
        for bot, user, fact, days in OBSERVATIONS:
            for day in days:
                conn.execute(sa.text(
                    "INSERT INTO fact_observations (bot_name, day, user_id, category, fact_content, confidence,"
                    " source_message_ids, observed_at, model, prompt_version)"
                    " VALUES (:bot, :day, :user, 'other', :fact, 0.9, :ids, :at, 'offline', 'v1')"
                ), {"bot": bot, "day": day, "user": user, "fact": fact, "ids": [uuid.uuid4()],
                    "at": datetime.combine(day, time(9), tzinfo=UTC)})
        users = {bot: [o[1] for o in OBSERVATIONS if o[0] == bot] for bot, *_ in OBSERVATIONS}
        recompute_user_facts(conn, users)


def facts(settings: Settings) -> dict[tuple[str, str, str], tuple[int, date]]:
    with get_engine(settings).connect() as conn:
        rows = conn.execute(sa.text("SELECT bot_name, user_id, fact_content, mention_count, first_seen FROM user_facts"))
        return {(b, u, f): (n, first.astimezone(UTC).date()) for b, u, f, n, first in rows}


def tables_with(settings: Settings, column_like: str) -> set[tuple[str, str]]:
    with get_engine(settings).connect() as conn:
        return {tuple(r) for r in conn.execute(sa.text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name LIKE :c"), {"c": column_like})}


def test_prune_reports_the_user_facts_it_drops_in_the_dry_run_and_the_real_one(settings):
    seed_facts(settings)
    before = facts(settings)
    assert len(before) == len(OBSERVATIONS) and GOING <= set(before)
    engine = get_engine(settings)

    with open_store(settings) as store:
        dry = prune(engine, store, 90, dry_run=True, now=NOW)
    assert dry.user_facts == len(GOING) and dry.flat()["postgres.user_facts"] == len(GOING)
    assert dry.postgres["fact_observations"] == 5
    assert dry.total == 5 + len(GOING)
    assert facts(settings) == before  # a dry run deletes nothing

    with open_store(settings) as store:
        real = prune(engine, store, 90, dry_run=False, now=NOW)
    after = facts(settings)
    assert set(before) - set(after) == GOING and set(after) <= set(before)
    assert real.user_facts == len(before) - len(after) == dry.user_facts
    assert real.flat() == dry.flat()
    assert after[("elena", "user_a", "has a dog named Biscuit")] == (1, NEW)

    with open_store(settings) as store:
        again = prune(engine, store, 90, dry_run=False, now=NOW)
    assert again.total == 0 and again.flat()["postgres.user_facts"] == 0


def test_prune_report_names_every_table_it_deletes_from(settings):
    # Every table partitioned by day is pruned by day; user_facts (no day) is recomputed.
    assert {t for t, _ in tables_with(settings, "day")} == {*DAY_TABLES, "enrichment_metadata"}
    with open_store(settings) as store:
        report = prune(get_engine(settings), store, 90, dry_run=True, now=NOW)
    assert set(report.flat()) == (
        {"qdrant.messages", "qdrant.summaries", "postgres.user_facts"}
        | {f"postgres.{t}" for t in (*DAY_TABLES, "enrichment_metadata")}
    )


def test_forget_report_names_every_table_that_holds_a_user(settings):
    # Every table with a user column is erased by forget_user; forgotten_users keeps, on purpose,
    # only a SHA-256 of the id: the tombstone that runs in flight check (sql/003).
    user_columns = tables_with(settings, "%user%")
    assert {t for t, c in user_columns if c == "user_id"} == set(USER_TABLES)
    assert {t for t, c in user_columns if c != "user_id"} == {"forgotten_users"}
    seed_facts(settings)
    report = forget_user(get_engine(settings), lambda: open_store(settings), "elena", "user_a")
    assert set(report.postgres) == set(USER_TABLES) and set(report.qdrant) == {"messages", "summaries"}
    assert (report.postgres["fact_observations"], report.postgres["user_facts"]) == (4, 3)
    assert not [k for k in facts(settings) if k[:2] == ("elena", "user_a")]


@pytest.fixture()
def cli_env(settings, monkeypatch) -> None:
    monkeypatch.setenv("WHISPER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)


def report_rows(output: str) -> dict[str, str]:
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[0].startswith(("postgres.", "qdrant.")):
            rows[cells[0]] = cells[1]
    return rows


def test_cli_prune_prints_the_user_facts_row(settings, cli_env):
    from whisper_assets.interfaces.cli.app import app

    seed_facts(settings)
    runner = CliRunner()
    dry = runner.invoke(app, ["prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert report_rows(dry.output)["postgres.user_facts"] == str(len(GOING)), dry.output
    real = runner.invoke(app, ["prune"])
    assert real.exit_code == 0, real.output
    assert report_rows(real.output)["postgres.user_facts"] == str(len(GOING)), real.output
    assert set(facts(settings)).isdisjoint(GOING)


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")
def test_prune_job_metadata_has_the_user_facts_count(settings):
    import dagster as dg

    from whisper_assets.defs.jobs import prune_job
    from whisper_assets.defs.resources import StoresResource

    seed_facts(settings)
    stores = StoresResource(data_dir=str(settings.data_dir), database_url=settings.database_url)
    with dg.DagsterInstance.ephemeral() as instance:
        result = prune_job.execute_in_process(
            run_config={"ops": {"prune_op": {"config": {"ttl_days": 90, "dry_run": True}}}},
            resources={"stores": stores}, instance=instance,
        )
    assert result.success
    [event] = [e for e in result.events_for_node("prune_op") if e.is_successful_output]
    assert event.step_output_data.metadata["postgres.user_facts"].value == len(GOING)
