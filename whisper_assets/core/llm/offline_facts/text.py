"""Text preparation: quotes, spaces and slang normalised, abbreviation dots protected, quoted speech and
emoji dropped, messages split into sentences and sentences stripped of their question clauses."""

from __future__ import annotations

import re
from typing import Iterator

_MAX_SENTENCE = 600  # longer run-on sentences are cut into clause-aligned chunks

_TRANSLATE = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\u200d": "", "\ufe0f": "",
        "\u2026": "...", "\u2013": " - ", "\u2014": " - ",
    }
)
_DOT = "\u2024"  # stands in for the dot of an abbreviation while splitting sentences
_ABBREV_RE = re.compile(
    r"\b(St|Mt|Dr|Mr|Mrs|Ms|Jr|Sr|Prof|Ave|Rd|Blvd|Ft|Inc|Ltd|Co|Corp|vs|approx|etc|Jan|Feb|Mar|"
    r"Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.(?=\s*\S)"
)
_INITIALISM_RE = re.compile(r"\b(?:[A-Za-z]\.){2,}")
# A first-name initial ("J. Cole", "C. S. Lewis"): its dot ends no sentence.
_INITIAL_RE = re.compile(r"(?<![\w.])(?-i:[A-HJ-Z])\.(?=\s+(?-i:[A-Z])[a-z])")
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\U00002190-\U000021ff"
    "\U00002b00-\U00002bff\U0000fe00-\U0000fe0f]+|(?<!\\w)[:;]-?[()DPp/](?!\\w)"
)
_QUOTED_RE = re.compile(r'"([^"\n]{0,300})"')
_FIRST_PERSON_RE = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|my|me|mine|we|our|us)\b", re.I)
_SENT_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|(?<=[.!?]{2})(?=\S)|\n+|\s*;\s*|\s+\.{3}\s*")
_SPACE_RE = re.compile(r"\s+")
_HSPACE_RE = re.compile(r"[^\S\n]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")

_TOKEN_RE = re.compile(r"[\w]+(?:['\-][\w]+)*")

# A clause that opens a question even without a question mark.
_QUESTION_CLAUSE_RE = re.compile(
    r"(?:^|[,:]\s*|\s-\s|\b(?:and|but|so|or)\s+)"
    r"(?:(?:do|does|did|can|could|should|would|will|shall|is|are|am|was|were)\s+(?:you|u|i|we|it|"
    r"there|that|this|my|he|she|they)\b|(?:what|how|why|where|which|who)\b(?!\s+i\b)|"
    r"(?:any|anyone|anything)\s+(?:idea|ideas|tips?|suggestions?|recommendations?|advice)\b)",
    re.I,
)
_INTERROGATIVE_START_RE = re.compile(
    r"^(?:\W*)(?:do|does|did|can|could|should|would|will|shall|is|are|am|was|were|have|has|had|"
    r"what|what's|whats|how|how's|hows|why|where|where's|when|who|who's|which|isn't|aren't|"
    r"don't|doesn't|didn't|won't|wouldn't|shouldn't|can't|couldn't|any|anyone|u|r)\b",
    re.I,
)


