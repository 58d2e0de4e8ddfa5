"""The rule type, the first-person leads the patterns share ("I'm", "I've", "I/we") and the
decorator that registers a handler with its pattern in a family's rule list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT
from whisper_assets.core.llm.schemas import Category

ADV = (
    r"(?:(?:also|still|currently|now|actually|really|just|already|finally|both|originally|"
    r"definitely|totally|officially|basically|recently|mainly|mostly|kinda|kind of|sort of|"
    r"pretty much|probably|technically|usually|even|literally|honestly|seriously|absolutely|"
    r"so|too|all|even|happily|proudly|newly|currently|legit|genuinely|truly|obviously)\s+)*"
)
IM = r"\b(?:i'm|im|i\s+am)\s+" + ADV
IVE = r"\b(?:i've|ive|i\s+have)\s+" + ADV
IWE = r"\b(?P<subj>i|we)\s+" + ADV
IMWE = r"\b(?P<subj>i'm|im|i\s+am|we're|we\s+are|(?:my\s+\w+(?:\s+(?-i:[A-Z]\w+))?\s+and\s+i\s+are))\s+" + ADV


@dataclass(frozen=True)
class _Ctx:
    sentence: str
    message: str  # the whole prepared message, lower-cased


Emit = tuple[Category, str, float]
Handler = Callable[[re.Match[str], str, _Ctx], Iterable[Emit]]


@dataclass(frozen=True)
class _Rule:
    name: str
    words: frozenset[str]  # the rule can only match a sentence containing one of these words
    regex: re.Pattern[str]
    handler: Handler
    check_context: bool = True  # apply negation / hypothetical guards to the text before the match


def rule_registrar(rules: list[_Rule]) -> Callable[..., Callable[[Handler], Handler]]:
    """A `_rule(name, words, pattern)` decorator that appends each handler it decorates to `rules`."""

    def _rule(name: str, words: str, pattern: str, *, check_context: bool = True) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            rules.append(
                _Rule(name, frozenset(words.split()), re.compile(pattern, re.I), fn, check_context)
            )
            return fn

        return deco

    return _rule


def _subj_conf(m: re.Match[str], base: float = EXPLICIT) -> float:
    subj = (m.groupdict().get("subj") or "i").lower()
    return base if subj in {"i", "i'm", "im", "i am"} or subj.startswith("i ") else min(base, INDIRECT)
