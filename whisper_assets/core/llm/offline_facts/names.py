"""Names kept: a pet or relative introduced without its name in the rule's match gets the name
the user gives right after it, in an apposition or a "her name is ..." clause of the same or the
next sentence ("I have a cat, Juniper, who ..." / "I got a puppy! Her name is Pickles." ->
"has a cat named Juniper" / "has a puppy named Pickles")."""

from __future__ import annotations

import re

from whisper_assets.core.llm.offline_facts.lexicons import _NOT_NAMES, _REL_SINGULAR
from whisper_assets.core.llm.offline_facts.objects import _is_known_place

_UNNAMED_RE = re.compile(r"^has (?P<num>a|an|two|three|four|five) (?P<noun>[a-z][a-z -]*?)$")
_NAME = r"(?-i:[A-Z][a-zà-ÿ'\-]+)"
_APPOSITION_RE = re.compile(r"^\s*,\s*(?P<a>" + _NAME + r")(?:\s*,?\s+and\s+(?P<b>" + _NAME + r"))?(?=\s*(?:[,.!;]|$|\bwho\b|\bwhich\b))")
_CLAUSE_RE = re.compile(
    r"^\W*(?:and\s+)?(?:(?P<pron>his|her|its|their)\s+names?\s+(?:is|are)|(?P<pron2>he|she|it|they)(?:'s|\s+is|\s+are|'re)\s+(?:called|named))\s+"
    r"(?P<a>" + _NAME + r")(?:\s*,?\s+and\s+(?P<b>" + _NAME + r"))?\b",
    re.I,
)
_PRONOUN_GENDER = {"his": "he", "he": "he", "her": "she", "she": "she"}


def _ok(name: str | None) -> bool:
    return bool(name) and name.lower() not in _NOT_NAMES and not _is_known_place(name)  # type: ignore[union-attr]


def name_for(fact: str, after_match: str, next_sentence: str | None) -> str | None:
    """The fact with the name given after its noun, or None when no name is given.

    `after_match` is the rest of the sentence after the rule's match; `next_sentence` the next
    statement of the message (used only when the name clause opens it)."""
    m = _UNNAMED_RE.match(fact)
    if m is None:
        return None
    plural = m.group("num") not in {"a", "an"}
    noun = m.group("noun").split()[-1]
    gender = _REL_SINGULAR.get(noun)
    found = _APPOSITION_RE.match(after_match)
    if found is None:
        found = _CLAUSE_RE.match(after_match) or (_CLAUSE_RE.match(next_sentence) if next_sentence else None)
        if found is not None:
            pron = (found.group("pron") or found.group("pron2") or "").lower()
            if (pron in {"their", "they"}) != plural and not (plural and pron in {"their", "they"}):
                return None
            if gender and _PRONOUN_GENDER.get(pron, gender) != gender:
                return None
    if found is None:
        return None
    a, b = found.group("a"), found.group("b")
    if plural != (b is not None) or not _ok(a) or (b is not None and not _ok(b)):
        return None
    return f"{fact} named {a}" + (f" and {b}" if b else "")
