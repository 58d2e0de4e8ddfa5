"""Reading memories back: a user's summaries, summary vectors and message vectors (facts, with their
validity periods, are read by stores/repository/consolidation.py).

Every statement that reads for a user binds ``bot_name = :bot AND user_id = :user`` as parameters:
nothing is ever read for a user by prefix or pattern. `now` bounds what was first learnt or said
(a recall "as of" a past time): a summary counts as said when its user's last message of the window
was (`last_message_at`), never at its window start. The statements are module constants so that benchmarks can EXPLAIN
exactly what runs (benchmarks/retrieval.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection


class SummaryRow(NamedTuple):
    day: date
    start: datetime
    end: datetime
    text: str
    topics: list[str]
    message_count: int
    source_message_ids: list[str]
    model: str
    prompt_version: str
    last_message_at: datetime


class SummaryPage(NamedTuple):
    rows: list[SummaryRow]  # newest first
    total: int  # rows in the range before the limit


class MessageRow(NamedTuple):
    message_id: str
    role: str
    text: str
    ts: datetime


class BotUser(NamedTuple):
    bot: str
    user: str


@dataclass(frozen=True)
class SummaryVectors:
    """A user's summary windows and their vectors: row i of `matrix` is window i."""

    starts: list[datetime]
    ends: list[datetime]
    matrix: np.ndarray  # float32, one row per window

    def __len__(self) -> int:
        return len(self.starts)


@dataclass(frozen=True)
class MessageVectors:
    """A user's latest messages and their vectors: row i of `matrix` is `message(i)`.

    The rows are kept as fetched; only the messages a caller picks become MessageRow."""

    _rows: Sequence[sa.Row]
    matrix: np.ndarray  # float32, one row per message

    def __len__(self) -> int:
        return len(self._rows)

    def message(self, i: int) -> MessageRow:
        r = self._rows[i]
        return MessageRow(r[0], r[1], r[2], r[3])


# -- statements --------------------------------------------------------------------------------------

_SUMMARY_COLUMNS = (
    "day, start_timestamp, end_timestamp, summary_text, topics, message_count,"
    " source_message_ids::text[], model, prompt_version, last_message_at"
)
SUMMARIES_IN_RANGE_SQL = sa.text(
    f"SELECT {_SUMMARY_COLUMNS}, count(*) OVER () FROM conversation_summaries"
    " WHERE bot_name = :bot AND user_id = :user AND start_timestamp < :end AND end_timestamp > :start"
    " AND (CAST(:now AS timestamptz) IS NULL OR last_message_at <= :now)"
    " ORDER BY start_timestamp DESC LIMIT :limit"
)
RECENT_SUMMARIES_SQL = sa.text(
    f"SELECT {_SUMMARY_COLUMNS} FROM conversation_summaries"
    " WHERE bot_name = :bot AND user_id = :user AND last_message_at <= :now"
    " ORDER BY start_timestamp DESC LIMIT :limit"
)
SUMMARIES_BY_START_SQL = sa.text(
    f"SELECT {_SUMMARY_COLUMNS} FROM conversation_summaries"
    " WHERE bot_name = :bot AND user_id = :user AND start_timestamp = ANY(:starts)"
    " AND (CAST(:now AS timestamptz) IS NULL OR last_message_at <= :now)"
)
LIST_SUMMARIES_SQL = sa.text(
    f"SELECT {_SUMMARY_COLUMNS} FROM conversation_summaries"
    " WHERE bot_name = :bot AND user_id = :user"
    " AND (CAST(:start AS timestamptz) IS NULL OR end_timestamp > :start)"
    " AND (CAST(:end AS timestamptz) IS NULL OR start_timestamp < :end)"
    " AND (CAST(:now AS timestamptz) IS NULL OR last_message_at <= :now)"
    " ORDER BY start_timestamp LIMIT :limit"
)
SUMMARY_VECTORS_SQL = sa.text(
    "SELECT e.start_timestamp, e.end_timestamp, e.embedding FROM summary_embeddings e"
    " JOIN conversation_summaries s ON s.bot_name = e.bot_name AND s.user_id = e.user_id"
    " AND s.start_timestamp = e.start_timestamp AND s.end_timestamp = e.end_timestamp"
    " WHERE e.bot_name = :bot AND e.user_id = :user AND s.last_message_at <= :now"
)
MESSAGE_VECTORS_SQL = sa.text(
    "SELECT message_id::text, role, content, ts, vector FROM pending_messages"
    " WHERE bot_name = :bot AND user_id = :user AND ts <= :now"
    " AND (CAST(:start AS timestamptz) IS NULL OR ts >= :start)"
    " AND (CAST(:end AS timestamptz) IS NULL OR ts < :end)"
    " ORDER BY ts DESC LIMIT :cap"
)
BOT_EXISTS_SQL = sa.text(
    "SELECT EXISTS (SELECT 1 FROM user_facts WHERE bot_name = :bot)"
    " OR EXISTS (SELECT 1 FROM conversation_summaries WHERE bot_name = :bot)"
    " OR EXISTS (SELECT 1 FROM enrichment_metadata WHERE bot_name = :bot)"
)
USERS_WITH_MEMORIES_SQL = sa.text(
    "SELECT DISTINCT bot_name, user_id FROM ("
    " SELECT bot_name, user_id FROM user_facts UNION SELECT bot_name, user_id FROM conversation_summaries) u"
    " WHERE CAST(:bot AS text) IS NULL OR bot_name = :bot ORDER BY 1, 2"
)
PING_SQL = sa.text("SELECT 1")


