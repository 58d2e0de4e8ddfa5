"""The hot path's writer: validated, embedded messages upserted as pending points, through a store
it opens on demand and hands back between bursts (`hot_path` is the API bots call).

A writer opens the store on the first write and keeps it open while writes keep coming, so
writes cost the embedding plus ~0.2 ms. The embedded store (qdrant-edge) is single-process,
so the writer hands it back (flush, close, release the file lock):
- after `idle_release_s` without a write (default IDLE_RELEASE_S);
- when another process waits for the store (it leaves a mark, see `stores.qdrant.WANT_FILE`)
  and the writer has held it for `max_hold_s` (default MAX_HOLD_S), even under continuous
  writes; the writer then lets HANDOFF_S pass before it reopens, so the waiting process gets
  its turn;
- at once when this process itself calls `open_store` on the same store;
- on `close()`, on leaving `message_writer()`, and at interpreter exit.
The next write after a hand-back reopens the store (0.40 s at 100k points, 2.3 s at 1M:
benchmarks/results/hot_path_release.json, MEASUREMENTS.md). Opens and closes run on one
background thread per writer, because the file lock belongs to the thread that took it.
With a Qdrant server (QDRANT_URL) the same writer simply keeps its client between writes.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from whisper_assets.core.embedding import Embedder, get_embedder
from whisper_assets.core.messages import InvalidMessageError, Message, new_message
from whisper_assets.core.settings import Settings, get_settings
from whisper_assets.stores.qdrant import (
    WANT_FILE,
    MessageStore,
    StoreBusyError,
    StoreError,
    open_store,
    register_store_holder,
)

log = logging.getLogger(__name__)

# Defaults picked with benchmarks/hot_path.py --sweep (benchmarks/results/hot_path_release.json).

IDLE_RELEASE_S = 5.0
"""Hand the store back after this long without a write. One-off calls 0.2-2 s apart at 100k
points reopened the store on 34 of 40 calls at 0.5 s (p50 640 ms), 25 at 1 s (551 ms), 3 at 2 s
(22 ms) and 1 at 5 s (33 ms; p99 0.40 s against 0.67 s at 2 s). 5 s also covers a bot's reply
written after an LLM answer of a few seconds. An idle store held open costs other processes
little: they ask for it and get it (MAX_HOLD_S)."""
MAX_HOLD_S = 1.0
"""When another process waits for the store, hand it back once it has been held this long,
even if writes keep coming. With another process taking a turn every 2-4 s while a writer wrote
20 messages/s, its lock wait p50/p99 was 0.20/0.45 s at 0.5 s, 0.28/0.41 s at 1 s, 0.18/0.51 s
at 2 s and 2.6/3.0 s at 5 s (mostly the writer's close); below 2 s the figures do not differ, so
1 s bounds the wait when turns come back to back while the writer keeps the store at least 1 s
between other processes' turns."""
HANDOFF_S = 0.15
"""After handing the store back on request, wait this long before reopening: a waiting
process polls the lock every 50 ms (filelock), so it gets its turn."""
LOCK_TIMEOUT_S = 300.0
"""How long a write waits for the store when another process holds it (as `open_store`)."""
_OPEN_SLICE_S = 0.1  # the background thread retries the lock in slices, so waiters may give up


@dataclass
class WriterStats:
    """What a writer did with the store (for benchmarks and tests)."""

    opens: int = 0
    open_s: float = 0.0  # total time spent opening (lock wait included)
    held_s: float = 0.0  # total time the store was held open (until each hand-back)
    released_idle: int = 0
    released_asked: int = 0  # another process asked and max_hold_s had passed
    released_in_process: int = 0  # open_store() in this process, or close()


@dataclass(frozen=True)
class MessageIn:
    """One message as a caller hands it in (validated by `validate`)."""

    bot: str
    user: str
    role: str
    content: str
    timestamp: datetime | None = None
    message_id: str | None = None


def validate(item: MessageIn, settings: Settings) -> Message:
    return new_message(
        item.bot, item.user, item.role, item.content, item.timestamp, item.message_id,
        max_chars=settings.max_message_chars, earliest_day=settings.first_day,
    )


def validate_all(items: Sequence[MessageIn], settings: Settings) -> list[Message]:
    """All or nothing: one bad message refuses the batch, naming its position."""
    out = []
    for i, item in enumerate(items):
        try:
            out.append(validate(item, settings))
        except InvalidMessageError as exc:
            raise InvalidMessageError(f"message {i}: {exc}") from None
    return out


def embed(messages: Sequence[Message], embedder: Embedder) -> np.ndarray:
    return embedder.encode([m.content for m in messages])


class MessageWriter:
    """Writes through a store it opens on demand and hands back between bursts (module docstring).

    Thread-safe: any number of threads may write; embedding runs outside the writer's lock.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        *,
        idle_release_s: float = IDLE_RELEASE_S,
        max_hold_s: float = MAX_HOLD_S,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        if idle_release_s <= 0 or max_hold_s <= 0 or lock_timeout_s < 0:
            raise ValueError("idle_release_s and max_hold_s must be > 0, lock_timeout_s >= 0")
        self.settings = settings or get_settings()
        self._embedder = embedder
        self.idle_release_s = idle_release_s
        self.max_hold_s = max_hold_s
        self.lock_timeout_s = lock_timeout_s
        self.stats = WriterStats()
        self._embedded = not self.settings.qdrant_url
        self._root: Path | None = self.settings.resolved_qdrant_path if self._embedded else None
        self._cond = threading.Condition()
        self._store: MessageStore | None = None
        self._cm: Any = None  # the open_store() context the store came from
        self._opening = False
        self._closing = False
        self._waiting = 0  # callers waiting for the store to open
        self._users: dict[int, int] = {}  # thread id -> depth of holding() blocks
        self._opened_at = 0.0  # monotonic
        self._opened_wall = 0.0  # wall clock, compared with the WANT_FILE mark's mtime
        self._last_use = 0.0
        self._no_open_before = 0.0
        self._hand_back = False
        self._closed = False
        self._failures = 0
        self._failure: BaseException | None = None
        self._attempts = 0  # open attempts started
        self._attempts_done = 0
        self._thread: threading.Thread | None = None
        if self._embedded:
            register_store_holder(self)
        _LIVE.add(self)

    # -- writing ------------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.torch_threads)
        return self._embedder

    def store_message(
        self, bot: str, user: str, role: str, content: str,
        timestamp: datetime | None = None, message_id: str | None = None,
    ) -> str:
        return self.store_messages([MessageIn(bot, user, role, content, timestamp, message_id)])[0]

    def store_messages(self, items: Sequence[MessageIn]) -> list[str]:
        """Validate and embed without the store, then upsert (opening the store if needed)."""
        messages = validate_all(items, self.settings)
        self.upsert(messages, embed(messages, self.embedder))
        return [m.message_id for m in messages]

    def upsert(self, messages: Sequence[Message], vectors: np.ndarray) -> None:
        """Upsert messages validated and embedded by the caller."""
        if not messages:
            return
        with self.holding() as store:
            store.upsert_messages(messages, vectors)

    # -- the store ------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """The store is open (or being closed) by this writer."""
        return self._store is not None or self._closing

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def store(self) -> MessageStore:
        """The open store, opened now if it was handed back. It stays open for at least
        `idle_release_s` from now; for longer work use `with writer.holding() as store:`."""
        with self.holding() as store:
            return store

    @contextlib.contextmanager
    def holding(self, lock_timeout_s: float | None = None) -> Iterator[MessageStore]:
        """The open store, kept open for the block (opened if needed, waiting at most
        `lock_timeout_s` for another process: StoreBusyError). Keep blocks short; never call
        `open_store` for the same store inside one (it would wait for this block)."""
        me = threading.get_ident()
        timeout = self.lock_timeout_s if lock_timeout_s is None else lock_timeout_s
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._closed:
                raise StoreError("this MessageWriter is closed")
            if self._users.get(me):  # nested in this thread: the store is pinned already
                self._users[me] += 1
            else:
                self._wait_open(deadline, timeout)
                self._users[me] = 1
            store = self._store
        try:
            yield store
        finally:
            with self._cond:
                self._users[me] -= 1
                if not self._users[me]:
                    del self._users[me]
                self._last_use = time.monotonic()
                self._cond.notify_all()

    def _wait_open(self, deadline: float, timeout: float) -> None:  # under self._cond
        # The timeout bounds the wait for the lock, not the load: an open attempt under way at
        # the deadline (lock wait <= _OPEN_SLICE_S, then the load) is waited for.
        failures, give_up_after = self._failures, None
        self._waiting += 1
        try:
            while self._store is None:
                if self._closed:
                    raise StoreError("this MessageWriter was closed while waiting for the store")
                if self._failures != failures and self._failure is not None:
                    raise self._failure
                now = time.monotonic()
                if now >= deadline:
                    if give_up_after is None:
                        give_up_after = self._attempts if self._opening else self._attempts_done
                    if self._attempts_done >= give_up_after:
                        raise StoreBusyError(
                            f"the embedded Qdrant store at {self._root} stayed locked by another "
                            f"process for {timeout:g} s; use a Qdrant server (QDRANT_URL) for "
                            "many concurrent writers"
                        )
                self._start_thread()
                self._cond.notify_all()
                self._cond.wait(min(deadline - now, 1.0) if now < deadline else 1.0)
        finally:
            self._waiting -= 1

    def hand_back(self, root: Path) -> None:
        """Close the store if it is open at `root` (called by `open_store` in this process)."""
        if self._root is None or Path(root) != self._root:
            return
        with self._cond:
            if self._thread is not None and threading.get_ident() == self._thread.ident:
                return  # our own open
            if self._store is None and not (self._opening or self._closing):
                return
            if self._users.get(threading.get_ident()):
                raise StoreError(
                    "open_store() inside MessageWriter.holding() in the same thread would wait for "
                    "itself; use the store the block holds"
                )
            self._hand_back = True
            self._no_open_before = time.monotonic() + HANDOFF_S
            self._cond.notify_all()
            while self._store is not None or self._opening or self._closing:
                self._cond.wait(1.0)

    def close(self) -> None:
        """Hand the store back (flush, close, release the lock) and refuse further writes."""
        with self._cond:
            if self._users.get(threading.get_ident()):
                raise StoreError("close() inside MessageWriter.holding() would wait for itself")
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        _LIVE.discard(self)

    def __enter__(self) -> MessageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the background thread: every open and close happens here --------------------------------

    def _start_thread(self) -> None:  # under self._cond
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="whisper-message-writer", daemon=True)
            self._thread.start()

    def _asked(self) -> bool:
        """Has another process waited for the store since we opened it?"""
        if self._root is None:
            return False
        try:
            return (self._root / WANT_FILE).stat().st_mtime > self._opened_wall
        except OSError:
            return False

    def _run(self) -> None:
        c = self._cond
        with c:
            try:
                while True:
                    now = time.monotonic()
                    if self._store is None:
                        if not self._waiting or self._closed:
                            return
                        if now < self._no_open_before:
                            c.wait(self._no_open_before - now)
                            continue
                        self._open_unlocked()
                        continue
                    if self._users:
                        c.wait()
                        continue
                    reason = self._release_reason(now)
                    if reason:
                        self._release_unlocked(reason)
                        continue
                    c.wait(self._next_check(now))
            finally:
                self._thread = None
                c.notify_all()

    def _release_reason(self, now: float) -> str | None:
        if self._closed or self._hand_back:
            return "in_process"
        if now - self._last_use >= self.idle_release_s:
            return "idle"
        if now - self._opened_at >= self.max_hold_s and self._asked():
            return "asked"
        return None

    def _next_check(self, now: float) -> float:
        idle_at = self._last_use + self.idle_release_s
        if self._root is None:
            return max(idle_at - now, 0.001)
        ask_from = self._opened_at + self.max_hold_s  # from then on, look for a waiting process
        check_at = max(ask_from, now + _ASK_POLL_S) if now >= ask_from else ask_from
        return max(min(idle_at, check_at) - now, 0.001)

    def _open_unlocked(self) -> None:
        """Open the store (called with the condition held; released while opening)."""
        self._opening = True
        self._attempts += 1
        self._cond.release()
        cm = store = error = None
        t = time.perf_counter()
        try:
            cm = open_store(self.settings, lock_timeout_s=_OPEN_SLICE_S)
            store = cm.__enter__()
        except StoreBusyError:
            pass  # retried while anyone still waits
        except BaseException as exc:  # a broken store: every waiter gets the error
            error = exc
        finally:
            self._cond.acquire()
            self._opening = False
            self._attempts_done += 1
        self.stats.open_s += time.perf_counter() - t
        if store is not None:  # a hand-back asked for meanwhile still happens after this use
            self._store, self._cm = store, cm
            self._opened_at = self._last_use = time.monotonic()
            self._opened_wall = time.time()
            self.stats.opens += 1
        else:
            self._hand_back = False
            if error is not None:
                self._failure, self._failures = error, self._failures + 1
                self._no_open_before = time.monotonic() + 0.5  # let the waiters see it first
        self._cond.notify_all()

    def _release_unlocked(self, reason: str) -> None:
        cm = self._cm
        self._store = self._cm = None
        self._closing = True
        self.stats.held_s += time.monotonic() - self._opened_at
        self._cond.release()
        try:
            cm.__exit__(None, None, None)
        except Exception:  # the lock is released by open_store's finally; report and go on
            log.exception("closing the message store failed")
        finally:
            self._cond.acquire()
        if reason == "idle":
            self.stats.released_idle += 1
        else:  # someone is waiting: let them take the lock before we reopen
            self._no_open_before = time.monotonic() + HANDOFF_S
            if reason == "asked":
                self.stats.released_asked += 1
            else:
                self.stats.released_in_process += 1
        self._hand_back = self._closing = False
        self._cond.notify_all()


_ASK_POLL_S = 0.05  # how often a writer past max_hold_s looks for a waiting process (one stat call)
_LIVE: weakref.WeakSet[MessageWriter] = weakref.WeakSet()

@atexit.register
def _close_live() -> None:
    for writer in list(_LIVE):
        with contextlib.suppress(Exception):
            writer.close()


def open_writers() -> list[MessageWriter]:
    """This process's writers that hold their store open now."""
    return [w for w in list(_LIVE) if w.is_open and not w.closed]


def _forget_after_fork() -> None:
    # A forked child must not use, flush or close the parent's open shards (the parent owns the
    # lock); keep the inherited objects alive and start afresh.
    for writer in list(_LIVE):
        _INHERITED.append((writer, writer._store, writer._cm))
        writer._cond = threading.Condition()
        writer._closed, writer._thread, writer._store, writer._cm = True, None, None, None
        writer._opening, writer._closing, writer._users, writer._waiting = False, False, {}, 0
    _LIVE.clear()


_INHERITED: list[tuple[MessageWriter, Any, Any]] = []
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
