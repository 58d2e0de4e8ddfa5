"""The one interface every LLM backend implements, and the checks on what comes back.

A backend enriches one batch (<= 50 user turns of one bot-day, whole users where possible):
it returns facts, one summary draft per user, and what the call cost.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, Sequence

import numpy as np

from whisper_assets.core.llm.schemas import MAX_MESSAGES_PER_CALL, BatchOut, Category


class LLMOutputError(ValueError):
    """The model's answer failed validation (after retries); nothing from it is stored.

    `usage` is what the failed attempts cost (they are paid for all the same)."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Fact:
    """A fact extracted from one user's turns, before provenance is attached."""

    user_id: str
    category: Category
    fact: str
    confidence: float
    source_message_ids: tuple[str, ...]


@dataclass(frozen=True)
class BatchMessage:
    message_id: str
    user_id: str
    content: str
    ts: datetime
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass
class Usage:
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.tokens_in + other.tokens_in,
            self.tokens_out + other.tokens_out,
            self.cost_usd + other.cost_usd,
        )


@dataclass(frozen=True)
class SummaryDraft:
    """One user's summary of a batch. `message_ids` are the turns it draws on (what it cites);
    empty means the backend did not say, and the pipeline cites every turn of the batch."""

    user_id: str
    text: str
    topics: tuple[str, ...]
    message_ids: tuple[str, ...] = ()


@dataclass
class BatchResult:
    facts: list[Fact]
    summaries: dict[str, SummaryDraft]
    usage: Usage


class EnrichmentBackend(Protocol):
    model: str
    prompt_version: str

    def enrich(self, batch: Sequence[BatchMessage]) -> BatchResult: ...


def check_batch(batch: Sequence[BatchMessage]) -> None:
    if not batch:
        raise ValueError("empty batch")
    if len(batch) > MAX_MESSAGES_PER_CALL:
        raise ValueError(f"batch of {len(batch)} messages; at most {MAX_MESSAGES_PER_CALL} per call")


def labels(batch: Sequence[BatchMessage]) -> tuple[dict[str, BatchMessage], dict[str, str]]:
    """m1..mN for messages, u1..uK for users (in order of first appearance)."""
    message_labels = {f"m{i}": m for i, m in enumerate(batch, start=1)}
    user_labels: dict[str, str] = {}
    for m in batch:
        user_labels.setdefault(m.user_id, f"u{len(user_labels) + 1}")
    return message_labels, {label: user for user, label in user_labels.items()}


def _cited(labels_: Sequence[str], by_label: dict[str, BatchMessage]) -> str:
    """The batch's messages a fact cites, as message ids: what an error may name (never text)."""
    return ", ".join(sorted({by_label[label].message_id for label in labels_ if label in by_label})) or "none"


def interpret(out: BatchOut, batch: Sequence[BatchMessage]) -> tuple[list[Fact], dict[str, SummaryDraft]]:
    """Map labels back to ids and enforce the invariants; raise LLMOutputError on any breach.

    The errors end up in `enrichment_metadata.error` and Dagster's event and compute logs, which a
    forget does not rewrite: they name the fact by its position and the batch's message ids it
    cites, never the model's text (it may quote a message), a user id, or a label the model made up.
    """
    by_label, users = labels(batch)
    facts = []
    for i, fact in enumerate(out.facts):
        unknown = [mid for mid in fact.message_ids if mid not in by_label]
        if unknown:
            raise LLMOutputError(
                f"fact #{i} cites {len(unknown)} message label(s) not in the batch"
                f" (its known citations: {_cited(fact.message_ids, by_label)})"
            )
        speakers = {by_label[mid].user_id for mid in fact.message_ids}
        if len(speakers) != 1:
            # A fact belongs to the one user who said it; a mixed citation is ambiguous.
            raise LLMOutputError(
                f"fact #{i} cites messages of {len(speakers)} different users: {_cited(fact.message_ids, by_label)}"
            )
        facts.append(Fact(
            user_id=speakers.pop(),
            category=fact.category,
            fact=fact.fact,
            confidence=round(fact.confidence, 4),
            source_message_ids=tuple(sorted({by_label[mid].message_id for mid in fact.message_ids})),
        ))
    summaries: dict[str, SummaryDraft] = {}
    for i, s in enumerate(out.summaries):
        if s.user not in users:
            raise LLMOutputError(f"summary #{i} names a user label that is not in the batch")
        if users[s.user] in summaries:
            raise LLMOutputError(f"summary #{i} is a second summary for user label {s.user}")
        unknown = [mid for mid in s.message_ids if mid not in by_label]
        if unknown:
            raise LLMOutputError(
                f"summary #{i} cites {len(unknown)} message label(s) not in the batch"
                f" (its known citations: {_cited(s.message_ids, by_label)})"
            )
        others = sorted({by_label[mid].message_id for mid in s.message_ids if by_label[mid].user_id != users[s.user]})
        if others:
            # A user's summary draws on that user's own turns only.
            raise LLMOutputError(f"summary #{i} cites messages of another user: {', '.join(others)}")
        topics = tuple(dict.fromkeys(" ".join(t.split())[:60] for t in s.topics if t.strip()))
        cited = tuple(sorted({by_label[mid].message_id for mid in s.message_ids}))
        summaries[users[s.user]] = SummaryDraft(users[s.user], " ".join(s.summary.split()), topics, cited)
    missing = sorted(label for label, user in users.items() if user not in summaries)
    if missing:
        raise LLMOutputError(f"no summary for user labels {missing}")
    return facts, summaries


class RateLimiter:
    """A sustained `per_minute` request rate shared by all threads (token bucket, 5 s of burst)."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * 5)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)
