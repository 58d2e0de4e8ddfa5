"""Asking `recall()` LoCoMo's questions and scoring evidence recall@k (definition: the package's
`locomo` module). `ask` is the one place that calls recall().

Each question is asked at one of two moments (`WHEN`): "session" (`now` = the date of the session
after its last evidence session, as the old figure) or "after" (`now` = a day after the last
session: the whole conversation is known and competes with the evidence). Every list is scored
strictly (`evidence.py`: a message that is the turn, a fact citing it, a summary citing it whose
text holds it; the headline) and loosely (any item whose provenance cites an evidence turn), next
to the two chance baselines of `baselines.py`."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np

from whisper_assets.interfaces.evaluation import baselines, evidence, metrics
from whisper_assets.interfaces.evaluation.metrics import HitCounts
from whisper_assets.interfaces.evaluation.workspace import Workspace
from whisper_assets.memory.locomo_format import LocomoSample, QAItem, dia_session

KS = (5, 10)
QA_CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
RETRIEVED_CATEGORIES = (1, 2, 3, 4)
ITEM_KINDS = ("fact", "related", "message", "time_range", "recent")
WHEN = ("session", "after")
BASELINES = ("latest_summaries", "random_same_kinds")


@dataclass(frozen=True)
class RankedItem:
    kind: str  # fact | related | message | time_range | recent
    user: str
    key: str
    text: str
    dia_ids: frozenset[str]


def ranked_items(result: Any, to_dia: dict[str, str]) -> list[RankedItem]:
    """One recall() result as a ranked list: its facts, related summaries, related messages and
    summaries interleaved by rank."""
    def dias(item: Any) -> frozenset[str]:
        return frozenset(to_dia[m] for m in item.provenance.source_message_ids if m in to_dia)

    facts = [RankedItem("fact", result.user, f"fact:{f.fact}", f.fact, dias(f)) for f in result.facts]
    related = [RankedItem("related", result.user, f"summary:{s.start.isoformat()}", s.text, dias(s))
               for s in result.related]
    # "time_range": summaries of the time the question names; "recent": the latest summaries, which
    # recall() returns when the question names no time (chosen by date, not by the question).
    kind = "time_range" if result.summaries_scope == "time_range" else "recent"
    summaries = [RankedItem(kind, result.user, f"summary:{s.start.isoformat()}", s.text, dias(s))
                 for s in result.summaries]
    messages = [RankedItem("message", result.user, f"message:{m.message_id}", m.text, dias(m))
                for m in result.messages]
    return metrics.merge_by_rank([facts, related, messages, summaries], key=lambda i: (i.user, i.key))


def question_now(sample: LocomoSample, evidence: Sequence[str]) -> datetime:
    """The date_time of the session after the last evidence session (last session's + 1 day)."""
    last = max(dia_session(d) for d in evidence)
    later = [s for s in sample.sessions if s.number > last]
    if later:
        return min(later, key=lambda s: s.number).date_time
    return max(sample.sessions, key=lambda s: s.number).date_time + timedelta(days=1)


def conversation_end(sample: LocomoSample) -> datetime:
    """A day after the last session: every session is in the past."""
    return max(s.date_time for s in sample.sessions) + timedelta(days=1)


@dataclass
class Asker:
    """What every recall() of the evaluation shares: the workspace's engine and open store, the
    embedder, and how many items to ask for."""

    engine: Any
    store: Any
    embedder: Any
    depth: int

    def ask(self, sample_id: str, user: str, question: str, now: datetime, vector: np.ndarray,
            to_dia: dict[str, str]) -> list[RankedItem]:
        """recall() for one speaker, ranked. `vector` is the question's embedding, computed in a
        batch; recall() embeds the question minus its time phrase, so it is used only for questions
        without one. An unknown bot (nothing stored) ranks nothing."""
        from whisper_assets.core.timephrases import resolve_time_range
        from whisper_assets.memory.retrieval import RecallOptions, UnknownBotError, content_terms, recall

        plain = resolve_time_range(question, now) is None and bool(content_terms(question))
        try:
            result = recall(sample_id, user, question, RecallOptions(now=now, limit=self.depth),
                            engine=self.engine, store=self.store, embedder=self.embedder,
                            query_vector=vector if plain else None)
        except UnknownBotError:
            return []
        return ranked_items(result, to_dia)


@dataclass(frozen=True)
class QuestionResult:
    sample: str
    qa_index: int
    category: int
    question: str
    evidence: tuple[str, ...]
    users: list[str]
    now: datetime
    first_hit_rank: int | None
    top: list[RankedItem]
    strict_rank: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sample": self.sample, "qa_index": self.qa_index, "category": self.category,
            "question": self.question, "evidence": list(self.evidence), "users": self.users,
            "now": self.now.isoformat(), "first_hit_rank": self.first_hit_rank, "strict_rank": self.strict_rank,
            "top": [{"kind": i.kind, "user": i.user, "dia_ids": sorted(i.dia_ids)[:8],
                     "text": i.text[:160]} for i in self.top],
        }


