"""Strict evidence: when does a retrieved item really hold an evidence turn? (pure functions)

The loose rule (the old headline) credits an item when its provenance cites an evidence turn. A day
summary cites every turn its user said that day, so it is credited whatever its text says. The
strict rule:

- a **message** counts when it is the evidence turn;
- a **fact** counts when it cites the evidence turn (a fact is drawn from the turns it cites);
- a **summary** counts when it cites the evidence turn AND its own text holds the turn: one
  sentence of the turn with at least `HOLD_MIN_WORDS` (3) content words has at least three of them,
  and at least `HOLD_SHARE` (half) of them, in the summary's text. Content words: lower-cased tokens
  of 3+ letters that are not English stop words, Porter-stemmed (rouge-score's tokenizer, the one
  ROUGE-L uses), so "adopted puppies" and "adopt a puppy" share two. Per sentence, because a turn
  packs greetings and asides around its point ("Hey, long time! I went to a parade last week.
  What about you?") and a summary keeps the point; sentences of fewer than three content words
  ("Thanks, Mel!") never count alone.

Hand check, 48 summaries in recall()'s top 10 citing an evidence turn (LoCoMo dev, offline backend,
asked after the conversation; 24 extractive summaries of an earlier commit, 24 third-person ones):
reader and rule agreed on 36, 9 were borderline (the summary names the topic or event in a few
words: the rule says no), 3 disagreed: the rule said no to a summary telling the event in other
words and to one holding a sentence of two content words, and yes to a summary of other turns
sharing three generic words with a sentence of four. A
first rule over the whole turn (half of all its content words) disagreed on 14 of the 24
third-person summaries: it failed every long turn whose point the summary kept.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Collection, Mapping, Sequence

HOLD_SHARE = 0.5
HOLD_MIN_WORDS = 3
SUMMARY_KINDS = frozenset({"related", "time_range", "recent", "summary"})


@functools.cache
def _tokenizer():  # type: ignore[no-untyped-def]
    from rouge_score import tokenizers

    return tokenizers.DefaultTokenizer(use_stemmer=True)


@functools.cache
def _stop_stems() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | frozenset(_tokenizer().tokenize(" ".join(ENGLISH_STOP_WORDS)))


def content_words(text: str) -> set[str]:
    """Stemmed content words of a text (see the module docstring)."""
    stop = _stop_stems()
    return {w for w in _tokenizer().tokenize(text) if len(w) >= 3 and w.isalpha() and w not in stop}


@dataclass(frozen=True)
class Holding:
    sentence: int | None  # index of the first sentence of the turn the summary holds (None: none)
    shared: frozenset[str]  # of that sentence (or of the best one)
    missing: frozenset[str]
    holds: bool


def _sentences(text: str) -> list[str]:
    return [p.strip() for line in text.splitlines() for p in re.split(r"(?<=[.!?])\s+", line) if p.strip()]


def holds_detail(summary_text: str, turn_text: str) -> Holding:
    """Which sentence of the turn the summary holds, with the shared and missing content words."""
    summary = content_words(summary_text)
    best: Holding | None = None
    for i, sentence in enumerate(_sentences(turn_text)):
        words = content_words(sentence)
        if len(words) < HOLD_MIN_WORDS:
            continue
        shared = words & summary
        ok = len(shared) >= max(HOLD_MIN_WORDS, math.ceil(HOLD_SHARE * len(words)))
        h = Holding(i if ok else None, frozenset(shared), frozenset(words - shared), ok)
        if ok:
            return h
        if best is None or len(h.shared) > len(best.shared):
            best = h
    return best or Holding(None, frozenset(), frozenset(), False)


def holds(summary_text: str, turn_text: str) -> bool:
    """Does a summary's text hold the turn (three, and half, of one sentence's content words)?"""
    return holds_detail(summary_text, turn_text).holds


def strict_hit(kind: str, text: str, cited: Collection[str], evidence: Collection[str],
               turn_text: Mapping[str, str]) -> bool:
    """Does one retrieved item strictly hold one of the evidence turns? `cited`: the turn ids of its
    provenance; `turn_text`: turn id -> text."""
    found = set(cited) & set(evidence)
    if not found:
        return False
    if kind not in SUMMARY_KINDS:
        return True
    return any(holds(text, turn_text[d]) for d in found if d in turn_text)


def first_strict_rank(items: Sequence[tuple[str, str, Collection[str]]], evidence: Collection[str],
                      turn_text: Mapping[str, str]) -> int | None:
    """1-based rank of the first (kind, text, cited ids) item that strictly holds an evidence turn."""
    for rank, (kind, text, cited) in enumerate(items, start=1):
        if strict_hit(kind, text, cited, evidence, turn_text):
            return rank
    return None
