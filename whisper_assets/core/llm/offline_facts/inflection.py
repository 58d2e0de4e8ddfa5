"""English articles, noun number and verb agreement for fact texts, by the `inflect` library (one
engine, answers cached): "a"/"an" by sound ("an hour", "a university"), plural nouns ("puppies",
"children"), third-person verbs ("watch" -> "watches", "have" -> "has")."""

from __future__ import annotations

import functools
import re

import inflect

_ENGINE = inflect.engine()
# inflect strips the "s" of any word ("bus" -> "bu", "tennis" -> "tenni"): words with these endings
# are taken as singular (a few plurals such as "taxis" are missed; no singular is called plural).
_S_SINGULAR_ENDINGS = ("ss", "us", "is", "as", "ics", "news", "series", "species")
_SAME_PLURAL = frozenset({"fish", "goldfish", "sheep", "deer", "moose", "bison", "salmon", "trout"})


@functools.lru_cache(maxsize=8192)
def article(noun_phrase: str) -> str:
    """The indefinite article for `noun_phrase`: "an" before a vowel sound, else "a"."""
    word = noun_phrase.strip().split(" ", 1)[0] if noun_phrase.strip() else ""
    if not word:
        return "a"
    digits = re.match(r"\d+", word)
    if digits:
        # inflect reads digits one by one ("a 8-year-old"): eight..., eleven and eighteen say "an"
        return "an" if digits.group(0)[0] == "8" or digits.group(0) in {"11", "18"} else "a"
    return _ENGINE.a(word).split(" ", 1)[0].lower()


@functools.lru_cache(maxsize=8192)
def is_plural(noun: str) -> bool:
    """True when `noun` is a plural noun ("dogs", "puppies", "children"); "fish" counts as both."""
    w = noun.lower()
    if w in _SAME_PLURAL:
        return True
    if w.endswith(_S_SINGULAR_ENDINGS):
        return False
    singular = _ENGINE.singular_noun(w)
    return bool(singular) and singular != w and _ENGINE.plural_noun(singular) == w


@functools.lru_cache(maxsize=8192)
def is_singular(noun: str) -> bool:
    """True when `noun` is a singular noun (not a plural one); "fish" counts as both."""
    w = noun.lower()
    return w in _SAME_PLURAL or not is_plural(w)


@functools.lru_cache(maxsize=4096)
def third_person(verb: str) -> str:
    """The third-person singular present of a base verb ("love" -> "loves", "do" -> "does")."""
    v = verb.lower()
    if v == "have":
        return "has"
    if v == "be":
        return "is"
    return _ENGINE.plural_noun(v)


@functools.lru_cache(maxsize=8192)
def singular(noun: str) -> str:
    """The singular of a plural noun ("puppies" -> "puppy"); other words unchanged."""
    w = noun.lower()
    if w in _SAME_PLURAL or not is_plural(w):
        return w
    return _ENGINE.singular_noun(w) or w
