"""What voids a lead or caps its confidence: the confidence levels, negations, hypotheticals and
reported speech, conditions and hedges (instructions to the system: llm/guard.py, the one detector)."""

from __future__ import annotations

import re

EXPLICIT = 0.9
INDIRECT = 0.8
WEAK = 0.7
HEDGED_WEAK = 0.6
HEDGED_STRONG = 0.5

_NEGATION_RE = re.compile(
    r"\b(?:not|never|no|nor|neither|no longer|nobody|none|without|hardly|barely|"
    r"(?:do|does|did|is|are|was|were|have|has|had|ca|can|could|would|should|wo|will|ai|must)n't|"
    r"dont|didnt|doesnt|isnt|wasnt|havent|cant|wont|aint|cannot)\b",
    re.I,
)
_UNREAL_RE = re.compile(
    r"\b(?:wish|wished|wishes|would|wouldn't|imagine|imagining|pretend|pretending|dream|dreaming|"
    r"dreamed|dreamt|suppose|supposing|someday|one day|hypothetically|what if|as if|in case|"
    r"said|says|say that|told|tells|tell (?:them|him|her|everyone|people)|asked|asks|thinks|"
    r"thought|claims|claimed|joked|jokes|lied|roleplay|role-play|in character|you think|"
    r"you thought|you said|you'd|you would|you assume|you guess|should i|do you|would you|"
    r"could you|can you|are you)\b",
    re.I,
)
# A condition in the same clause voids the lead; in an earlier clause it only hedges it.
_CONDITION_RE = re.compile(r"\b(?:if|unless|whether|once|when i get|after i get)\b", re.I)
_IDIOM_IF_RE = re.compile(
    r"\bif (?:i can|i could|possible|i'm honest|i am honest|i'm being honest|you ask me|"
    r"that makes sense|anything|not|so|you must know|i remember correctly|ever|i may|you will)\b",
    re.I,
)
_HEDGE_STRONG_RE = re.compile(
    r"\b(?:maybe|probably|prob|might|perhaps|possibly|hopefully|not sure|potentially)\b", re.I
)
_HEDGE_WEAK_RE = re.compile(
    r"\b(?:i think|i guess|i believe|i suppose|i reckon|i feel like|kind of|kinda|sort of|sorta|"
    r"pretty sure|likely|almost|ish|i hope|someday|some day|one day|eventually|at some point)\b",
    re.I,
)

_GUARD_WINDOW = 200  # characters before a lead that can negate or hedge it

_CLAUSE_SPLIT_RE = re.compile(
    r"[,;:]|\s-\s|\b(?:but|and|so|because|though|although|while|whereas)\b", re.I
)


def _guard(prefix_sentence: str) -> float | None:
    """None when the text before a lead negates it or makes it unreal/reported, else a confidence cap."""
    prefix_sentence = prefix_sentence[-_GUARD_WINDOW:]
    clause = _CLAUSE_SPLIT_RE.split(prefix_sentence)[-1]
    if _NEGATION_RE.search(clause):
        return None
    if _UNREAL_RE.search(prefix_sentence):
        return None
    cleaned = _IDIOM_IF_RE.sub(" ", prefix_sentence)
    if _CONDITION_RE.search(_IDIOM_IF_RE.sub(" ", clause)):
        return None
    if _CONDITION_RE.search(cleaned):
        return HEDGED_STRONG
    return 1.0


def _hedge_cap(text: str) -> float:
    if _HEDGE_STRONG_RE.search(text):
        return HEDGED_STRONG
    if _HEDGE_WEAK_RE.search(text):
        return HEDGED_WEAK
    return 1.0
