"""Scoring extracted facts against LoCoMo's gold observations (see the package's `locomo` module
for the metric's definition)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from whisper_assets.interfaces.evaluation import metrics
from whisper_assets.interfaces.evaluation.metrics import PRCounts
from whisper_assets.memory.locomo_format import LocomoSample, dia_order, dia_session

# Cosine of MiniLM embeddings of "<speaker> <predicted fact>" and a gold observation at or above
# which the two are taken to state the same fact. Chosen by hand before reading the metric: on the
# dev data (offline backend, 58 predicted facts) every decision the greedy matcher makes with a
# cosine in 0.55-0.80 was labelled by hand ("does the gold observation state or directly entail
# the predicted fact?"). Pairs >= 0.80 were all the same fact. Below, the two overlap: wrong
# matches (a related gold fact about the same topic, e.g. another event with the same hobby) sat
# at 0.56, 0.62, 0.66, 0.72, 0.72, 0.74; right ones (short predicted facts against long, detailed
# gold sentences) at 0.65, 0.66, 0.67, 0.67, 0.68, 0.70, 0.71, 0.71, ... Disagreements with the
# hand labels by threshold: 0.55 -> 6, 0.60 -> 5, 0.65 -> 5, 0.70 -> 9, 0.75 -> 13. Of the two
# best, 0.65 is taken because it accepts fewer wrong matches (4 vs 5): a third of the pairs of
# distinct gold facts of one speaker in one session have a cosine >= 0.60 (a quarter >= 0.65), so
# a lower threshold lets a fact with no gold counterpart match a merely related one. The report
# prints the pairs nearest the threshold and precision/recall at other thresholds.
DEFAULT_THRESHOLD = 0.65
SENSITIVITY_THRESHOLDS = (0.55, 0.60, 0.65, 0.70, 0.75, 0.80)
THRESHOLD_EXAMPLES = 20


@dataclass(frozen=True)
class PredictedFact:
    speaker: str
    session: int
    category: str
    fact: str
    confidence: float
    dia_ids: tuple[str, ...]


@dataclass(frozen=True)
class FactPair:
    """A predicted fact with its best gold candidate and its match (if any)."""

    sample: str
    session: int
    speaker: str
    category: str
    predicted: str  # as compared: fact_text(speaker, fact)
    confidence: float
    dia_ids: tuple[str, ...]
    source: str  # the text of its source turns
    best_gold: str | None
    best_gold_evidence: tuple[str, ...]
    best_similarity: float | None
    matched_gold: str | None
    matched_similarity: float | None
    unmatched_because: str | None  # None when matched

    def as_dict(self) -> dict[str, Any]:
        out = {
            "sample": self.sample, "session": self.session, "speaker": self.speaker, "category": self.category,
            "predicted": self.predicted, "confidence": self.confidence, "dia_ids": list(self.dia_ids),
            "source": self.source, "best_gold": self.best_gold, "best_gold_evidence": list(self.best_gold_evidence),
            "best_similarity": self.best_similarity, "matched_gold": self.matched_gold,
            "matched_similarity": self.matched_similarity,
        }
        if self.matched_gold is None:
            out["unmatched_because"] = self.unmatched_because
        return out


@dataclass
class CategoryCounts:
    predicted: int = 0
    matched: int = 0


@dataclass
class FactEval:
    threshold: float
    counts: PRCounts = field(default_factory=PRCounts)
    by_sample: dict[str, PRCounts] = field(default_factory=dict)
    by_category: dict[str, CategoryCounts] = field(default_factory=dict)
    pairs: list[FactPair] = field(default_factory=list)  # every predicted fact with its best gold
    sensitivity: dict[float, PRCounts] = field(default_factory=dict)  # overall counts at other thresholds
    unplaced: int = 0  # predicted facts none of whose sources maps to a turn


def predicted_facts(engine: Any, sample: LocomoSample, to_dia: dict[str, str]) -> tuple[list[PredictedFact], int]:
    """`fact_observations` of the sample's bot, each placed in the session of its source turns
    (the earliest session when they span several; one session is one day in LoCoMo).
    Returns the facts and how many could not be placed (no source maps to a turn)."""
    from whisper_assets.stores.repository.enrichment import bot_observations

    with engine.connect() as conn:
        rows = bot_observations(conn, sample.sample_id)
    out, unplaced = [], 0
    for user, category, fact, confidence, sources in rows:
        dias = sorted({to_dia[s] for s in sources if s in to_dia}, key=dia_order)
        if not dias:
            unplaced += 1
            continue
        out.append(PredictedFact(user, dia_session(dias[0]), category, fact, float(confidence), tuple(dias)))
    return out, unplaced


def fact_text(speaker: str, fact: str) -> str:
    """A predicted fact as it is compared with the gold: our facts have no subject."""
    return f"{speaker} {fact}"


def _unmatched_because(best_similarity: float | None, threshold: float) -> str:
    if best_similarity is None:
        return "no gold observation for this speaker and session"
    if best_similarity < threshold:
        return "below the threshold"
    return "its best gold was matched to another predicted fact (one-to-one)"


def evaluate_facts(
    samples: Sequence[LocomoSample], predictions: dict[str, list[PredictedFact]],
    encode: Callable[[list[str]], np.ndarray], threshold: float,
    sensitivity: Sequence[float] = SENSITIVITY_THRESHOLDS,
) -> FactEval:
    result = FactEval(threshold)
    result.sensitivity = {t: PRCounts() for t in sorted({*sensitivity, threshold})}
    by_category: dict[str, CategoryCounts] = defaultdict(CategoryCounts)
    for sample in samples:
        turns = sample.turns
        preds: dict[tuple[int, str], list[PredictedFact]] = defaultdict(list)
        for p in predictions.get(sample.sample_id, []):
            preds[(p.session, p.speaker)].append(p)
        groups = []
        texts: list[str] = []
        for session in sample.sessions:
            speakers = list(dict.fromkeys([*sample.speakers, *session.observations]))
            for speaker in speakers:
                ps, gs = preds.get((session.number, speaker), []), session.observations.get(speaker, [])
                groups.append((session.number, speaker, ps, gs, len(texts)))
                texts += [fact_text(speaker, p.fact) for p in ps] + [g.text for g in gs]
        vectors = encode(texts) if texts else np.zeros((0, 384), dtype=np.float32)
        sample_counts = PRCounts()
        for number, speaker, ps, gs, offset in groups:
            pv, gv = vectors[offset: offset + len(ps)], vectors[offset + len(ps): offset + len(ps) + len(gs)]
            sim = metrics.cosine_matrix(pv, gv)
            for t in result.sensitivity:
                result.sensitivity[t] = result.sensitivity[t] + metrics.match_counts(
                    len(ps), len(gs), metrics.greedy_match(sim, t))
            matches = metrics.greedy_match(sim, threshold)
            sample_counts = sample_counts + metrics.match_counts(len(ps), len(gs), matches)
            match_of = {m.predicted: m for m in matches}
            for i, p in enumerate(ps):
                by_category[p.category].predicted += 1
                m = match_of.get(i)
                if m is not None:
                    by_category[p.category].matched += 1
                best = int(np.argmax(sim[i])) if gs else None
                best_similarity = float(sim[i, best]) if best is not None else None
                result.pairs.append(FactPair(
                    sample=sample.sample_id, session=number, speaker=speaker, category=p.category,
                    predicted=fact_text(speaker, p.fact), confidence=p.confidence, dia_ids=p.dia_ids,
                    source=" | ".join(turns[d].text[:200] for d in p.dia_ids if d in turns),
                    best_gold=gs[best].text if best is not None else None,
                    best_gold_evidence=gs[best].evidence if best is not None else (),
                    best_similarity=best_similarity,
                    matched_gold=gs[m.gold].text if m is not None else None,
                    matched_similarity=m.similarity if m is not None else None,
                    unmatched_because=None if m is not None else _unmatched_because(best_similarity, threshold),
                ))
        result.by_sample[sample.sample_id] = sample_counts
        result.counts = result.counts + sample_counts
    result.by_category = dict(sorted(by_category.items()))
    return result


def threshold_examples(pairs: Sequence[FactPair], threshold: float, n: int = THRESHOLD_EXAMPLES) -> list[FactPair]:
    """The n predicted facts whose best gold candidate is nearest the threshold (half above, half
    below), most similar first: the pairs a reader should check to judge the threshold."""
    scored = [p for p in pairs if p.best_similarity is not None]
    above = sorted((p for p in scored if p.best_similarity >= threshold), key=lambda p: p.best_similarity)
    below = sorted((p for p in scored if p.best_similarity < threshold), key=lambda p: -p.best_similarity)
    picked = above[: n // 2] + below[: n - min(len(above), n // 2)]
    picked = picked[:n] if len(picked) >= n else picked + above[n // 2: n // 2 + n - len(picked)]
    return sorted(picked, key=lambda p: -p.best_similarity)


def similarity_histogram(pairs: Sequence[FactPair], bins: Sequence[float]) -> list[dict[str, Any]]:
    values = np.array([p.best_similarity for p in pairs if p.best_similarity is not None])
    counts, edges = np.histogram(values, bins=np.asarray(bins)) if len(values) else (np.zeros(len(bins) - 1), bins)
    return [{"from": float(edges[i]), "to": float(edges[i + 1]), "count": int(counts[i])} for i in range(len(counts))]


def facts_report(facts: FactEval) -> dict[str, Any]:
    """The report's `facts` block."""
    total_gold = facts.counts.gold
    categories = {
        c: {"predicted": v.predicted, "matched": v.matched, "precision": metrics.ratio(v.matched, v.predicted),
            "recall_share": metrics.ratio(v.matched, total_gold)}
        for c, v in facts.by_category.items()
    }
    unmatched = sorted((p for p in facts.pairs if p.matched_gold is None),
                       key=lambda p: (-p.confidence, p.sample, p.session, p.predicted))
    matched = sorted((p for p in facts.pairs if p.matched_gold is not None), key=lambda p: -p.matched_similarity)
    return {
        "overall": facts.counts.as_dict(),
        "by_sample": {s: c.as_dict() for s, c in facts.by_sample.items()},
        "by_category": categories,
        "unplaced_predicted": facts.unplaced,
        "threshold_sensitivity": [{"threshold": t, **c.as_dict()} for t, c in facts.sensitivity.items()],
        "best_similarity_histogram": similarity_histogram(facts.pairs, [round(x, 2) for x in np.arange(0, 1.05, 0.05)]),
        "threshold_examples": [p.as_dict() for p in threshold_examples(facts.pairs, facts.threshold)],
        "unmatched_examples": [p.as_dict() for p in unmatched[:40]],
        "unmatched_reasons": dict(Counter(p.unmatched_because for p in unmatched)),
        "matched_examples": [p.as_dict() for p in matched[:: max(1, len(matched) // 10)][:10]],
        "predicted": [p.as_dict() for p in facts.pairs],
    }
