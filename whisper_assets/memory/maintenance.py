"""TTL pruning and forgetting a user: plain functions over both stores, with counts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from typing import Callable, ContextManager

from sqlalchemy.engine import Engine

from whisper_assets.core.messages import epoch_ms, validate_bot_name, validate_user_id
from whisper_assets.stores.qdrant import MessageStore
from whisper_assets.stores.repository import maintenance as repo
from whisper_assets.stores.repository.enrichment import lock_bots, recompute_user_facts, record_forget, user_sha256
from whisper_assets.stores.repository.maintenance import DAY_TABLES, USER_TABLES

__all__ = ["DAY_TABLES", "USER_TABLES", "PruneReport", "Report", "forget_user", "forget_user_by_sha256", "prune",
           "user_sha256"]

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


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

    def add(self, other: Report) -> None:
        for mine, theirs in ((self.qdrant, other.qdrant), (self.postgres, other.postgres)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n


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
    2. A turn at the store: delete the user's message and summary points and rewrite both
       collections (`MessageStore.delete_user`: the embedded engine's write-ahead log and segments
       keep deleted points until then; ~1 s at 10k points, ~9 s at 100k). A run that read them
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


def forget_user_by_sha256(
    engine: Engine, open_store: Callable[[], ContextManager[MessageStore]], bot: str, sha256: str
) -> Report:
    """`forget_user` for a user named by the SHA-256 (hex, of the UTF-8 id) — what the Dagster job
    takes, since Dagster keeps a run's config forever and the plain id must not outlive the forget.
    The hash is what `forgotten_users` keeps anyway. The id is found among the bot's user ids
    (Postgres rows, Qdrant points); when none matches, the forget is still recorded (a run in flight
    drops the user's rows) and the store still compacted (finishing an interrupted forget)."""
    validate_bot_name(bot)
    if not SHA256_HEX.fullmatch(sha256):
        raise ValueError("user_sha256 must be the SHA-256 of the user id: 64 lower-case hex digits")
    with engine.connect() as conn:
        users = repo.users_with_sha256(conn, bot, sha256)
    with open_store() as store:
        users |= store.users_with_sha256(bot, sha256)
    report = Report(qdrant={"messages": 0, "summaries": 0}, postgres=dict.fromkeys(USER_TABLES, 0))
    if not users:
        with engine.begin() as conn:
            lock_bots(conn, [bot], exclusive=True)
            repo.record_forget_sha256(conn, bot, sha256)
        with open_store() as store:
            store.compact()
        return report
    for user in sorted(users):  # one, unless SHA-256 collides
        report.add(forget_user(engine, open_store, bot, user))
    return report
