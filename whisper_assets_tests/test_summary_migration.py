"""sql/004: summaries written before it learn when their last message was said -- the latest of
their source messages still staged, else their window's end (never earlier than what they hold)."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from whisper_assets.stores.postgres import migrations, sql_dir, upgrade

UTC = timezone.utc
START = datetime(2025, 4, 2, tzinfo=UTC)
END = START + timedelta(days=1)


def test_existing_summaries_are_backfilled_from_their_staged_sources_else_their_window_end(
        empty_database_url, tmp_path):
    before = tmp_path / "sql"
    before.mkdir()
    for m in migrations():
        if m.version < "004":
            shutil.copy(m.path, before / m.path.name)
    engine = sa.create_engine(empty_database_url)
    try:
        upgrade(engine, before)
        staged, pruned = str(uuid.uuid4()), str(uuid.uuid4())
        with engine.begin() as conn:
            for mid, minute in ((staged, 30), (str(uuid.uuid4()), 50)):  # the second is cited by no summary
                conn.execute(sa.text(
                    "INSERT INTO pending_messages (message_id, bot_name, day, user_id, role, content, ts, vector)"
                    " VALUES (:id, 'bot', :d, 'Maya', 'user', 'a turn', :ts, '\\x00')"),
                    {"id": mid, "d": START.date(), "ts": START + timedelta(hours=9, minutes=minute)})
            for user, sources in (("Maya", [staged, pruned]), ("Omar", [pruned])):
                conn.execute(sa.text(
                    "INSERT INTO conversation_summaries (user_id, bot_name, day, start_timestamp, end_timestamp,"
                    " summary_text, message_count, source_message_ids, model, prompt_version)"
                    " VALUES (:u, 'bot', :d, :s, :e, 'A summary.', 2, CAST(:src AS uuid[]), 'm', 'p')"),
                    {"u": user, "d": START.date(), "s": START, "e": END, "src": sources})
        assert upgrade(engine) == [m.version for m in migrations() if m.version >= "004"]
        with engine.connect() as conn:
            got = dict(conn.execute(sa.text("SELECT user_id, last_message_at FROM conversation_summaries")).all())
            nullable = conn.execute(sa.text(
                "SELECT is_nullable FROM information_schema.columns"
                " WHERE table_name = 'conversation_summaries' AND column_name = 'last_message_at'")).scalar()
        assert got == {"Maya": START + timedelta(hours=9, minutes=30), "Omar": END}
        assert nullable == "NO"
    finally:
        engine.dispose()
    assert (sql_dir() / "004_summary_last_message.sql").is_file()
