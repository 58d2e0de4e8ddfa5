"""What recall takes (RecallOptions) and returns (RecallResult and its items), and its errors."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from whisper_assets.core.timephrases import MONDAY, TimeRange, get_zone
from whisper_assets.memory.retrieval.limits import (
    DEFAULT_CONTEXT_CHARS, DEFAULT_LIMIT, DEFAULT_MESSAGE_LIMIT, DEFAULT_MESSAGE_MIN_SCORE, DEFAULT_MIN_SCORE,
    DEFAULT_RECENT_LIMIT, DEFAULT_RELATED_LIMIT, DEFAULT_SUMMARY_LIMIT, MAX_FACTS_SCANNED,
)

if TYPE_CHECKING:
    from whisper_assets.memory.retrieval.facts import FactView
    from whisper_assets.stores.repository.memories import SummaryRow

UTC = timezone.utc
MIN_NOW = datetime(2, 1, 1, tzinfo=UTC)
MAX_NOW = datetime(9998, 12, 31, tzinfo=UTC)


class RecallError(ValueError):
    """The request is invalid (empty or over-long query, naive `now`, unknown time zone...)."""


class UnknownBotError(LookupError):
    """No memories, runs or messages exist for this bot."""

    def __init__(self, bot: str) -> None:
        super().__init__(f"unknown bot {bot!r}: nothing is stored for it")
        self.bot = bot


# -- what recall takes -------------------------------------------------------------------------------

class RecallOptions(BaseModel):
    """How to recall: as of when, in which time zone, how much of each kind. One definition of the
    limits and their validation, for the library, the HTTP API (its request) and the CLI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    now: Optional[datetime] = Field(
        default=None, description="ISO-8601, timezone-aware; default: now. Phrases resolve against it, and "
        "nothing learnt or said after it is recalled"
    )
    tz: str = Field(default="UTC", description="the user's IANA time zone, e.g. America/Los_Angeles")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_FACTS_SCANNED, description="at most this many facts")
    summary_limit: int = Field(
        default=DEFAULT_SUMMARY_LIMIT, ge=0, description="summaries of the time named (the latest ones)"
    )
    recent_limit: int = Field(default=DEFAULT_RECENT_LIMIT, ge=0, description="recent summaries when no time is named")
    related_limit: int = Field(default=DEFAULT_RELATED_LIMIT, ge=0, description="summaries closest in meaning")
    message_limit: int = Field(default=DEFAULT_MESSAGE_LIMIT, ge=0, description="past messages closest in meaning")
    min_score: float = Field(default=DEFAULT_MIN_SCORE, ge=-1, le=1, description="least cosine of a related summary")
    message_min_score: float = Field(
        default=DEFAULT_MESSAGE_MIN_SCORE, ge=-1, le=1, description="least cosine of a past message"
    )
    week_start: int = Field(default=MONDAY, ge=0, le=6, description="first day of a week, 0 = Monday")
    semantic: bool = Field(default=True, description="search summaries and messages by meaning")
    history: Optional[bool] = Field(
        default=None, description="also the facts that no longer hold (moved away, old job, ended): "
        "true, false, or null to include them when the question asks about the past ('where did I live before?')"
    )

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        get_zone(v)  # ValueError naming the unknown zone
        return v

    @field_validator("now")
    @classmethod
    def _now_in_range(cls, v: Optional[datetime]) -> Optional[datetime]:
        """A time UTC can hold, a year away from its ends (phrases look back and ahead from it)."""
        if v is None or v.tzinfo is None or v.utcoffset() is None:
            return v  # naive: recall refuses it (the API reads it in `tz` first)
        try:
            utc = v.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"now {v.isoformat()} is out of range: in UTC it falls outside years 1-9999") from None
        if not MIN_NOW <= utc <= MAX_NOW:
            raise ValueError(f"now {v.isoformat()} is out of range: use a time between years 2 and 9998")
        return v


# -- what recall returns -----------------------------------------------------------------------------

class Provenance(BaseModel):
    """Where an item came from."""

    partitions: list[str] = Field(
        description="Dagster partition keys 'bot|YYYY-MM-DD': a summary's own partition; for a fact, "
        "the partitions of its first and latest observation"
    )
    source_message_ids: list[str] = Field(description="the messages (Qdrant point ids) it was derived from")
    window_start: datetime = Field(description="summary: window start; fact: first observation")
    window_end: datetime = Field(description="summary: window end (exclusive); fact: latest observation")
    model: str | None = Field(description="the LLM that derived it; None for a message as it was said")
    prompt_version: str | None = None


