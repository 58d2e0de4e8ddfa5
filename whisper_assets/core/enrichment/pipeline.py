"""Enrich bot-days: plan LLM batches, run them concurrently, assemble facts and 24-hour summaries.

Plain functions, no Dagster. A partition's output depends only on its own messages; a run that
covers several partitions sends all their batches through one pool, so the configured LLM
concurrency stays busy.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Sequence

from whisper_assets.core.enrichment.grounding import count_rejections, ground
from whisper_assets.core.enrichment.models import FactObservation, StagedMessage, Summary, SummaryEmbedding
from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.llm.backend import BatchMessage, BatchResult, EnrichmentBackend, Fact, SummaryDraft, Usage
from whisper_assets.core.llm.guard import injection_reason
from whisper_assets.core.llm.schemas import MAX_MESSAGES_PER_CALL

PartitionId = tuple[str, date]
SKIP_BOT_TURN = "bot turn: facts and summaries come from user turns"


@dataclass
class PartitionResult:
    bot_name: str
    day: date
    message_count: int = 0
    facts: list[FactObservation] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # message_id -> reason
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    rejected_facts: dict[str, int] = field(default_factory=dict)  # grounding reason -> facts rejected


def window(day: date) -> tuple[datetime, datetime]:
    """The 24-hour UTC window of a day: [00:00, next 00:00)."""
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def select_turns(messages: Sequence[StagedMessage]) -> tuple[list[StagedMessage], dict[str, str]]:
    """User turns go to the LLM; bot turns and injection attempts are skipped with a reason."""
    turns, skipped = [], {}
    for m in messages:
        if m.role != "user":
            skipped[m.message_id] = SKIP_BOT_TURN
        elif reason := injection_reason(m.content, m.vector):
            skipped[m.message_id] = reason
        else:
            turns.append(m)
    return turns, skipped


def plan_batches(turns: Sequence[StagedMessage], limit: int = MAX_MESSAGES_PER_CALL) -> list[list[StagedMessage]]:
    """One user per batch (in user order), split into <= limit turns when larger.

    Users never share an LLM call: a model that obeys an instruction in one user's turn can only
    write facts citing that user's turns, which grounding then checks. Sharing saved about half
    the calls (sample corpus 13.6 -> 7.5, LoCoMo dev 9.6 -> 4.8 per 100 messages), but grounding
    alone let 9 of 12 planted facts close to the victim's own words through (README)."""
    by_user: dict[str, list[StagedMessage]] = {}
    for m in sorted(turns, key=lambda m: (m.user_id, m.ts, m.message_id)):
        by_user.setdefault(m.user_id, []).append(m)
    return [user_turns[i : i + limit] for user_turns in by_user.values() for i in range(0, len(user_turns), limit)]


def _merge_facts(facts: list[Fact]) -> list[Fact]:
    """One fact per (user, text): highest confidence (its category), union of sources."""
    merged: dict[tuple[str, str], Fact] = {}
    for f in facts:
        key = (f.user_id, f.fact)
        if key in merged:
            old = merged[key]
            best = f if f.confidence > old.confidence else old
            merged[key] = Fact(f.user_id, best.category, f.fact, best.confidence,
                               tuple(sorted(set(old.source_message_ids) | set(f.source_message_ids))))
        else:
            merged[key] = f
    return sorted(merged.values(), key=lambda f: (f.user_id, f.category.value, f.fact))


def _merge_drafts(drafts: list[SummaryDraft]) -> SummaryDraft:
    if len(drafts) == 1:
        return drafts[0]
    topics = tuple(dict.fromkeys(t for d in drafts for t in d.topics))[:8]
    cited = tuple(sorted({mid for d in drafts for mid in d.message_ids}))
    return SummaryDraft(drafts[0].user_id, " ".join(d.text for d in drafts), topics, cited)


