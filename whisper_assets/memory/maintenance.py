"""TTL pruning and forgetting a user: plain functions over both stores, with counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from typing import Callable, ContextManager

from sqlalchemy.engine import Engine

from whisper_assets.core.messages import epoch_ms, validate_bot_name, validate_user_id
from whisper_assets.stores.qdrant import MessageStore
from whisper_assets.stores.repository import maintenance as repo
from whisper_assets.stores.repository.enrichment import lock_bots, recompute_user_facts, record_forget
from whisper_assets.stores.repository.maintenance import DAY_TABLES, USER_TABLES

__all__ = ["DAY_TABLES", "USER_TABLES", "PruneReport", "Report", "forget_user", "prune"]


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
        report.postgres.update(repo.rows_before(conn, cutoff))
        report.user_facts = repo.user_facts_going(conn, cutoff)
        if dry_run:
            return report
        affected = repo.users_observed_before(conn, cutoff)
        # What went, should a run have written since the count.
        report.postgres.update(repo.delete_before(conn, cutoff))
        recompute_user_facts(conn, affected)
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
       before drops the user's rows when it writes (`repository.enrichment.drop_forgotten`), and
       the summary vectors it copies after its commit are checked against the record.
    3. Under the lock again: delete the user's rows from every table.
    """
    validate_bot_name(bot)
    validate_user_id(user)
    report = Report()
    with engine.begin() as conn:
        lock_bots(conn, [bot], exclusive=True)
        record_forget(conn, bot, user)
    with open_store() as store:
        report.qdrant.update(store.delete_user(bot, user))
    with engine.begin() as conn:
        lock_bots(conn, [bot], exclusive=True)
        report.postgres.update(repo.delete_user_rows(conn, bot, user))
    return report
