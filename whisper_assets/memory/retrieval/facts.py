"""A user's facts: ranked for a question, or listed (most confident first) with provenance.

Facts have validity periods (core/enrichment/consolidation.py): as of a time, a fact holds when one
of its periods covers it; a period that ended by then is history ("where did I live before?").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Sequence

from whisper_assets.core.llm.schemas import Category
from whisper_assets.core.messages import validate_bot_name, validate_user_id
from whisper_assets.memory.retrieval.limits import MAX_FACTS_SCANNED
from whisper_assets.memory.retrieval.models import FactItem, RecallError, UnknownBotError, fact_item
from whisper_assets.memory.retrieval.query import content_terms
from whisper_assets.stores.repository import consolidation, memories

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from whisper_assets.stores.qdrant import MessageStore
    from whisper_assets.stores.repository.consolidation import FactRecord


@dataclass(frozen=True)
class FactView:
    """One period of a stored fact: its row, that period's bounds and how it ended, and when it was
    last evidenced within it (`as_of`)."""

    record: FactRecord
    status: str
    valid_from: datetime
    valid_to: datetime | None
    as_of: datetime


def _view(r: FactRecord, start: datetime, end: datetime | None, how: str | None,
          now: datetime | None) -> FactView:
    as_of = r.last_seen if now is None or r.last_seen <= now else max(start, r.first_seen)
    if end is not None and as_of > end:
        as_of = start  # said again after this period: this period's own evidence is its start
    return FactView(r, how or "current", start, end, as_of)


def as_of(records: Iterable[FactRecord], now: datetime) -> tuple[list[FactView], list[FactView]]:
    """(facts holding at `now`, periods that ended at or before `now`): a fact superseded or closed
    after `now` still held then (and shows no end); nothing that began after `now` is seen."""
    current, past = [], []
    for r in records:
        for start, end, how in r.periods():
            if start > now:
                continue
            if end is None or end > now:
                current.append(_view(r, start, None, None, now))
            else:
                past.append(_view(r, start, end, how, now))
    return current, past


def without_implied(views: Sequence[FactView]) -> list[FactView]:
    """The views minus each fact another of its category says with more words after the same start
    ("has a sister" beside "has a sister who lives in Lyon", "has a cat" beside "has a cat named
    Miso"): told from different days, consolidation keeps both (they do not mean the same), and the
    shorter one would only repeat the longer. In sorted order a text's extensions follow it."""
    implied: set[int] = set()
    by_category: dict[str, list[tuple[str, int]]] = {}
    for i, v in enumerate(views):
        by_category.setdefault(v.record.category, []).append((v.record.fact.lower(), i))
    for texts in by_category.values():
        texts.sort()
        for (text, i), (after, _) in zip(texts, texts[1:]):
            if after.startswith(text + " "):
                implied.add(i)
    return [v for i, v in enumerate(views) if i not in implied]


def history_views(records: Iterable[FactRecord]) -> list[FactView]:
    """Every period of every fact, by slot or category, then oldest first."""
    views = [_view(r, start, end, how, None) for r in records for start, end, how in r.periods()]
    return sorted(views, key=lambda v: (v.record.slot or "~" + v.record.category, v.valid_from, v.record.fact))


def rank_facts(
    rows: Sequence[FactView], categories: list[Category], terms: set[str], limit: int, bot: str, how: str,
) -> list[FactItem]:
    """Highest relevance first, ties by recency:
    relevance = 2 if the fact's category was routed (so routed facts always come first)
              + the share of the query's content words the fact contains (0-1)
              + 0.5 x confidence + 0.01 x mentions (capped at 10)."""
    rank_of = {c.value: i for i, c in enumerate(categories)}
    scored = []
    for view in rows:
        r = view.record
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
        scored.append((-relevance, -r.last_seen.timestamp(), r.fact, view, matched))
    scored.sort(key=lambda s: s[:3])
    return [fact_item(bot, s[3], -s[0], s[4]) for s in scored[:limit]]


def bot_exists(conn: Connection, bot: str, store: MessageStore | None = None) -> bool:
    """Anything stored for this bot: facts, summaries, enrichment runs (or messages, given a store)."""
    if memories.bot_exists(conn, bot):
        return True
    return store is not None and store.has_messages(bot)


def get_facts(
    bot: str, user: str, category: str | None = None, limit: int = 200, *, engine: Engine | None = None,
    history: bool = False,
) -> list[FactItem]:
    """A user's facts that hold today with provenance, most confident first (optionally one
    category); with `history`, every period of every fact (those that ended too), grouped by slot
    or category, oldest first.

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
        rows = consolidation.fact_records(conn, bot, user, category=category, limit=limit, current_only=not history)
        if not rows and not bot_exists(conn, bot):
            raise UnknownBotError(bot)
    views = history_views(rows) if history else [_view(r, r.valid_from, None, None, None) for r in rows]
    return [fact_item(bot, v, relevance=float(v.record.confidence)) for v in views]