@dataclass
class RetrievalEval:
    ks: tuple[int, ...]
    overall: HitCounts
    by_category: dict[int, HitCounts]
    by_sample: dict[str, HitCounts]
    by_kind: dict[str, HitCounts]
    query_selected: HitCounts  # everything but the "recent" summaries (chosen by date alone)
    first_hit_kind: Counter = field(default_factory=Counter)
    skipped_no_evidence: Counter = field(default_factory=Counter)
    skipped_other: Counter = field(default_factory=Counter)
    invalid_ids: int = 0
    routing: Counter = field(default_factory=Counter)
    future: Counter = field(default_factory=Counter)  # top-k items all of whose sources come after `now`; all top-k
    seconds: float = 0.0
    questions: list[QuestionResult] = field(default_factory=list)
    when: str = "session"
    strict: HitCounts | None = None
    strict_by_category: dict[int, HitCounts] = field(default_factory=dict)
    strict_by_kind: dict[str, HitCounts] = field(default_factory=dict)
    baselines: dict[str, dict[str, HitCounts]] = field(default_factory=dict)  # name -> strict | loose
    summary_citations: Counter = field(default_factory=Counter)  # top-k summaries citing evidence / holding it

    @classmethod
    def empty(cls, samples: Sequence[LocomoSample], ks: tuple[int, ...], when: str = "session") -> RetrievalEval:
        return cls(ks, HitCounts(ks), {c: HitCounts(ks) for c in RETRIEVED_CATEGORIES},
                   {s.sample_id: HitCounts(ks) for s in samples}, {k: HitCounts(ks) for k in ITEM_KINDS}, HitCounts(ks),
                   when=when, strict=HitCounts(ks), strict_by_category={c: HitCounts(ks) for c in RETRIEVED_CATEGORIES},
                   strict_by_kind={k: HitCounts(ks) for k in ITEM_KINDS},
                   baselines={b: {"strict": HitCounts(ks), "loose": HitCounts(ks)} for b in BASELINES})

    def as_dict(self) -> dict[str, Any]:
        strict = self.strict or HitCounts(self.ks)
        return {
            "ks": list(self.ks),
            "when": self.when,
            "strict": strict.as_dict(),
            "strict_by_category": {str(c): {"name": QA_CATEGORY_NAMES[c], **h.as_dict()}
                                   for c, h in self.strict_by_category.items()},
            "strict_by_kind": {k: h.as_dict() for k, h in self.strict_by_kind.items()},
            "baselines": {b: {m: h.as_dict() for m, h in v.items()} for b, v in self.baselines.items()},
            "summary_citations": {"cited_evidence": self.summary_citations["cited"],
                                  "holding_evidence": self.summary_citations["holding"],
                                  "share": metrics.ratio(self.summary_citations["holding"],
                                                         self.summary_citations["cited"])},
            "overall": self.overall.as_dict(),
            "by_category": {str(c): {"name": QA_CATEGORY_NAMES[c], **h.as_dict()} for c, h in self.by_category.items()},
            "by_sample": {s: h.as_dict() for s, h in self.by_sample.items()},
            "by_kind": {k: h.as_dict() for k, h in self.by_kind.items()},
            "query_selected": self.query_selected.as_dict(),
            "first_hit_kind": dict(self.first_hit_kind),
            "skipped_no_valid_evidence": {str(c): self.skipped_no_evidence[c] for c in RETRIEVED_CATEGORIES},
            "skipped_categories": {str(c): n for c, n in sorted(self.skipped_other.items())},
            "invalid_evidence_ids": self.invalid_ids,
            "speaker_routing": dict(self.routing),
            "top_items_after_now": {"items": self.future["items"], "after_now": self.future["after_now"],
                                    "share": metrics.ratio(self.future["after_now"], self.future["items"])},
            "seconds": self.seconds,
            "questions": [q.as_dict() for q in self.questions],
        }


def questions_to_ask(samples: Sequence[LocomoSample], out: RetrievalEval) -> list[tuple[LocomoSample, QAItem]]:
    """The QA items of the retrieved categories that have valid evidence; the rest are counted in `out`."""
    asked = []
    for sample in samples:
        for qa in sample.qa:
            if qa.category not in RETRIEVED_CATEGORIES:
                out.skipped_other[qa.category] += 1
                continue
            out.invalid_ids += len(qa.invalid_evidence)
            if not qa.evidence:
                out.skipped_no_evidence[qa.category] += 1
                continue
            asked.append((sample, qa))
    return asked


def _strict_items(items: Sequence[Any]) -> list[tuple[str, str, frozenset[str]]]:
    return [(i.kind, i.text, i.dia_ids) for i in items]


