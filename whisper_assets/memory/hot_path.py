"""The bot-side write: validate, embed, upsert with `enrichment_status: pending`.

No LLM and no Postgres here (ARCHITECTURE.md, invariant 1). Two ways to call it:
- `message_writer()` / `MessageWriter`: a writer a bot process keeps for its whole life.
- `store_message()` / `store_messages()`: one-off calls; they go through one writer per store
  that this process shares (`shared_writer`), so calls a few seconds apart do not reopen the store.
How a writer holds and hands back the embedded store: `memory/writer.py`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from datetime import datetime
from typing import Iterator, Sequence

from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.settings import Settings, get_settings
from whisper_assets.memory.writer import (
    HANDOFF_S,
    IDLE_RELEASE_S,
    MAX_HOLD_S,
    MessageIn,
    MessageWriter,
    embed,
    open_writers,
    validate,
    validate_all,
)
from whisper_assets.stores.qdrant import MessageStore, StoreBusyError, StoreError

# The API bots call; the writer's names are re-exported here so a bot imports one module.
__all__ = [
    "HANDOFF_S", "IDLE_RELEASE_S", "MAX_HOLD_S", "MessageIn", "MessageWriter", "close_shared_writers", "embed",
    "message_writer", "shared_store", "shared_writer", "store_message", "store_messages", "validate",
    "validate_all",
]

_SHARED: dict[tuple, MessageWriter] = {}
_SHARED_LOCK = threading.Lock()


def _store_key(settings: Settings) -> tuple:
    where = settings.qdrant_url or str(settings.resolved_qdrant_path)
    return (where, settings.messages_collection, settings.summaries_collection)


def shared_writer(settings: Settings | None = None) -> MessageWriter:
    """A writer for the store `settings` names: one this process holds open already (e.g. a
    `message_writer()`), else this process's shared writer (created on first use, default timings).
    Two writers of one store in one process would make each other reopen it."""
    settings = settings or get_settings()
    key = _store_key(settings)
    for writer in open_writers():
        if _store_key(writer.settings) == key:
            return writer
    return _own_shared_writer(settings)


def _own_shared_writer(settings: Settings) -> MessageWriter:
    key = _store_key(settings)
    with _SHARED_LOCK:
        writer = _SHARED.get(key)
        if writer is None or writer.closed:
            writer = _SHARED[key] = MessageWriter(settings)
        return writer


@contextlib.contextmanager
def shared_store(settings: Settings | None = None, lock_timeout_s: float | None = None) -> Iterator[MessageStore]:
    """The store through `shared_writer(settings)`: free if it is open, else one open that later
    calls within the idle window reuse. StoreBusyError when the lock stays busy `lock_timeout_s`."""
    settings = settings or get_settings()
    with contextlib.ExitStack() as stack:
        try:
            store = stack.enter_context(shared_writer(settings).holding(lock_timeout_s))
        except StoreError as exc:
            if isinstance(exc, StoreBusyError) or "closed" not in str(exc):
                raise
            # the open writer we picked was closed by its owner meanwhile: use the shared one
            store = stack.enter_context(_own_shared_writer(settings).holding(lock_timeout_s))
        yield store


def close_shared_writers() -> None:
    """Hand back every store this process's one-off calls hold (also run at interpreter exit)."""
    with _SHARED_LOCK:
        writers = list(_SHARED.values())
        _SHARED.clear()
    for writer in writers:
        writer.close()


# Registered after the writer module's own hook, so it runs first: shared writers close before
# the remaining live ones, as one hook did before.
atexit.register(close_shared_writers)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_SHARED.clear)  # the writers themselves: writer.py


@contextlib.contextmanager
def message_writer(settings: Settings | None = None, **timings: float) -> Iterator[MessageWriter]:
    """A writer for many writes; it hands the store back between bursts and on exit.

    `timings`: idle_release_s, max_hold_s, lock_timeout_s (see MessageWriter)."""
    writer = MessageWriter(settings, **timings)
    try:
        yield writer
    finally:
        writer.close()


def store_messages(items: Sequence[MessageIn], settings: Settings | None = None) -> list[str]:
    """Validate and embed without the store, then upsert through this process's shared writer
    (the store stays open IDLE_RELEASE_S for the next call)."""
    settings = settings or get_settings()
    messages = validate_all(items, settings)
    vectors = embed(messages, get_embedder(settings.torch_threads))
    if messages:
        with shared_store(settings) as store:
            store.upsert_messages(messages, vectors)
    return [m.message_id for m in messages]


def store_message(
    bot: str, user: str, role: str, content: str,
    timestamp: datetime | None = None, message_id: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Store one message; returns its id (re-sending the same id never duplicates)."""
    return store_messages([MessageIn(bot, user, role, content, timestamp, message_id)], settings)[0]