def _norm_space(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def _restore(text: str) -> str:
    return text.replace(_DOT, ".")


# Slang and baby-talk words for pets and relatives, replaced by the standard word so the rules
# and the stored fact use it ("a pup and a kitty" -> "a dog and a cat", "my fam" -> "my family").
# Only right after a determiner or possessive (plus at most one common adjective) and never in a
# capitalised word, so names ("Kitty") and other senses ("a seal pup", "gym bunny") are untouched.
_SLANG_WORDS = {
    "pup": "dog", "pups": "dogs", "doggo": "dog", "doggos": "dogs", "pupper": "dog",
    "puppers": "dogs", "kitty": "cat", "kitties": "cats", "bunny": "rabbit", "bunnies": "rabbits",
    "fam": "family", "hubby": "husband", "wifey": "wife", "bf": "boyfriend", "gf": "girlfriend",
    "bff": "best friend", "kiddo": "kid", "kiddos": "kids", "kiddies": "kids",
    "grandbaby": "grandchild", "grandbabies": "grandchildren",
}
_SLANG_RE = re.compile(
    r"\b(?P<lead>(?:my|our|their|his|her|your|a|an|the|another|one|two|three|four|five)\s+"
    r"(?:(?:little|sweet|new|old|baby|rescue|fluffy|tiny|big|cute|lovely|adorable|senior|furry|"
    r"beloved|own)\s+)?)(?P<word>" + "|".join(sorted(_SLANG_WORDS, key=len, reverse=True)) + r")\b(?![-'\u2024]\w)",
    re.I,
)
# Substrings one of which every slang word contains: most messages skip the regex altogether.
_SLANG_HINTS = ("pup", "dogg", "kitt", "bunn", "fam", "hubby", "wifey", "bf", "gf", "kidd", "grandbab")


def _unslang(m: re.Match[str]) -> str:
    word = m.group("word")
    if word[:1].isupper() and not word.isupper():
        return m.group(0)  # "my cat Kitty": a name
    return m.group("lead") + _SLANG_WORDS[word.lower()]


def _prepare(text: str) -> str:
    """Normalise quotes/space/slang, protect abbreviation dots, drop quoted first-person speech and emoji."""
    text = text.translate(_TRANSLATE)
    lower = text.lower()
    if any(hint in lower for hint in _SLANG_HINTS):
        text = _SLANG_RE.sub(_unslang, text)
    text = _NEWLINES_RE.sub("\n", _HSPACE_RE.sub(" ", text))
    text = _ABBREV_RE.sub(lambda m: m.group(1) + _DOT, text)
    text = _INITIALISM_RE.sub(lambda m: m.group(0).replace(".", _DOT), text)
    text = _INITIAL_RE.sub(lambda m: m.group(0).replace(".", _DOT), text)

    def _quoted(m: re.Match[str]) -> str:
        inner = m.group(1)
        # Quoted speech in the first person is somebody else talking; titles stay.
        return " ; " if _FIRST_PERSON_RE.search(inner) else inner

    text = _QUOTED_RE.sub(_quoted, text)
    text = _EMOJI_RE.sub(" ; ", text)
    return text


def _statement_part(sentence: str) -> str:
    """The part of a sentence that is a statement (questions and question clauses removed)."""
    s = sentence.strip()
    if not s:
        return ""
    if _INTERROGATIVE_START_RE.match(s) and (s.endswith("?") or _QUESTION_CLAUSE_RE.match(s)):
        return ""
    m = _QUESTION_CLAUSE_RE.search(s)
    while m is not None and m.start() == 0 and not _INTERROGATIVE_START_RE.match(s):
        m = _QUESTION_CLAUSE_RE.search(s, m.end())
    if m is not None:
        s = s[: m.start()]
    elif s.endswith("?"):
        # "I'm allergic to peanuts, any snack ideas?": keep all but the final clause.
        cut = max(s.rfind(","), s.rfind(" - "))
        if cut <= 0:
            return ""
        s = s[:cut]
    return s.strip(" ,;:-")


def _chunks(sentence: str) -> Iterator[str]:
    """A run-on sentence cut at commas into pieces of at most _MAX_SENTENCE characters."""
    while len(sentence) > _MAX_SENTENCE:
        cut = sentence.rfind(",", 0, _MAX_SENTENCE)
        cut = cut if cut > 0 else _MAX_SENTENCE
        yield sentence[:cut]
        sentence = sentence[cut + 1 :]
    yield sentence


def _sentences(text: str) -> list[str]:
    prepared = _prepare(text)
    out: list[str] = []
    for raw in _SENT_SPLIT_RE.split(prepared):
        if not raw or not raw.strip():
            continue
        for chunk in _chunks(_norm_space(raw)):
            part = _statement_part(chunk)
            if part:
                out.append(part)
    return out