# -- queries -----------------------------------------------------------------------------------------

def summaries_in_range(
    conn: Connection, bot: str, user: str, start: datetime, end: datetime, limit: int,
    now: datetime | None = None,
) -> SummaryPage:
    """The latest `limit` summaries whose window overlaps [start, end) (and, given `now`, whose last
    message was said at or before it), newest first, and how many there are in all."""
    rows = conn.execute(
        SUMMARIES_IN_RANGE_SQL, {"bot": bot, "user": user, "start": start, "end": end, "limit": limit, "now": now}
    ).all()
    return SummaryPage([SummaryRow._make(r[:-1]) for r in rows], int(rows[0][-1]) if rows else 0)


def recent_summaries(conn: Connection, bot: str, user: str, now: datetime, limit: int) -> list[SummaryRow]:
    """The latest `limit` summaries whose last message was said at or before `now`, newest first."""
    rows = conn.execute(RECENT_SUMMARIES_SQL, {"bot": bot, "user": user, "now": now, "limit": limit}).all()
    return [SummaryRow._make(r) for r in rows]


def summaries_by_start(
    conn: Connection, bot: str, user: str, starts: list[datetime], now: datetime | None = None
) -> list[SummaryRow]:
    """The user's summaries whose window starts at one of `starts` (any order); given `now`, only
    those whose last message was said at or before it."""
    rows = conn.execute(SUMMARIES_BY_START_SQL, {"bot": bot, "user": user, "starts": starts, "now": now}).all()
    return [SummaryRow._make(r) for r in rows]


def list_summaries(
    conn: Connection, bot: str, user: str, start: datetime | None = None, end: datetime | None = None,
    limit: int = 100, now: datetime | None = None,
) -> list[SummaryRow]:
    """Summaries whose window overlaps [start, end) (either end open when None), oldest first;
    given `now`, only those whose last message was said at or before it."""
    rows = conn.execute(
        LIST_SUMMARIES_SQL, {"bot": bot, "user": user, "start": start, "end": end, "limit": limit, "now": now}
    ).all()
    return [SummaryRow._make(r) for r in rows]


def summary_vectors(conn: Connection, bot: str, user: str, now: datetime) -> SummaryVectors:
    """The vectors of the user's summary windows whose last message was said at or before `now`."""
    rows = conn.execute(SUMMARY_VECTORS_SQL, {"bot": bot, "user": user, "now": now}).all()
    matrix = np.asarray([r[2] for r in rows], dtype=np.float32)
    return SummaryVectors([r[0] for r in rows], [r[1] for r in rows], matrix)


def message_vectors(
    conn: Connection, bot: str, user: str, now: datetime, start: datetime | None, end: datetime | None, cap: int
) -> MessageVectors:
    """The user's latest `cap` messages staged in `pending_messages` (either side) said at or before
    `now` and, when given, in [start, end), with their float32 vectors; newest first."""
    rows = conn.execute(
        MESSAGE_VECTORS_SQL, {"bot": bot, "user": user, "now": now, "start": start, "end": end, "cap": cap}
    ).all()
    if not rows:
        return MessageVectors(rows, np.empty((0, 0), dtype=np.float32))
    matrix = np.frombuffer(b"".join(bytes(r[4]) for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return MessageVectors(rows, matrix)


def bot_exists(conn: Connection, bot: str) -> bool:
    """Anything stored in PostgreSQL for this bot: facts, summaries or enrichment runs."""
    return bool(conn.execute(BOT_EXISTS_SQL, {"bot": bot}).scalar())


def users_with_memories(conn: Connection, bot: str | None = None) -> list[BotUser]:
    """(bot, user) pairs that have facts or summaries, sorted; optionally of one bot."""
    return [BotUser._make(r) for r in conn.execute(USERS_WITH_MEMORIES_SQL, {"bot": bot}).all()]


def ping(conn: Connection) -> None:
    """One round trip: raises SQLAlchemyError when the database does not answer."""
    conn.execute(PING_SQL)