class FactItem(BaseModel):
    category: str
    fact: str
    confidence: float
    mention_count: int
    first_seen: datetime
    last_seen: datetime
    status: Literal["current", "superseded", "closed"] = Field(
        default="current", description="current, or how it ended: superseded by a newer value, closed by an ending")
    valid_from: datetime = Field(description="since when it holds (or held)")
    valid_to: Optional[datetime] = Field(default=None, description="when it stopped holding; null while it holds")
    as_of: datetime = Field(description="the latest time it was said or began to hold, at or before `now`")
    slot: Optional[str] = Field(default=None, description="the single-valued slot it fills (home, employer, ...)")
    relevance: float = Field(description="the ranking score (higher first)")
    matched: list[str] = Field(default_factory=list, description="why it ranks where it does")
    provenance: Provenance


class SummaryItem(BaseModel):
    day: date
    start: datetime
    end: datetime
    text: str
    topics: list[str]
    message_count: int
    score: float | None = Field(default=None, description="cosine similarity to the query (related summaries)")
    provenance: Provenance


class MessageItem(BaseModel):
    """A past message of this user's conversation with the bot (either side), as it was said."""

    message_id: str
    role: str = Field(description="'user' or 'bot'")
    timestamp: datetime
    text: str
    score: float = Field(description="cosine similarity to the query")
    provenance: Provenance


class RecallResult(BaseModel):
    bot: str
    user: str
    query: str
    now: datetime
    tz: str
    time_range: TimeRange | None = Field(description="the time the query names, if any")
    categories: list[str] = Field(description="fact categories the query was routed to, most specific first")
    category_source: Literal["keywords", "meaning", "none"]
    facts: list[FactItem] = Field(description="facts that hold as of `now` (those bearing on the query, when it "
                                  "has content words)")
    facts_held: int = Field(default=0, description="facts that hold as of `now`, bearing on the query or not")
    history: list[FactItem] = Field(
        default_factory=list, description="facts that held before `now` and no longer do, when asked for"
    )
    summaries: list[SummaryItem] = Field(
        description="summaries in time_range, oldest first; when the query names no time, the most recent "
        "ones not already in `related`"
    )
    summaries_scope: Literal["time_range", "recent"]
    summaries_total: int = Field(description="summaries in time_range before the limit (recent: those shown)")
    related: list[SummaryItem] = Field(
        description="closest in meaning, best first (never repeating the time range's `summaries`)"
    )
    messages: list[MessageItem] = Field(
        default_factory=list,
        description="past messages closest in meaning, best first (within time_range when the query names one)",
    )
    semantic: Literal["qdrant", "postgres", "skipped", "off"] = Field(
        description="where related and messages came from; skipped: the query had no content words to search by"
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.facts or self.history or self.summaries or self.related or self.messages)

    def as_context(self, max_chars: int = DEFAULT_CONTEXT_CHARS) -> str:
        """A compact plain-text block for a bot prompt, at most `max_chars` characters."""
        from whisper_assets.memory.retrieval.context import render_context

        return render_context(self, max_chars)


# -- items from stored rows --------------------------------------------------------------------------

def partition_key(bot: str, day: date) -> str:
    return f"{bot}|{day.isoformat()}"


def fact_item(bot: str, view: FactView, relevance: float = 0.0, matched: list[str] | None = None) -> FactItem:
    r = view.record
    first, last = r.first_seen, r.last_seen
    partitions = list(dict.fromkeys(partition_key(bot, t.astimezone(UTC).date()) for t in (first, last)))
    return FactItem(
        category=r.category, fact=r.fact, confidence=r.confidence, mention_count=r.mention_count,
        first_seen=first, last_seen=last, status=view.status, valid_from=view.valid_from, valid_to=view.valid_to,
        as_of=view.as_of, slot=r.slot, relevance=round(relevance, 4), matched=matched or [],
        provenance=Provenance(partitions=partitions, source_message_ids=list(r.source_message_ids),
                              window_start=first, window_end=last, model=r.model, prompt_version=r.prompt_version),
    )


def summary_item(bot: str, r: SummaryRow, score: float | None = None) -> SummaryItem:
    return SummaryItem(
        day=r.day, start=r.start, end=r.end, text=r.text, topics=list(r.topics), message_count=r.message_count,
        score=None if score is None else round(score, 4),
        provenance=Provenance(partitions=[partition_key(bot, r.day)], source_message_ids=list(r.source_message_ids),
                              window_start=r.start, window_end=r.end, model=r.model, prompt_version=r.prompt_version),
    )


def message_item(bot: str, message_id: str, role: str, text: str, ts: datetime, score: float) -> MessageItem:
    return MessageItem(
        message_id=message_id, role=role, timestamp=ts, text=text, score=round(score, 4),
        provenance=Provenance(partitions=[partition_key(bot, ts.astimezone(UTC).date())],
                              source_message_ids=[message_id], window_start=ts, window_end=ts, model=None),
    )
