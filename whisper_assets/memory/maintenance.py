"""TTL pruning and forgetting a user: plain functions over both stores, with counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from typing import Callable, ContextManager

from sqlalchemy.engine import Engine

from whisper_assets.stores.persistence import lock_bots, record_forget, recompute_users
from whisper_assets.core.messages import epoch_ms, validate_bot_name, validate_user_id
from whisper_assets.stores.qdrant import MessageStore

# Every table that holds per-user rows; all but user_facts are partitioned by day.
DAY_TABLES = ("pending_messages", "fact_observations", "conversation_summaries", "summary_embeddings")
USER_TABLES = (*DAY_TABLES, "user_facts")


@dataclass
class Report:
    qdrant: dict[str, int] = field(default_factory=dict)
    postgres: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.qdrant.values()) + sum(self.postgres.values())

    def flat(self) -> dict[str, int]:
        """{"qdrant.messages": n, "postgres.user_facts": n, ...} for logs and metadata."""
        return {f"qdrant.{k}": v for k, v in self.qdrant.items()} | {f"postgres.{k}": v for k, v in self.postgres.items()}


@dataclass
class PruneReport(Report):
    """`postgres`: rows of the day-partitioned tables before the cutoff. `user_facts`: consolidated facts
    that go when they are recomputed without those rows (every observation of the fact was before the
    cutoff); a fact also seen since stays, with its newer evidence only. A dry run counts the same."""

    cutoff: date | None = None
    dry_run: bool = True
    user_facts: int = 0

    @property
    def total(self) -> int:
        return super().total + self.user_facts

    def flat(self) -> dict[str, int]:
        return super().flat() | {"postgres.user_facts": self.user_facts}


# user_facts rows that the recompute without the observations before %(cutoff)s drops: rows of a user
# with observations before the cutoff (the users recomputed) whose fact has no observation since.
# Counted in the same transaction, before the deletes, for the dry run and the real run alike.
_FACTS_GOING = """
SELECT count(*) FROM user_facts f
WHERE EXISTS (SELECT 1 FROM fact_observations o
              WHERE o.bot_name = f.bot_name AND o.user_id = f.user_id AND o.day < %(cutoff)s)
  AND NOT EXISTS (SELECT 1 FROM fact_observations o
                  WHERE o.bot_name = f.bot_name AND o.user_id = f.user_id
                    AND o.fact_content = f.fact_content AND o.day >= %(cutoff)s)
"""


def prune(engine: Engine, store: MessageStore, ttl_days: int, dry_run: bool, now: datetime | None = None) -> PruneReport:
    """Delete everything older than `ttl_days` (whole UTC days before the cutoff).

    Facts consolidated in user_facts are recomputed for the users whose observations went, so
    a fact mentioned only long ago disappears and one mentioned since keeps its newer evidence.
    The report counts every table: points, the day tables' rows, and the user_facts rows that the
    recompute drops (`PruneReport.user_facts`); a dry run counts the same without deleting.
    """
    if ttl_days < 1:
        raise ValueError("ttl_days must be at least 1")
    now = now or datetime.now(timezone.utc)
    cutoff = now.date() - timedelta(days=ttl_days)
    cutoff_ms = epoch_ms(datetime.combine(cutoff, time(0), tzinfo=timezone.utc))
    report = PruneReport(cutoff=cutoff, dry_run=dry_run)
    report.qdrant.update(store.count_older(cutoff_ms))
    with engine.begin() as conn:
        cur = conn.connection.cursor()
        for table in (*DAY_TABLES, "enrichment_metadata"):
            cur.execute(f"SELECT count(*) FROM {table} WHERE day < %s", (cutoff,))
            report.postgres[table] = cur.fetchone()[0]
        cur.execute(_FACTS_GOING, {"cutoff": cutoff})
        report.user_facts = cur.fetchone()[0]
        if dry_run:
            return report
        cur.execute("SELECT DISTINCT bot_name, user_id FROM fact_observations WHERE day < %s", (cutoff,))
        affected: dict[str, list[str]] = {}
        for bot, user in cur.fetchall():
            affected.setdefault(bot, []).append(user)
        for table in (*DAY_TABLES, "enrichment_metadata"):
            cur.execute(f"DELETE FROM {table} WHERE day < %s", (cutoff,))
            report.postgres[table] = cur.rowcount  # what went, should a run have written since the count
        for bot, users in sorted(affected.items()):
            recompute_users(cur, bot, users)
    # After the commit: a crash here leaves only old points, which the next prune removes.
    store.delete_older(cutoff_ms)
    return report


def forget_user(
    engine: Engine, open_store: Callable[[], ContextManager[MessageStore]], bot: str, user: str
) -> Report:
    """Erase one user of one bot everywhere: points, staging, facts, summaries, vectors.

    Every run of the bot writes in one transaction under the bot's exclusive lock (invariant 7), and
    so does each step here; the store is opened only between them (`open_store`), never while
    waiting for the lock, since a run holding the lock may be waiting for the store.
    1. Under the lock (a run of the bot in flight commits first): record the forget (a hash of the
       user id and the time, sql/003), committed.
    2. A turn at the store: delete the user's message and summary points. A run that read them
       before drops the user's rows when it writes (`persistence.drop_forgotten`), and the summary
       vectors it copies after its commit are checked against the record.
    3. Under the lock again: delete the user's rows from every table.
    """
    validate_bot_name(bot)
    validate_user_id(user)
    report = Report()
    with engine.begin() as conn:
        cur = conn.connection.cursor()
        lock_bots(cur, [bot], exclusive=True)
        record_forget(cur, bot, user)
    with open_store() as store:
        report.qdrant.update(store.delete_user(bot, user))
    with engine.begin() as conn:
        cur = conn.connection.cursor()
        lock_bots(cur, [bot], exclusive=True)
        for table in USER_TABLES:
            cur.execute(f"DELETE FROM {table} WHERE bot_name = %s AND user_id = %s", (bot, user))
            report.postgres[table] = cur.rowcount
    return report
