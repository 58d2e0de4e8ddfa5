"""One writer per bot: everything a run writes to Postgres commits together, under an exclusive
lock on each of its bots (ARCHITECTURE.md, invariant 7).

The lock is the one `forget_user` takes (`persistence.lock_bots`), so runs of one bot, whatever
launched them (sensor, CLI, UI backfill), and forgets of its users take turns. A second run waits
up to `wait_s`, then fails with a message naming the run that holds the bot; it has written nothing.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.engine import Engine

from whisper_assets.stores.persistence import lock_bots

DEFAULT_WAIT_S = 600.0
_APP_PREFIX = "whisper run "


class BotBusyError(RuntimeError):
    """Another run (or a forget) held the bot's lock for longer than the wait."""


class RunTransaction:
    def __init__(self, engine: Engine, run_id: str, wait_s: float = DEFAULT_WAIT_S) -> None:
        self.run_id, self.wait_s = run_id, wait_s
        self.conn = engine.connect()
        self.tx = self.conn.begin()
        self.cursor: Any = self.conn.connection.cursor()
        # Names this session in pg_stat_activity, so a waiting run can say who holds the bot.
        self.cursor.execute("SELECT set_config('application_name', %s, true)", (_APP_PREFIX + run_id,))
        self.bots: set[str] = set()

    @property
    def open(self) -> bool:
        return self.tx.is_active

    def lock(self, bots: Iterable[str]) -> None:
        """Take the bots' locks (sorted, so two runs never deadlock); re-taking one is free."""
        new = sorted(set(bots) - self.bots)
        if not new:
            return
        self.cursor.execute("SELECT set_config('lock_timeout', %s, true)", (f"{int(self.wait_s * 1000)}ms",))
        try:
            lock_bots(self.cursor, new, exclusive=True)
        except Exception as exc:
            if getattr(exc, "pgcode", None) != "55P03":  # lock_not_available
                raise
            self.rollback()
            raise BotBusyError(
                f"bot(s) {', '.join(new)}: another run is writing ({self._holders(new)}); waited "
                f"{self.wait_s:.0f} s, gave up; this run wrote nothing and its points stay pending"
            ) from None
        self.cursor.execute("SELECT set_config('lock_timeout', '0', true)")
        self.bots.update(new)

    def _holders(self, bots: list[str]) -> str:
        cur = self.conn.connection.cursor()
        cur.execute(
            "SELECT DISTINCT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND ((l.classid::bigint << 32) | l.objid::bigint) = ANY(SELECT hashtext('forget:' || b)::bigint"
            " FROM unnest(%s::text[]) AS b)",
            (bots,),
        )
        names = [r[0] for r in cur.fetchall()]
        self.conn.connection.rollback()
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
