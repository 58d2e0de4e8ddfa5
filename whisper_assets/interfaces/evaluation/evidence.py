"""Strict evidence: when does a retrieved item really hold an evidence turn? (pure functions)

The loose rule (the old headline) credits an item when its provenance cites an evidence turn. A day
summary cites every turn its user said that day, so it is credited whatever its text says. The
strict rule:

- a **message** counts when it is the evidence turn;
- a **fact** counts when it cites the evidence turn (a fact is drawn from the turns it cites);
- a **summary** counts when it cites the evidence turn AND its own text holds the turn:
  at least `HOLD_SHARE` (half) of the turn's content words appear in the summary's text, and at
  least `HOLD_MIN_WORDS` (2) of them (all of them when the turn has fewer). Content words: lower-cased
  tokens of 3+ letters that are not English stop words, Porter-stemmed (rouge-score's tokenizer,
  the one ROUGE-L uses), so "adopted puppies" and "adopt a puppy" share two. A long turn also
  counts when `HOLD_MANY_WORDS` (10) of its content words are in the summary: extractive summaries
  quote a turn's first 160 characters, which hold its point but not half of a long turn's words.

Hand check (24 summaries in recall()'s top 10 citing an evidence turn, LoCoMo dev, offline
backend, asked after the conversation): the rule said "holds" for 6, all right; of the 18 "does
not hold", a reader agreed on 12, found 5 borderline (the summary names the topic or event, not the
turn's detail) and 1 wrong (the same event told in other words). The ten-word clause was added
after the check: one summary quoting the start of a long turn was "does not hold" without it.

The rule is checkable by hand: `holds_detail` returns the shared and missing words.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Collection, Mapping, Sequence

HOLD_SHARE = 0.5
HOLD_MIN_WORDS = 2
HOLD_MANY_WORDS = 10
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
    shared: frozenset[str]
    missing: frozenset[str]
    holds: bool


def holds_detail(summary_text: str, turn_text: str) -> Holding:
    turn = content_words(turn_text)
    shared = turn & content_words(summary_text)
    need = min(len(turn), max(HOLD_MIN_WORDS, math.ceil(HOLD_SHARE * len(turn))))
    enough = len(shared) >= need or len(shared) >= HOLD_MANY_WORDS
    return Holding(frozenset(shared), frozenset(turn - shared), bool(turn) and enough)


def holds(summary_text: str, turn_text: str) -> bool:
    """Does a summary's text hold the turn (half of its content words and at least two, or ten)?"""
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
