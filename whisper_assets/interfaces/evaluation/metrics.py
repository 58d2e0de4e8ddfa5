"""Pure metric functions of the LoCoMo evaluation (no I/O, no models: vectors come in as arrays).
Dia ids (LoCoMo's turn ids in evidence) are read by `memory.locomo_format`.

- one-to-one greedy matching of predicted and gold facts on a cosine similarity matrix,
- precision / recall with micro-averaging,
- ROUGE-L F1 (rouge-score, Porter stemming) and cosine similarity of unit vectors,
- evidence recall@k over ranked items that carry provenance,
- merging ranked lists by rank, and finding which speakers a question names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Collection, Hashable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")


# -- matching and precision / recall ---------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    predicted: int  # row index
    gold: int  # column index
    similarity: float


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of `a` with every row of `b` (rows need not be unit length)."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1) if len(a) else np.zeros((0, 1))
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1) if len(b) else np.zeros((0, a.shape[1]))
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return an @ bn.T


def greedy_match(similarity: np.ndarray, threshold: float) -> list[Match]:
    """One-to-one matching, greedy by highest similarity: repeatedly take the most similar pair whose
    row and column are both still free, as long as it is >= threshold. Ties go to the lower row,
    then the lower column (deterministic). Returns matches in the order they were taken."""
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2 or sim.size == 0:
        return []
    rows, cols = np.nonzero(sim >= threshold)
    candidates = sorted(zip(rows.tolist(), cols.tolist()), key=lambda rc: (-sim[rc], rc[0], rc[1]))
    used_rows: set[int] = set()
    used_cols: set[int] = set()
    matches = []
    for r, c in candidates:
        if r in used_rows or c in used_cols:
            continue
        used_rows.add(r)
        used_cols.add(c)
        matches.append(Match(r, c, float(sim[r, c])))
    return matches


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by (not 0, not 1)."""
    return None if denominator == 0 else numerator / denominator


@dataclass
class PRCounts:
    """Counts behind precision (matched predicted / predicted) and recall (matched gold / gold).

    Adding counts and dividing at the end is micro-averaging."""

    predicted: int = 0
    matched_predicted: int = 0
    gold: int = 0
    matched_gold: int = 0

    def __add__(self, other: PRCounts) -> PRCounts:
        return PRCounts(self.predicted + other.predicted, self.matched_predicted + other.matched_predicted,
                        self.gold + other.gold, self.matched_gold + other.matched_gold)

    @property
    def precision(self) -> float | None:
        return ratio(self.matched_predicted, self.predicted)

    @property
    def recall(self) -> float | None:
        return ratio(self.matched_gold, self.gold)

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def as_dict(self) -> dict[str, Any]:
        return {"predicted": self.predicted, "matched_predicted": self.matched_predicted, "gold": self.gold,
                "matched_gold": self.matched_gold, "precision": self.precision, "recall": self.recall,
                "f1": self.f1}


def match_counts(n_predicted: int, n_gold: int, matches: Sequence[Match]) -> PRCounts:
    """Counts of one matching (one-to-one, so matched predicted == matched gold == len(matches))."""
    return PRCounts(n_predicted, len({m.predicted for m in matches}), n_gold, len({m.gold for m in matches}))


# -- summaries ---------------------------------------------------------------------------------------

@functools.cache
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 (longest common subsequence of tokens, Porter-stemmed), 0.0 for an empty side."""
    return float(_rouge_scorer().score(reference, prediction)["rougeL"].fmeasure)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(cosine_matrix(np.asarray(a)[None, :], np.asarray(b)[None, :])[0, 0])


# -- retrieval ---------------------------------------------------------------------------------------

def evidence_hit_at_k(ranked_provenance: Sequence[Collection[str]], evidence: Collection[str], k: int) -> bool:
    """Does the provenance (source ids) of any of the first k items contain an evidence id?"""
    if k < 1:
        raise ValueError("k must be >= 1")
    wanted = set(evidence)
    return any(wanted & set(sources) for sources in ranked_provenance[:k])


def first_hit_rank(ranked_provenance: Sequence[Collection[str]], evidence: Collection[str]) -> int | None:
    """1-based rank of the first item whose provenance holds an evidence id, None if none does."""
    wanted = set(evidence)
    for rank, sources in enumerate(ranked_provenance, start=1):
        if wanted & set(sources):
            return rank
    return None


@dataclass
class HitCounts:
    """Evidence recall@k counts: questions evaluated and hits at each k."""

    ks: tuple[int, ...]
    evaluated: int = 0
    hits: dict[int, int] = field(default_factory=dict)

    def add(self, rank: int | None) -> None:
        self.evaluated += 1
        for k in self.ks:
            self.hits[k] = self.hits.get(k, 0) + (rank is not None and rank <= k)

    def recall(self, k: int) -> float | None:
        return ratio(self.hits.get(k, 0), self.evaluated)

    def as_dict(self) -> dict[str, Any]:
        return {"evaluated": self.evaluated, **{f"hits@{k}": self.hits.get(k, 0) for k in self.ks},
                **{f"recall@{k}": self.recall(k) for k in self.ks}}


def merge_by_rank(lists: Sequence[Sequence[T]], key: Any = None) -> list[T]:
    """Round-robin by rank: the first of every list, then the second of every list, ...;
    an item whose key (default: the item) was already taken is skipped."""
    seen: set[Hashable] = set()
    out: list[T] = []
    for rank in range(max((len(x) for x in lists), default=0)):
        for items in lists:
            if rank < len(items):
                item = items[rank]
                k = key(item) if key else item
                if k not in seen:
                    seen.add(k)
                    out.append(item)
    return out


def named_speakers(question: str, speakers: Sequence[str]) -> list[str]:
    """The speakers a question names (whole word, case-insensitive; "Ann's" names Ann),
    in the order given."""
    return [s for s in speakers if re.search(rf"(?<![\w]){re.escape(s)}(?![\w])", question, re.I)]
