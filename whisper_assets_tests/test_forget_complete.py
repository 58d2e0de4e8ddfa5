"""A forget leaves nothing of the user anywhere: every file under the data directory (the embedded
Qdrant's shards with their write-ahead logs, the persistent Dagster instance's SQLite databases and
compute logs) and every row of every Postgres table is searched for the user's id and for marker
strings of their messages, after ingest (CLI), enrichment through Dagster (persistent instance) and
a forget through the CLI, and through the Dagster job (whose run config names the user by hash).
The other users' data stays, and is recalled."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from whisper_assets.core.settings import Settings
from whisper_assets.defs.instance import persistent_instance
from whisper_assets.defs.jobs import forget_user_job
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.defs.runs import materialize_days
from whisper_assets.interfaces.cli.app import app
from whisper_assets.memory.retrieval import RecallOptions, recall
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.qdrant import open_store
from whisper_assets_tests.enrichment_helpers import fast_settings

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

UTC = timezone.utc
BOT = "elena"
D1, D2 = date(2025, 11, 9), date(2025, 11, 10)
# Each user's id and the markers in their messages: unique strings no other data contains.
USERS = {
    "gone_cli_Qv7uZ": ("Kvothewald", "Brindlemoor"),    # forgotten through the CLI
    "gone_job_Hx3pL": ("Zephyrquist", "Marrowgate"),    # forgotten through the Dagster job
    "kept_user_Wm9tR": ("Ollandrick", "Thistlevane"),   # stays
}
GONE = ("gone_cli_Qv7uZ", "gone_job_Hx3pL")
KEPT = "kept_user_Wm9tR"
runner = CliRunner()


@pytest.fixture()
def settings(tmp_path, database_url, monkeypatch) -> Iterator[Settings]:
    with fast_settings(tmp_path, database_url) as s:
        monkeypatch.setenv("WHISPER_DATA_DIR", str(s.data_dir))
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the instance under the data directory
        monkeypatch.delenv("QDRANT_URL", raising=False)
        yield s


def jsonl(tmp_path: Path) -> Path:
    lines = []
    for user, (employer, city) in USERS.items():
        for day in (D1, D2):
            start = datetime.combine(day, time(9), tzinfo=UTC)
            for minute, (role, content) in enumerate([
                ("user", f"I work as a nurse at {employer} Hospital"),
                ("bot", f"How is {employer} these days?"),
                ("user", f"I live in {city} with my dog"),
                ("user", f"Yesterday in {city} I went hiking with my sister"),
            ]):
                lines.append(json.dumps({"bot": BOT, "user": user, "role": role, "content": content,
                                         "timestamp": (start + timedelta(minutes=minute)).isoformat()}))
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def needles(user: str) -> list[bytes]:
    return [s.encode("utf-8") for s in (user, *USERS[user])]


def files_holding(root: Path, user: str) -> list[str]:
    """Every file under `root` (all of it: shards, WALs, SQLite databases and their journals,
    compute logs, Dagster's storage) that contains the user's id or one of their markers."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.relative_to(root)}: {n.decode()}" for n in needles(user) if n in data]
    return found


def rows_holding(settings: Settings, user: str) -> list[str]:
    """Every row of every table of the database (any schema but the catalogs), as text."""
    found = []
    with get_engine(settings).connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )).scalars().all()
        assert {"public.user_facts", "public.pending_messages", "public.forgotten_users"} <= set(tables)
        for table in tables:
            for needle in needles(user):
                n = conn.execute(sa.text(f"SELECT count(*) FROM {table} t WHERE strpos(t::text, :n) > 0"),
                                 {"n": needle.decode()}).scalar_one()
                found += [f"{table}: {n} rows with {needle.decode()}"] if n else []
    return found


def run_records(instance: dg.DagsterInstance, user: str) -> list[str]:
    """The instance's own view of every run: config, tags, and every event's text."""
    found = []
    for run in instance.get_runs():
        texts = [json.dumps(run.run_config, default=str), json.dumps(run.tags, default=str)]
        texts += [str(e.dagster_event or "") + (e.user_message or "")
                  for e in instance.all_logs(run.run_id)]
        found += [f"run {run.job_name} {run.run_id}" for t in texts
                  for n in needles(user) if n.decode() in t]
    return found


