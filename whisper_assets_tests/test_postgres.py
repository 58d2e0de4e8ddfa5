import os
import subprocess
import sys

import sqlalchemy as sa

from whisper_assets.stores.postgres import migrations, upgrade

SEED_TABLES = {"user_facts", "conversation_summaries", "enrichment_metadata"}
ADDED_TABLES = {"fact_observations", "pending_messages", "summary_embeddings", "schema_migrations"}


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return tables


def test_upgrade_twice_applies_once(empty_database_url):
    engine = sa.create_engine(empty_database_url, poolclass=sa.pool.NullPool)
    first = upgrade(engine)
    assert first == [m.version for m in migrations()]
    assert upgrade(engine) == []
    with engine.connect() as conn:
        recorded = conn.execute(sa.text("SELECT version FROM schema_migrations ORDER BY version")).scalars().all()
        uniques = conn.execute(sa.text(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'u'"
        )).all()
    engine.dispose()
    assert recorded == first
    assert SEED_TABLES | ADDED_TABLES <= _tables(empty_database_url)
    assert ("user_facts", "UNIQUE (user_id, bot_name, fact_content)") in uniques
    assert ("conversation_summaries", "UNIQUE (user_id, bot_name, start_timestamp, end_timestamp)") in uniques


def test_concurrent_upgrades_from_two_processes(empty_database_url):
    env = {**os.environ, "DATABASE_URL": empty_database_url.replace("postgresql+psycopg2", "postgresql")}
    cmd = [sys.executable, "-m", "whisper_assets", "db", "upgrade"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    applied = sorted(out for out, _ in outs)
    # One process applied everything, the other found nothing left to do.
    assert applied[0].startswith("applied 0 migration") and "001" in applied[1], applied
    engine = sa.create_engine(empty_database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM schema_migrations")).scalar()
    engine.dispose()
    assert count == len(migrations())


def test_constraints_refuse_bad_rows(database_url):
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    bad = sa.text(
        "INSERT INTO user_facts (user_id, bot_name, fact_content, category, confidence, mention_count,"
        " first_seen, last_seen, source_message_ids, model, prompt_version)"
        " VALUES ('u', 'b', 'f', 'occupation', 1.5, 1, now(), now(), '{}', 'm', 'p')"
    )
    with engine.connect() as conn:
        try:
            conn.execute(bad)
            raised = False
        except sa.exc.IntegrityError:
            raised = True
    engine.dispose()
    assert raised


def test_get_engine_migrates_a_fresh_database(empty_database_url, tmp_path):
    # Dagster run workers reach Postgres only through get_engine: a fresh database (such as the
    # embedded one under `dagster dev`) must never be used unmigrated.
    from whisper_assets.settings import load_settings
    from whisper_assets.stores.postgres import get_engine

    get_engine(load_settings(data_dir=tmp_path, database_url=empty_database_url))
    assert SEED_TABLES | ADDED_TABLES <= _tables(empty_database_url)