def assemble(
    bot_name: str,
    day: date,
    messages: Sequence[StagedMessage],
    batches: Sequence[Sequence[StagedMessage]],
    results: Sequence[BatchResult],
    skipped: dict[str, str],
    backend: EnrichmentBackend,
    run_id: str | None,
    embedder: Any = None,
) -> PartitionResult:
    """The partition's rows. Every fact passes grounding (core/enrichment/grounding.py) first,
    whatever backend made it: the rejected ones are only counted, per reason."""
    ts_of = {m.message_id: m.ts for m in messages}
    facts = _merge_facts([f for r in results for f in r.facts])
    verdicts = ground(facts, {m.message_id: m for m in messages}, embedder or get_embedder()) if facts else []
    rejected = count_rejections(verdicts)
    facts = [f for f, v in zip(facts, verdicts) if v.keep]
    observations = [
        FactObservation(
            bot_name, day, f.user_id, f.category.value, f.fact, f.confidence, f.source_message_ids,
            min(ts_of[mid] for mid in f.source_message_ids), backend.model, backend.prompt_version, run_id,
        )
        for f in facts
    ]
    drafts: dict[str, list[SummaryDraft]] = {}
    sources: dict[str, set[str]] = {}
    for batch, result in zip(batches, results):
        batch_ids = {m.message_id for m in batch}
        for user, draft in result.summaries.items():
            drafts.setdefault(user, []).append(draft)
            # What the draft cites, if it says (only this batch's turns); else the whole batch.
            cited = batch_ids.intersection(draft.message_ids) or {m.message_id for m in batch if m.user_id == user}
            sources.setdefault(user, set()).update(cited)
    start, end = window(day)
    counts: dict[str, int] = {}
    last: dict[str, datetime] = {}
    for m in messages:
        counts[m.user_id] = counts.get(m.user_id, 0) + 1
        last[m.user_id] = max(last.get(m.user_id, m.ts), m.ts)
    summaries = [
        Summary(
            bot_name, day, user, start, end, draft.text, draft.topics, counts[user],
            tuple(sorted(sources[user])), backend.model, backend.prompt_version, run_id,
            # recall() shows it only once all the user's messages of the day were said
            last_message_at=last[user],
        )
        for user in sorted(drafts)
        for draft in [_merge_drafts(drafts[user])]
    ]
    usage = Usage()
    for r in results:
        usage = usage + r.usage
    return PartitionResult(bot_name, day, len(messages), observations, summaries, skipped, usage,
                           rejected_facts=rejected)


def _as_batch(batch: Sequence[StagedMessage]) -> list[BatchMessage]:
    return [BatchMessage(m.message_id, m.user_id, m.content, m.ts, m.vector) for m in batch]


def enrich_partitions(
    partitions: dict[PartitionId, list[StagedMessage]],
    backend: EnrichmentBackend,
    concurrency: int,
    run_id: str | None = None,
    embedder: Any = None,
) -> list[PartitionResult]:
    """Enrich every partition; a partition whose batch fails gets `error` and no rows.
    `embedder` embeds fact texts for grounding (default: the process's embedder)."""
    planned: dict[PartitionId, tuple[list[list[StagedMessage]], dict[str, str]]] = {}
    for pid, messages in partitions.items():
        turns, skipped = select_turns(messages)
        planned[pid] = (plan_batches(turns), skipped)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="llm") as pool:
        futures: dict[PartitionId, list[Future[BatchResult]]] = {
            pid: [pool.submit(backend.enrich, _as_batch(b)) for b in batches]
            for pid, (batches, _) in planned.items()
        }
        out = []
        for pid in sorted(partitions):
            batches, skipped = planned[pid]
            results: list[BatchResult] = []
            spent, error = Usage(), None
            for future in futures[pid]:
                try:
                    results.append(future.result())
                    spent = spent + results[-1].usage
                except Exception as exc:  # the partition fails as a whole; others go on
                    spent = spent + (getattr(exc, "usage", None) or Usage())
                    error = error or f"{type(exc).__name__}: {exc}"
            if error:
                # What its batches cost is still accounted (enrichment_metadata).
                out.append(PartitionResult(pid[0], pid[1], len(partitions[pid]), usage=spent, error=error))
                continue
            out.append(assemble(pid[0], pid[1], partitions[pid], batches, results, skipped, backend, run_id,
                                embedder))
    return out


def embed_summaries(summaries: Sequence[Summary], embedder: Any, model: str) -> list[SummaryEmbedding]:
    """One 384-d vector per summary, from its text (what semantic search compares queries with)."""
    if not summaries:
        return []
    vectors = embedder.encode([s.summary_text for s in summaries])
    return [
        SummaryEmbedding(s.bot_name, s.day, s.user_id, s.start_timestamp, s.end_timestamp, v, model)
        for s, v in zip(summaries, vectors)
    ]
