"""Rows that flow between the assets (and the Postgres tables the IO manager keeps them in).
What a backend returns (`Fact`) is the LLM layer's: core/llm/backend.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np


@dataclass(frozen=True)
class StagedMessage:
    """A bot-day's message as staged by `pending_messages` (with its stored vector)."""

    message_id: str
    bot_name: str
    day: date
    user_id: str
    role: str
    content: str
    ts: datetime
    vector: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class FactObservation:
    """A row of `fact_observations`: a fact with its partition and provenance."""

    bot_name: str
    day: date
    user_id: str
    category: str
    fact_content: str
    confidence: float
    source_message_ids: tuple[str, ...]
    observed_at: datetime
    model: str
    prompt_version: str
    run_id: str | None = None


@dataclass(frozen=True)
class Summary:
    """A row of `conversation_summaries`: one user's 24-hour window.

    `source_message_ids` are the turns the summary draws on (cites); `last_message_at` is when the
    user's last message of the window was said: recall() shows a summary only at or after it."""

    bot_name: str
    day: date
    user_id: str
    start_timestamp: datetime
    end_timestamp: datetime
    summary_text: str
    topics: tuple[str, ...]
    message_count: int
    source_message_ids: tuple[str, ...]
    model: str
    prompt_version: str
    run_id: str | None = None
    last_message_at: datetime | None = None  # None: unknown, taken as the window's end

    @property
    def said_by(self) -> datetime:
        """The time from which the summary may be recalled (never before all it summarises)."""
        return self.last_message_at or self.end_timestamp


@dataclass(frozen=True)
class SummaryEmbedding:
    bot_name: str
    day: date
    user_id: str
    start_timestamp: datetime
    end_timestamp: datetime
    embedding: np.ndarray = field(repr=False, compare=False)
    model: str
