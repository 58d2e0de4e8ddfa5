"""A user's facts: ranked for a question, or listed (most confident first) with provenance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from whisper_assets.core.llm.schemas import Category
from whisper_assets.core.messages import validate_bot_name, validate_user_id
from whisper_assets.memory.retrieval.limits import MAX_FACTS_SCANNED
from whisper_assets.memory.retrieval.models import FactItem, RecallError, UnknownBotError, fact_item
from whisper_assets.memory.retrieval.query import content_terms
from whisper_assets.stores.repository import memories

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from whisper_assets.stores.qdrant import MessageStore
    from whisper_assets.stores.repository.memories import FactRow


def rank_facts(
    rows: Sequence[FactRow], categories: list[Category], terms: set[str], limit: int, bot: str, how: str,
) -> list[FactItem]:
    """Highest relevance first, ties by recency:
    relevance = 2 if the fact's category was routed (so routed facts always come first)
              + the share of the query's content words the fact contains (0-1)
              + 0.5 x confidence + 0.01 x mentions (capped at 10)."""
    rank_of = {c.value: i for i, c in enumerate(categories)}
    scored = []
    for r in rows:
        matched = []
        routed = r.category in rank_of
        if routed:
            matched.append(f"category {r.category} ({how})")
        overlap = terms & content_terms(r.fact) if terms else set()
        if overlap:
            matched.append("words: " + ", ".join(sorted(overlap)))
        relevance = (
            (2.0 - rank_of[r.category] / 100 if routed else 0.0)
            + (len(overlap) / max(len(terms), 1) if overlap else 0.0)
            + 0.5 * float(r.confidence) + 0.01 * min(int(r.mention_count), 10)
        )
        scored.append((-relevance, -r.last_seen.timestamp(), r.fact, r, matched))
    scored.sort(key=lambda s: s[:3])
    return [fact_item(bot, s[3], -s[0], s[4]) for s in scored[:limit]]


def bot_exists(conn: Connection, bot: str, store: MessageStore | None = None) -> bool:
    """Anything stored for this bot: facts, summaries, enrichment runs (or messages, given a store)."""
    if memories.bot_exists(conn, bot):
        return True
    return store is not None and store.has_messages(bot)


def get_facts(
    bot: str, user: str, category: str | None = None, limit: int = 200, *, engine: Engine | None = None
) -> list[FactItem]:
    """A user's facts with provenance, most confident first (optionally one category).

    Raises InvalidMessageError, RecallError (unknown category, limit out of range) or UnknownBotError.
    """
    validate_bot_name(bot)
    validate_user_id(user)
    if category is not None:
        try:
            category = Category(category).value
        except ValueError:
            raise RecallError(
                f"unknown category {category!r}: use one of {', '.join(c.value for c in Category)}"
            ) from None
    if not 1 <= limit <= MAX_FACTS_SCANNED:
        raise RecallError(f"limit must be between 1 and {MAX_FACTS_SCANNED}")
    if engine is None:
        from whisper_assets.core.settings import get_settings
        from whisper_assets.stores.postgres import get_engine

        engine = get_engine(get_settings())
    with engine.connect() as conn:
        rows = memories.facts(conn, bot, user, category=category, limit=limit)
        if not rows and not bot_exists(conn, bot):
            raise UnknownBotError(bot)
    return [fact_item(bot, r, relevance=float(r.confidence)) for r in rows]
