"""Hybrid ranking of related summaries and past messages: the dense (cosine) order fused with a
lexical order.

A question and the day or turn that answers it often share a rare word (a name, a place, an
object) that a small sentence encoder weighs little beside a text's other topics. The dense search
therefore returns a pool of candidates (limits.RERANK_POOL), which are re-ranked by reciprocal rank
fusion (Cormack et al., SIGIR 2009) of two orders: cosine, and a BM25-style lexical score (the
question's stemmed content words a text holds, each weighted by its inverse document frequency
within the pool, so a word most candidates share counts little). RRF needs no calibration between
the two scores; its constant 60 is the paper's, not fitted here.

Measured with the offline backend (strict evidence recall@10, LoCoMo dev, conv-26 / conv-30): it
helped related summaries on both conversations. On past messages it reordered the first two places
no better than cosine alone while the latest summaries took a third of the places; once those are
left out of questions with content words (orchestration.py), it raised recall after the whole
conversation 0.713 -> 0.720 / 0.704 -> 0.741 (at the session date 0.800 -> 0.793 / 0.765 -> 0.790).
"""

from __future__ import annotations

import math
from typing import Sequence

from whisper_assets.memory.retrieval.query import content_terms

RRF_K = 60


def lexical_scores(terms: set[str], texts: Sequence[str]) -> list[float]:
    """Sum of the pool-IDF of the query terms each text holds (0 when it holds none)."""
    if not terms or not texts:
        return [0.0] * len(texts)
    held = [terms & content_terms(t) for t in texts]
    n = len(texts)
    df = {t: sum(t in h for h in held) for t in terms}
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
    return [sum(idf[t] for t in h) for h in held]


def fused_order(dense: Sequence[float], texts: Sequence[str], terms: set[str]) -> list[int]:
    """Indices of the candidates, best first: reciprocal rank fusion of the dense order and the
    lexical order (a text holding no query word gets no lexical rank). Ties keep the dense order."""
    by_dense = sorted(range(len(dense)), key=lambda i: -dense[i])
    fused = {i: 1.0 / (RRF_K + r + 1) for r, i in enumerate(by_dense)}
    lex = lexical_scores(terms, texts)
    matched = sorted((i for i in range(len(lex)) if lex[i] > 0), key=lambda i: (-lex[i], -dense[i]))
    for r, i in enumerate(matched):
        fused[i] += 1.0 / (RRF_K + r + 1)
    return sorted(by_dense, key=lambda i: -fused[i])
