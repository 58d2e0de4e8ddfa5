"""Quality checks on what a run produced: plain functions the asset checks call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from whisper_assets.core.enrichment.models import FactObservation, StagedMessage, Summary
from whisper_assets.core.llm.schemas import MAX_FACT_CHARS
from whisper_assets.core.enrichment.scheduling import PendingReader

CONFIDENCE_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
_PLACEHOLDER = re.compile(
    r"^\W*(n/?a|none|null|unknown|todo|tbd|placeholder|lorem ipsum.*|no facts?|nothing|\.\.\.|fact|string|<[^>]*>)\W*$",
    re.I,
)
_NORMALISE = re.compile(r"[^\w\s]")


def normalise(text: str) -> str:
    return " ".join(_NORMALISE.sub(" ", text.lower()).split())


@dataclass(frozen=True)
class Lag:
    pending: int
    oldest_stored_ms: int | None
    age_s: float

    def within(self, sla_s: float) -> bool:
        return self.age_s <= sla_s


def pending_lag(store: PendingReader, now_ms: int) -> Lag:
    """How long the oldest pending message has waited since it was stored."""
    points = store.pending()
    if not points:
        return Lag(0, None, 0.0)
    oldest = min(int(p["stored_ms"]) for p in points)
    return Lag(len(points), oldest, max(0.0, (now_ms - oldest) / 1000))


@dataclass(frozen=True)
class ConfidenceStats:
    count: int
    mean: float
    share_below: float
    out_of_range: int
    histogram: dict[str, int]


def confidence_stats(facts: Sequence[FactObservation], threshold: float) -> ConfidenceStats:
    values = [f.confidence for f in facts]
    histogram = {}
    for lo, hi in zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:]):
        last = hi == CONFIDENCE_BINS[-1]
        histogram[f"{lo:.1f}-{hi:.1f}"] = sum(lo <= v < hi or (last and v == hi) for v in values)
    return ConfidenceStats(
        count=len(values),
        mean=round(sum(values) / len(values), 4) if values else 0.0,
        share_below=round(sum(v < threshold for v in values) / len(values), 4) if values else 0.0,
        out_of_range=sum(not 0.0 <= v <= 1.0 for v in values),
        histogram=histogram,
    )


def junk_facts(facts: Sequence[FactObservation], messages: Sequence[StagedMessage]) -> list[tuple[str, str]]:
    """(fact, reason) for facts from non-user turns, placeholders, bad lengths or duplicates."""
    role_of = {m.message_id: m.role for m in messages}
    found, seen = [], set()
    for f in facts:
        roles = {role_of.get(mid) for mid in f.source_message_ids}
        key = (f.bot_name, f.day, f.user_id, normalise(f.fact_content))
        if roles != {"user"}:
            found.append((f.fact_content, f"cites non-user or unknown turns: {sorted(map(str, roles))}"))
        elif not f.fact_content.strip() or _PLACEHOLDER.match(f.fact_content):
            found.append((f.fact_content, "empty or placeholder text"))
        elif len(f.fact_content) > MAX_FACT_CHARS:
            found.append((f.fact_content[:60], f"longer than {MAX_FACT_CHARS} characters"))
        elif key in seen:
            found.append((f.fact_content, "duplicate after normalisation"))
        seen.add(key)
    return found


def summary_problems(
    summaries: Sequence[Summary], messages: Sequence[StagedMessage], skipped: dict[str, str]
) -> list[tuple[str, str]]:
    """(user, reason) for users with enrichable turns but no real summary of their window."""
    turns: dict[tuple[str, object, str], list[str]] = {}
    for m in messages:
        if m.role == "user" and m.message_id not in skipped:
            turns.setdefault((m.bot_name, m.day, m.user_id), []).append(" ".join(m.content.split()))
    by_user = {(s.bot_name, s.day, s.user_id): s for s in summaries}
    problems = []
    for key, texts in sorted(turns.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])):
        s = by_user.get(key)
        if s is None:
            problems.append((key[2], f"no summary for {key[1]}"))
        elif _PLACEHOLDER.match(s.summary_text) or len(s.summary_text.strip()) < 10:
            problems.append((key[2], "placeholder summary"))
        elif " ".join(s.summary_text.split()) in texts:
            problems.append((key[2], "summary is a copy of one message"))
    return problems


def uncovered_messages(
    messages: Sequence[StagedMessage], summaries: Sequence[Summary], skipped: dict[str, str]
) -> list[str]:
    """Ids of messages neither enriched nor deliberately skipped with a reason. Enriched: a summary's
    source, or a turn of a window its user's summary was written from (a summary cites only the
    turns it draws on, yet it read them all)."""
    covered = {mid for s in summaries for mid in s.source_message_ids}
    windows: dict[str, list[tuple[datetime, datetime]]] = {}  # a user's summary windows: a run spans many users
    for s in summaries:
        windows.setdefault(s.user_id, []).append((s.start_timestamp, s.end_timestamp))
    return [m.message_id for m in messages if m.message_id not in covered and not skipped.get(m.message_id)
            and not any(start <= m.ts < end for start, end in windows.get(m.user_id, ()))]
