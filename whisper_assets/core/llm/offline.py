"""The offline backend, the embedded default: deterministic, no key, no network.

Facts come from the rule-based extractor (offline_facts/). Summaries (offline_summary.py) are a
few third-person sentences: the day's facts under the user's name, then the first-person
statements of the turns closest to the day's centroid (maximal marginal relevance over the vectors
the hot path already stored, no second embedding pass), citing exactly the turns they draw on.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from whisper_assets.core.llm.backend import BatchMessage, BatchResult, Fact, SummaryDraft, Usage, check_batch
from whisper_assets.core.llm.offline_facts import Turn, extract_facts
from whisper_assets.core.llm.offline_summary import summarize

OFFLINE_MODEL = "offline-rules-v1"
OFFLINE_PROMPT_VERSION = "offline-v4"  # v2: third-person summaries citing their turns; v3: endings, subjects restored; v4: titles, lists, goals, unborn children, mixed breeds; news told without "I" reported in summaries
_WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’-]{3,}")
_NAME_RUN = re.compile(r"(?<![\w'’])[A-Z][a-zà-ÿ]+(?:\s+[A-Z][a-zà-ÿ]+)*")
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
def keywords(texts: Sequence[str], limit: int = 4) -> list[str]:
    """Content words said at least twice, then proper nouns (capitalised mid-sentence), by frequency."""
    counts: Counter[str] = Counter()
    proper: Counter[str] = Counter()
    for text in texts:
        for sentence in re.split(r"[.!?]\s+", text):
            for word in _WORD.findall(sentence):
                lower = word.lower()
                if lower in _STOP or "'" in lower or "’" in lower:
                    continue
                counts[lower] += 1
            for m in _NAME_RUN.finditer(sentence):  # "Lake Travis" is one name, not "Lake" and "Travis"
                if m.start() > 0 and _WORD.fullmatch(m.group().split()[0]) and m.group().lower() not in _STOP:
                    proper[m.group()] += 1
    frequent = [w for w, c in counts.most_common() if c >= 2]
    names = [w for w, _ in proper.most_common() if w.lower() not in frequent]
    return (frequent + names)[:limit]


def offline_summary(user_id: str, messages: Sequence[BatchMessage], facts: Sequence[Fact]) -> SummaryDraft:
    """Third-person sentences from the user's own turns (offline_summary.py), with topics from the
    facts found and the day's most frequent content words."""
    fact_topics = [_TOPIC_OF_CATEGORY[f.category.value] for f in facts if f.category.value in _TOPIC_OF_CATEGORY]
    topics = tuple(dict.fromkeys(fact_topics + keywords([m.content for m in messages])))[:6]
    return summarize(user_id, messages, facts, topics)


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
            user: offline_summary(user, msgs, [f for f in facts if f.user_id == user])
            for user, msgs in by_user.items()
        }
        return BatchResult(facts, summaries, Usage())