def _score(out: RetrievalEval, sample: LocomoSample, qa: QAItem, ranked: list[RankedItem], now: datetime,
           session_time: dict[tuple[str, int], datetime]) -> tuple[int | None, int | None]:
    """Loose and strict first-hit ranks of one question, counted into `out`."""
    depth = max(out.ks)
    texts = {d: sample.turns[d].text for d in qa.evidence if d in sample.turns}
    rank = metrics.first_hit_rank([i.dia_ids for i in ranked], qa.evidence)
    strict = evidence.first_strict_rank(_strict_items(ranked), qa.evidence, texts)
    out.overall.add(rank)
    out.by_category[qa.category].add(rank)
    out.by_sample[sample.sample_id].add(rank)
    if out.strict is not None:
        out.strict.add(strict)
    out.strict_by_category[qa.category].add(strict)
    for kind, counts in out.by_kind.items():
        of_kind = [i for i in ranked if i.kind == kind]
        counts.add(metrics.first_hit_rank([i.dia_ids for i in of_kind], qa.evidence))
        out.strict_by_kind[kind].add(evidence.first_strict_rank(_strict_items(of_kind), qa.evidence, texts))
    out.query_selected.add(metrics.first_hit_rank([i.dia_ids for i in ranked if i.kind != "recent"], qa.evidence))
    if rank is not None and rank <= depth:
        out.first_hit_kind[ranked[rank - 1].kind] += 1
    for item in ranked[:depth]:
        out.future["items"] += 1
        out.future["after_now"] += bool(item.dia_ids) and min(
            session_time[(sample.sample_id, dia_session(d))] for d in item.dia_ids) > now
        if item.kind in evidence.SUMMARY_KINDS and item.dia_ids & set(qa.evidence):
            out.summary_citations["cited"] += 1
            out.summary_citations["holding"] += evidence.strict_hit(item.kind, item.text, item.dia_ids,
                                                                    qa.evidence, texts)
    return rank, strict


def _score_baselines(out: RetrievalEval, sample: LocomoSample, qa: QAItem, pools: baselines.Pools,
                     users: Sequence[str], ranked: list[RankedItem], now: datetime, rng: random.Random) -> None:
    depth = max(out.ks)
    texts = {d: sample.turns[d].text for d in qa.evidence if d in sample.turns}
    lists = {
        "latest_summaries": baselines.latest_summaries(pools, users, now, depth),
        "random_same_kinds": baselines.random_like(pools, [(i.user, i.kind) for i in ranked[:depth]], now, rng),
    }
    for name, items in lists.items():
        out.baselines[name]["loose"].add(metrics.first_hit_rank([i.dia_ids for i in items], qa.evidence))
        out.baselines[name]["strict"].add(evidence.first_strict_rank(
            [(i.kind, i.text, i.dia_ids) for i in items], qa.evidence, texts))


def evaluate_retrieval(
    samples: Sequence[LocomoSample], workspace: Workspace, to_dia: dict[str, dict[str, str]], embedder: Any,
    ks: Sequence[int] = KS, when: str = "session", seed: int = baselines.DEFAULT_SEED,
) -> RetrievalEval:
    """Each question asked for the speaker it names (both when it names both or neither; the two
    ranked lists merged by rank), `now` right after its last evidence session (`when="session"`) or
    a day after the conversation (`when="after"`); the baselines drawn with `seed`."""
    from whisper_assets.stores.postgres import get_engine
    from whisper_assets.stores.qdrant import open_store

    if when not in WHEN:
        raise ValueError(f"when must be one of {WHEN}")
    ks = tuple(sorted(ks))
    out = RetrievalEval.empty(samples, ks, when)
    started = time.perf_counter()
    asked = questions_to_ask(samples, out)
    # One batch instead of one encode per recall() (~10x cheaper on 2 cores).
    vectors = embedder.encode([qa.question for _, qa in asked]) if asked else []
    session_time = {(s.sample_id, x.number): x.date_time for s in samples for x in s.sessions}
    engine = get_engine(workspace.settings)
    pools = {s.sample_id: baselines.load_pools(engine, s, to_dia[s.sample_id]) for s in samples}
    rng = random.Random(seed)
    with open_store(workspace.settings) as store:
        asker = Asker(engine, store, embedder, max(ks))
        for (sample, qa), vector in zip(asked, vectors):
            named = metrics.named_speakers(qa.question, sample.speakers)
            users = named if len(named) == 1 else list(sample.speakers)
            out.routing["one speaker" if len(named) == 1 else "both named" if named else "none named"] += 1
            now = question_now(sample, qa.evidence) if when == "session" else conversation_end(sample)
            lists = [asker.ask(sample.sample_id, user, qa.question, now, vector, to_dia[sample.sample_id])
                     for user in users]
            ranked = metrics.merge_by_rank(lists, key=lambda i: (i.user, i.key))
            rank, strict = _score(out, sample, qa, ranked, now, session_time)
            _score_baselines(out, sample, qa, pools[sample.sample_id], users, ranked, now, rng)
            out.questions.append(QuestionResult(sample.sample_id, qa.index, qa.category, qa.question, qa.evidence,
                                                users, now, rank, ranked[:max(ks)], strict))
    out.seconds = time.perf_counter() - started
    return out
