"""The bot-side write: validate, embed, upsert with `enrichment_status: pending`.

No LLM and no Postgres here (ARCHITECTURE.md, invariant 1). Two ways to call it:
- `MessageWriter` holds the store open: millisecond writes for a bot process that owns the
  embedded store, or any number of writers against a Qdrant server.
- `store_message()` / `store_messages()` take one turn at the store per call: embed first,
  then lock, upsert, close — for occasional writers sharing the embedded store.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, Sequence

import numpy as np

from whisper_assets.embedding import Embedder, get_embedder
from whisper_assets.messages import InvalidMessageError, Message, new_message
from whisper_assets.settings import Settings, get_settings
from whisper_assets.stores.qdrant import MessageStore, open_store


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
        max_chars=settings.max_message_chars,
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
    """Writes through a store that stays open for the writer's lifetime."""

    def __init__(self, store: MessageStore, embedder: Embedder, settings: Settings) -> None:
        self.store, self.embedder, self.settings = store, embedder, settings

    def store_message(
        self, bot: str, user: str, role: str, content: str,
        timestamp: datetime | None = None, message_id: str | None = None,
    ) -> str:
        return self.store_messages([MessageIn(bot, user, role, content, timestamp, message_id)])[0]

    def store_messages(self, items: Sequence[MessageIn]) -> list[str]:
        messages = validate_all(items, self.settings)
        self.store.upsert_messages(messages, embed(messages, self.embedder))
        return [m.message_id for m in messages]


@contextlib.contextmanager
def message_writer(settings: Settings | None = None) -> Iterator[MessageWriter]:
    """Hold the store open for many writes (the embedded store excludes other processes meanwhile)."""
    settings = settings or get_settings()
    embedder = get_embedder(settings.torch_threads)
    with open_store(settings) as store:
        yield MessageWriter(store, embedder, settings)


def store_messages(items: Sequence[MessageIn], settings: Settings | None = None) -> list[str]:
    """Validate and embed outside the store lock, then take one short turn to upsert."""
    settings = settings or get_settings()
    messages = validate_all(items, settings)
    vectors = embed(messages, get_embedder(settings.torch_threads))
    with open_store(settings) as store:
        store.upsert_messages(messages, vectors)
    return [m.message_id for m in messages]


def store_message(
    bot: str, user: str, role: str, content: str,
    timestamp: datetime | None = None, message_id: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Store one message; returns its id (re-sending the same id never duplicates)."""
    return store_messages([MessageIn(bot, user, role, content, timestamp, message_id)], settings)[0]
