"""The offline backend, the embedded default: deterministic, no key, no network.

Facts come from the rule-based extractor (offline_facts.py). Summaries are extractive: the
user turns closest to the day's centroid, picked with maximal marginal relevance over the
vectors the hot path already stored (no second embedding pass), in time order, headed by
topics from the facts found and the day's most frequent content words.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from whisper_assets.core.llm.backend import BatchMessage, BatchResult, Fact, SummaryDraft, Usage, check_batch
from whisper_assets.core.llm.offline_facts import Turn, extract_facts

OFFLINE_MODEL = "offline-rules-v1"
OFFLINE_PROMPT_VERSION = "offline-v1"
_WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’-]{3,}")
_STOP = ENGLISH_STOP_WORDS | {
    "just", "like", "really", "yeah", "thanks", "thank", "okay", "pretty", "today", "tomorrow",
    "yesterday", "week", "going", "think", "know", "been", "good", "great", "time", "sure", "haha",
    "that's", "it's", "i'm", "i've", "don't", "what's", "gonna", "want", "lol", "maybe", "still",
    "actually", "thing", "things", "much", "lot", "right", "feel", "feels", "also", "well", "back",
}
_TOPIC_OF_CATEGORY = {
    "occupation": "work", "employer": "work", "education": "studies", "location": "home",
    "travel": "travel", "pet": "pets", "family": "family", "hobby": "hobbies",
    "preference": "likes and dislikes", "health": "health", "plan": "plans",
}
SNIPPET_CHARS = 160


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def pick_representative(vectors: np.ndarray, k: int, diversity: float = 0.3) -> list[int]:
    """Indices of k rows near the centroid and far from each other (MMR), ties by position."""
    n = len(vectors)
    if n <= k:
        return list(range(n))
    centroid = vectors.mean(axis=0)
    relevance = vectors @ centroid
    chosen: list[int] = []
    while len(chosen) < k:
        if chosen:
            redundancy = (vectors @ vectors[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(n)
        score = (1 - diversity) * relevance - diversity * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return sorted(chosen)


def summary_size(n_messages: int) -> int:
    return 1 if n_messages <= 2 else 2 if n_messages <= 6 else 3 if n_messages <= 15 else 4


def keywords(texts: Sequence[str], limit: int = 4) -> list[str]:
    """Content words said at least twice, then proper nouns (capitalised mid-sentence), by frequency."""
    counts: Counter[str] = Counter()
    proper: Counter[str] = Counter()
    for text in texts:
        for sentence in re.split(r"[.!?]\s+", text):
            for i, word in enumerate(_WORD.findall(sentence)):
                lower = word.lower()
                if lower in _STOP or "'" in lower or "’" in lower:
                    continue
                counts[lower] += 1
                if i > 0 and word[0].isupper():
                    proper[word] += 1
    frequent = [w for w, c in counts.most_common() if c >= 2]
    names = [w for w, _ in proper.most_common() if w.lower() not in frequent]
    return (frequent + names)[:limit]


def extractive_summary(user_id: str, messages: Sequence[BatchMessage], facts: Sequence[Fact]) -> SummaryDraft:
    vectors = np.stack([m.vector for m in messages]) if all(m.vector is not None for m in messages) else None
    k = summary_size(len(messages))
    picked = pick_representative(vectors, k) if vectors is not None else list(range(min(k, len(messages))))
    fact_topics = [_TOPIC_OF_CATEGORY[f.category.value] for f in facts if f.category.value in _TOPIC_OF_CATEGORY]
    topics = tuple(dict.fromkeys(fact_topics + keywords([m.content for m in messages])))[:6]
    said = " · ".join(f"“{_snippet(messages[i].content)}”" for i in picked)
    head = f"Talked about {', '.join(topics)}" if topics else "Chatted"
    noun = "message" if len(messages) == 1 else "messages"
    text = f"{head} ({len(messages)} {noun}). Said: {said}"
    return SummaryDraft(user_id, text, topics)


class OfflineBackend:
    model = OFFLINE_MODEL
    prompt_version = OFFLINE_PROMPT_VERSION

    def enrich(self, batch: Sequence[BatchMessage]) -> BatchResult:
        check_batch(batch)
        facts = extract_facts([Turn(m.message_id, m.user_id, m.content) for m in batch])
        by_user: dict[str, list[BatchMessage]] = {}
        for m in batch:
            by_user.setdefault(m.user_id, []).append(m)
        summaries = {
            user: extractive_summary(user, msgs, [f for f in facts if f.user_id == user])
            for user, msgs in by_user.items()
        }
        return BatchResult(facts, summaries, Usage())
