"""What voids a lead or caps its confidence: the confidence levels, instructions to the system,
negations, hypotheticals and reported speech, conditions and hedges."""

from __future__ import annotations

import re

from whisper_assets.core.llm.offline_facts.text import _TOKEN_RE

EXPLICIT = 0.9
INDIRECT = 0.8
WEAK = 0.7
HEDGED_WEAK = 0.6
HEDGED_STRONG = 0.5

_INJECTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+)*"
    r"(?:previous\s+|prior\s+|above\s+|earlier\s+|preceding\s+|former\s+|system\s+)*"
    r"(?:instructions?|prompts?|rules|directions|guidelines|context)\b"
    r"|^\W*(?:system|assistant|developer|admin)\s*(?:prompt|message|note)?\s*:"
    r"|\[\s*(?:system|inst)\s*\]|<\|?\s*(?:system|im_start)"
    r"|\b(?:record|save|store|log|write down|memori[sz]e)\s+(?:this|that|it)?\s*"
    r"(?:that\b|as\s+(?:a\s+)?(?:permanent\s+|new\s+)?(?:fact|memory))"
    r"|\b(?:say|state|claim|pretend|assume|act as if|write|tell everyone)\s+that\b"
    r"|\byou are now\b|\bjailbreak\b|\bnew instructions\b|\bfrom now on,? you\b",
    re.I,
)

_INJECTION_TRIGGERS = frozenset(
    """
    ignore disregard forget override system assistant developer admin inst im_start record save
    store log write add memorise memorize remember say state claim pretend assume act tell jailbreak
    instructions instruction
    """.split()
)


def _looks_injected(text: str) -> bool:
    """Instructions aimed at the bot/system rather than statements about the user."""
    lower = text.lower()
    tokens = set(_TOKEN_RE.findall(lower))
    if tokens.isdisjoint(_INJECTION_TRIGGERS) and not ("now" in tokens and "you" in tokens):
        return False
    return _INJECTION_RE.search(text) is not None


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
