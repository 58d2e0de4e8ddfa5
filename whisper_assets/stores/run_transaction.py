"""One writer per bot: everything a run writes to Postgres commits together, under an exclusive
lock on each of its bots (ARCHITECTURE.md, invariant 7).

The lock is the one `forget_user` takes (`repository.enrichment.lock_bots`), so runs of one bot,
whatever launched them (sensor, CLI, UI backfill), and forgets of its users take turns. A second run
waits up to `wait_s`, then fails with a message naming the run that holds the bot; it has written
nothing. The run's statements go through `conn`, the transaction's SQLAlchemy Connection.
"""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from whisper_assets.stores.repository.enrichment import bot_lock_holders, lock_bots, set_local

DEFAULT_WAIT_S = 600.0
_APP_PREFIX = "whisper run "
_LOCK_NOT_AVAILABLE = "55P03"


class BotBusyError(RuntimeError):
    """Another run (or a forget) held the bot's lock for longer than the wait."""


class RunTransaction:
    def __init__(self, engine: Engine, run_id: str, wait_s: float = DEFAULT_WAIT_S) -> None:
        self.run_id, self.wait_s = run_id, wait_s
        self.conn: Connection = engine.connect()
        self.tx = self.conn.begin()
        # Names this session in pg_stat_activity, so a waiting run can say who holds the bot.
        set_local(self.conn, "application_name", _APP_PREFIX + run_id)
        self.bots: set[str] = set()

    @property
    def open(self) -> bool:
        return self.tx.is_active

    def lock(self, bots: Iterable[str]) -> None:
        """Take the bots' locks (sorted, so two runs never deadlock); re-taking one is free."""
        new = sorted(set(bots) - self.bots)
        if not new:
            return
        set_local(self.conn, "lock_timeout", f"{int(self.wait_s * 1000)}ms")
        try:
            lock_bots(self.conn, new, exclusive=True)
        except sa.exc.DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) != _LOCK_NOT_AVAILABLE:
                raise
            self.rollback()
            raise BotBusyError(
                f"bot(s) {', '.join(new)}: another run is writing ({self._holders(new)}); waited "
                f"{self.wait_s:.0f} s, gave up; this run wrote nothing and its points stay pending"
            ) from None
        set_local(self.conn, "lock_timeout", "0")
        self.bots.update(new)

    def _holders(self, bots: list[str]) -> str:
        # After the rollback: a short transaction of its own, on the same connection.
        names = bot_lock_holders(self.conn, bots)
        self.conn.rollback()
        runs = [n[len(_APP_PREFIX):] for n in names if n.startswith(_APP_PREFIX)]
        if runs:
            return "run " + ", ".join(runs)
        return "a forget or a process without a run id" if names else "the holder has finished meanwhile"

    def commit(self) -> None:
        if self.tx.is_active:
            self.tx.commit()
        self.conn.close()

    def rollback(self) -> None:
        if self.tx.is_active:
            self.tx.rollback()

    def close(self) -> None:
        self.rollback()
        self.conn.close()