def test_forget_leaves_nothing_of_the_user_in_any_file_or_table(settings, tmp_path):
    data_dir = Path(settings.data_dir)
    result = runner.invoke(app, ["ingest", str(jsonl(tmp_path))])
    assert result.exit_code == 0, result.output

    stores = StoresResource(data_dir=str(data_dir), database_url=settings.database_url)
    instance = persistent_instance(settings)
    try:
        outcomes = materialize_days({BOT: [D1, D2]}, instance=instance, stores=stores,
                                    llm=LLMResource(backend="offline"))
        assert outcomes and all(o.success for o in outcomes), outcomes
        assert Path(instance.root_directory).resolve().is_relative_to(data_dir.resolve())

        # The search can fail: before the forget, both users are in the store's files and the tables.
        for user in USERS:
            assert any(f.startswith("qdrant") for f in files_holding(data_dir, user)), user
            assert any("user_facts" in r for r in rows_holding(settings, user)), user
            assert any("conversation_summaries" in r for r in rows_holding(settings, user)), user

        result = runner.invoke(app, ["forget", "--bot", BOT, "--user", GONE[0]])
        assert result.exit_code == 0, result.output
        sha = hashlib.sha256(GONE[1].encode()).hexdigest()
        job = forget_user_job.execute_in_process(
            run_config={"ops": {"forget_user_op": {"config": {"bot": BOT, "user_sha256": sha}}}},
            resources={"stores": stores}, instance=instance,
        )
        assert job.success
        outputs = [e for e in job.all_events if e.is_successful_output]
        metadata = {k: v.value for k, v in outputs[0].step_output_data.metadata.items()}
        assert metadata["qdrant.messages"] == 8 and metadata["postgres.pending_messages"] == 8

        for user in GONE:
            assert run_records(instance, user) == []
    finally:
        instance.dispose()

    dagster_files = [p.name for p in Path(instance.root_directory).rglob("*") if p.is_file()]
    # What was searched: run storage, the runs' event logs, and their captured compute logs.
    assert "runs.db" in dagster_files and any(n.endswith(".db") and n != "runs.db" for n in dagster_files)
    assert any(n.endswith(".err") for n in dagster_files) and any(n.endswith(".out") for n in dagster_files)
    for user in GONE:
        assert files_holding(data_dir, user) == [], user
        assert rows_holding(settings, user) == [], user

    # The kept user's data is all there, and recalled.
    assert any(f.startswith("qdrant") for f in files_holding(data_dir, KEPT))
    assert rows_holding(settings, KEPT)
    employer, city = USERS[KEPT]
    with open_store(settings) as store:
        kept = recall(BOT, KEPT, "where do I work and where do I live?",
                      RecallOptions(now=datetime(2025, 11, 12, tzinfo=UTC)), settings=settings, store=store)
        assert store.engine.count(store.messages, {"bot_name": BOT, "user_id": KEPT}) == 8
        assert store.engine.count(store.messages, {"bot_name": BOT}) == 8
    context = kept.as_context()
    assert employer in context and city in context
    assert any(employer in f.fact for f in kept.facts)


def test_the_job_with_a_hash_of_no_stored_user_records_it_and_erases_nothing(settings):
    """Nothing matches: the forget is still recorded (a run in flight drops that user's rows) and
    the other users' data is untouched; the run config holds only the hash."""
    stores = StoresResource(data_dir=str(settings.data_dir), database_url=settings.database_url)
    result = runner.invoke(app, ["ingest", str(jsonl(Path(settings.data_dir).parent))])
    assert result.exit_code == 0, result.output
    sha = hashlib.sha256(b"never_stored_user").hexdigest()
    with dg.DagsterInstance.ephemeral() as instance:
        job = forget_user_job.execute_in_process(
            run_config={"ops": {"forget_user_op": {"config": {"bot": BOT, "user_sha256": sha}}}},
            resources={"stores": stores}, instance=instance,
        )
    assert job.success
    outputs = [e for e in job.all_events if e.is_successful_output]
    assert {k: v.value for k, v in outputs[0].step_output_data.metadata.items()} == {
        "qdrant.messages": 0, "qdrant.summaries": 0, "postgres.pending_messages": 0,
        "postgres.fact_observations": 0, "postgres.conversation_summaries": 0,
        "postgres.summary_embeddings": 0, "postgres.user_facts": 0}
    with get_engine(settings).connect() as conn:
        assert conn.execute(sa.text("SELECT bot_name, user_sha256 FROM forgotten_users")).all() == [(BOT, sha)]
    with open_store(settings) as store:
        assert store.engine.count(store.messages, {"bot_name": BOT}) == 24
