"""Maintenance statements: the TTL prune's counts and deletes, and erasing one user's rows.

The locks and the user_facts recompute they need are the enrichment's own
(`enrichment.lock_bots`, `enrichment.recompute_user_facts`), so runs, prunes and forgets take turns.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Every table that holds per-user rows; all but user_facts are partitioned by day.
DAY_TABLES = ("pending_messages", "fact_observations", "conversation_summaries", "summary_embeddings")
USER_TABLES = (*DAY_TABLES, "user_facts")
# What the TTL prune deletes by day: the day tables and the run records.
PRUNED_TABLES = (*DAY_TABLES, "enrichment_metadata")

# user_facts rows that the recompute without the observations before :cutoff drops: rows of a user
# with observations before the cutoff (the users recomputed) whose fact has no observation since.
# Counted in the same transaction, before the deletes, for the dry run and the real run alike.
_FACTS_GOING = sa.text("""
SELECT count(*) FROM user_facts f
WHERE EXISTS (SELECT 1 FROM fact_observations o
              WHERE o.bot_name = f.bot_name AND o.user_id = f.user_id AND o.day < :cutoff)
  AND NOT EXISTS (SELECT 1 FROM fact_observations o
                  WHERE o.bot_name = f.bot_name AND o.user_id = f.user_id
                    AND o.fact_content = f.fact_content AND o.day >= :cutoff)
""")


def rows_before(conn: Connection, cutoff: date) -> dict[str, int]:
    """Rows of each pruned table on days before `cutoff`."""
    return {
        table: conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE day < :cutoff"), {"cutoff": cutoff})
        .scalar_one()
        for table in PRUNED_TABLES
    }


def user_facts_going(conn: Connection, cutoff: date) -> int:
    """user_facts rows that recomputing without the observations before `cutoff` removes."""
    return conn.execute(_FACTS_GOING, {"cutoff": cutoff}).scalar_one()


def users_observed_before(conn: Connection, cutoff: date) -> dict[str, list[str]]:
    """bot -> users with fact observations before `cutoff`: whose user_facts a prune recomputes."""
    users: dict[str, list[str]] = {}
    for bot, user in conn.execute(
        sa.text("SELECT DISTINCT bot_name, user_id FROM fact_observations WHERE day < :cutoff"), {"cutoff": cutoff}
    ):
        users.setdefault(bot, []).append(user)
    return users


def delete_before(conn: Connection, cutoff: date) -> dict[str, int]:
    """Delete the pruned tables' rows before `cutoff`; rows deleted per table."""
    return {
        table: conn.execute(sa.text(f"DELETE FROM {table} WHERE day < :cutoff"), {"cutoff": cutoff}).rowcount
        for table in PRUNED_TABLES
    }


def delete_user_rows(conn: Connection, bot: str, user: str) -> dict[str, int]:
    """Delete one user's rows of one bot from every per-user table; rows deleted per table."""
    return {
        table: conn.execute(
            sa.text(f"DELETE FROM {table} WHERE bot_name = :bot AND user_id = :user"), {"bot": bot, "user": user}
        ).rowcount
        for table in USER_TABLES
    }


_SHA256_OF_USER = "encode(sha256(convert_to(user_id, 'UTF8')), 'hex')"


def users_with_sha256(conn: Connection, bot: str, sha256: str) -> set[str]:
    """The user ids of `bot` in any per-user table whose SHA-256 (hex) is `sha256`: how a forget
    named by its hash (the Dagster job, whose run config is kept forever) finds the rows it erases.
    Scans the bot's rows of each table once (a forget is rare)."""
    found: set[str] = set()
    for table in USER_TABLES:
        found.update(conn.execute(sa.text(
            f"SELECT DISTINCT user_id FROM {table} WHERE bot_name = :bot AND {_SHA256_OF_USER} = :sha"
        ), {"bot": bot, "sha": sha256}).scalars())
    return found


def record_forget_sha256(conn: Connection, bot: str, sha256: str) -> None:
    """`enrichment.record_forget` for a user known only by the hash (sql/003 keeps nothing else)."""
    conn.execute(sa.text(
        "INSERT INTO forgotten_users (bot_name, user_sha256, forgotten_at) VALUES (:bot, :sha, clock_timestamp())"
        " ON CONFLICT (bot_name, user_sha256) DO UPDATE SET forgotten_at = EXCLUDED.forgotten_at"
    ), {"bot": bot, "sha": sha256})
