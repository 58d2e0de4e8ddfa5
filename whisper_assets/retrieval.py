"""Reading memories back: a user's facts and summaries, always scoped to one bot and one user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from whisper_assets.llm.schemas import Category
from whisper_assets.messages import validate_bot_name, validate_user_id


@dataclass(frozen=True)
class FactRow:
    category: str
    fact: str
    confidence: float
    mention_count: int
    first_seen: datetime
    last_seen: datetime
    source_message_ids: tuple[str, ...]
    model: str
    prompt_version: str


@dataclass(frozen=True)
class SummaryRow:
    day: str
    start: datetime
    end: datetime
    text: str
    topics: tuple[str, ...]
    message_count: int
    source_message_ids: tuple[str, ...]
    model: str
    prompt_version: str


def list_facts(engine: Engine, bot: str, user: str, category: str | None = None, limit: int = 200) -> list[FactRow]:
    """Facts by category, most confident first."""
    validate_bot_name(bot)
    validate_user_id(user)
    if category is not None:
        Category(category)  # raises ValueError naming the unknown category
    query = sa.text(
        "SELECT category, fact_content, confidence, mention_count, first_seen, last_seen,"
        " source_message_ids, model, prompt_version FROM user_facts"
        " WHERE bot_name = :bot AND user_id = :user AND (CAST(:cat AS text) IS NULL OR category = :cat)"
        " ORDER BY category, confidence DESC, mention_count DESC, fact_content LIMIT :limit"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"bot": bot, "user": user, "cat": category, "limit": limit}).all()
    return [FactRow(r[0], r[1], r[2], r[3], r[4], r[5], tuple(map(str, r[6])), r[7], r[8]) for r in rows]


def list_summaries(
    engine: Engine, bot: str, user: str, start: datetime | None = None, end: datetime | None = None,
    limit: int = 100,
) -> list[SummaryRow]:
    """Summaries whose window overlaps [start, end), oldest first."""
    validate_bot_name(bot)
    validate_user_id(user)
    query = sa.text(
        "SELECT day, start_timestamp, end_timestamp, summary_text, topics, message_count,"
        " source_message_ids, model, prompt_version FROM conversation_summaries"
        " WHERE bot_name = :bot AND user_id = :user"
        " AND (CAST(:start AS timestamptz) IS NULL OR end_timestamp > :start)"
        " AND (CAST(:end AS timestamptz) IS NULL OR start_timestamp < :end)"
        " ORDER BY start_timestamp LIMIT :limit"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"bot": bot, "user": user, "start": start, "end": end, "limit": limit}).all()
    return [
        SummaryRow(r[0].isoformat(), r[1], r[2], r[3], tuple(r[4]), r[5], tuple(map(str, r[6])), r[7], r[8])
        for r in rows
    ]


def users_with_memories(engine: Engine, bot: str | None = None) -> list[tuple[str, str]]:
    """(bot, user) pairs that have facts or summaries."""
    query = sa.text(
        "SELECT DISTINCT bot_name, user_id FROM ("
        " SELECT bot_name, user_id FROM user_facts UNION SELECT bot_name, user_id FROM conversation_summaries) u"
        " WHERE CAST(:bot AS text) IS NULL OR bot_name = :bot ORDER BY 1, 2"
    )
    with engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(query, {"bot": bot}).all()]
