"""The last check on a fact's text before it is stored: `garbled_reason` names what makes a fact
unreadable or wrong in form, or returns None for a well-formed fact.

A rule cuts the object of a fact out of free chat text, and a cut in the wrong place leaves text
that reads badly or says less than it seems to. A fact is rejected, with the first reason that
applies, when:

* ``empty_object``: nothing follows the lead ("likes", "has a", "works as");
* ``dangling_word``: it ends in a function word or a pronoun ("loves spending time with",
  "is going to the", "likes hanging out with them");
* ``unresolved_pronoun``: it speaks of a third person by pronoun ("loves spending time with him",
  "is proud of her"): without the sentence the reader cannot tell who that is;
* ``possessive_name``: a possessive is left on a name that should stand alone ("has a dog named
  Rex's", "visited Rome's");
* ``doubled_word``: the same word twice in a row ("the the", "to to");
* ``vague_quantity``: the object is a quantity of nothing in particular ("likes kinds of food",
  "loves lots of things");
* ``broken_agreement``: article or number does not agree with its noun ("has a dogs", "has two
  cat", "an dog", "a apple", "favourite colors is red"); judged with the `inflect` library;
* ``verb_without_object``: it ends in a gerund that needs an object ("enjoys watching",
  "likes making").

`without_vague_quantity` first drops such a quantifier where a real object follows it ("likes
all kinds of board games" -> "likes board games").

Plain functions, no state: the extractor calls it on every fact it emits, and tests call it alone.
"""

from __future__ import annotations

import functools
import re

from whisper_assets.core.llm.offline_facts import inflection

EMPTY_OBJECT = "empty_object"
DANGLING_WORD = "dangling_word"
UNRESOLVED_PRONOUN = "unresolved_pronoun"
POSSESSIVE_NAME = "possessive_name"
DOUBLED_WORD = "doubled_word"
VAGUE_QUANTITY = "vague_quantity"
BROKEN_AGREEMENT = "broken_agreement"
VERB_WITHOUT_OBJECT = "verb_without_object"
# Gerunds that say nothing without their object ("enjoys watching" what?).
_TRANSITIVE_GERUNDS = frozenset(
    "watching making doing having getting taking using buying playing trying finding giving seeing "
    "eating visiting bringing keeping wearing building collecting".split()
)
_FAVOURITE_PLURAL = re.compile(r"^favou?rite (\w+) is\b", re.I)

_LEADS = frozenset(
    """
    has have is are was likes loves enjoys hates dislikes works wants plans lives visited went
    used to as at in a an the of named called who
    """.split()
)
# A fact never ends with these: the object was cut in the middle of a phrase.
_DANGLING = frozenset(
    """
    a an the to of in on at for with from by about into onto over under after before than as and or
    but nor so if that this these those which who whom whose what when where while because very
    really just quite too also my our your his her its their them him he she it they we you me us
    i is are was were be been being am has have had do does did can could will would should
    some any every each no not named called like such
    """.split()
)
# Third persons a fact cannot name by pronoun (their/them/they stand for the user).
_THIRD_PERSON = re.compile(r"\b(?:he|she|him|his|her|hers|himself|herself|it|its|itself)\b", re.I)
_POSSESSIVE_NAME = re.compile(
    r"\b(?:named|called|name is|married to|engaged to|visited|lives in|is from|moved to|grew up in)"
    r"\s+(?:[A-Z][\w-]*\s+)*[A-Z][\w-]*'s?(?=\s|$)"
)
_DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.I)
_DOUBLE_OK = frozenset({"had", "that", "very", "bye", "so", "no", "knock", "ha", "go"})
_VAGUE = re.compile(
    r"^(?:\w+\s+){1,3}?(?:kinds?|sorts?|types?|lots|a lot|plenty|loads|tons|bunch|bunches|variety)\s+of\b"
    r"|^(?:\w+\s+){1,2}(?:things|stuff|everything|anything|something|all of them|all of those)$",
    re.I,
)
_CONNECTIVES = frozenset("after before since until because though although unless whether".split())
_SAME_NUMBER = frozenset({"fish", "goldfish", "sheep", "deer", "moose", "bison", "salmon", "trout"})
_NUMBERS = frozenset("two three four five six seven eight nine ten eleven twelve several many few".split())
_ARTICLE_NOUN = re.compile(r"\b(a|an)\s+([A-Za-z][\w-]*)", re.I)
_NUMBER_NOUN = re.compile(r"\b(" + "|".join(_NUMBERS) + r")\s+(?:(?:\w+[- ])?(?:year|month)[- ]old\s+)?([a-z][\w-]*)$|\b("
                          + "|".join(_NUMBERS) + r")\s+([a-z][\w-]*)\s+(?:named|called|who|and)\b", re.I)


def _agreement_broken(fact: str) -> bool:
    for m in _ARTICLE_NOUN.finditer(fact):
        article, word = m.group(1).lower(), m.group(2)
        if word.lower() in _DANGLING or word.lower() in _CONNECTIVES:
            return True  # "painted an after they visited": the object was cut at the wrong word
        if word[:1].isdigit() or word.isupper():
            continue  # "an 8-year-old", "an MBA": inflect's reading of these is unreliable
        if article != inflection.article(word):
            return True
        nxt = fact[m.end():].lstrip()
        ends_phrase = not nxt or nxt.split(" ", 1)[0].lower() in {"named", "called", "who", "and", "that"}
        if ends_phrase and inflection.is_plural(word) and word.lower() not in _SAME_NUMBER:
            return True
    m = _NUMBER_NOUN.search(fact)
    if m:
        noun = (m.group(2) or m.group(4)).lower()
        if noun.isalpha() and len(noun) > 2 and not inflection.is_plural(noun):
            return True
    return False


@functools.lru_cache(maxsize=16384)  # the same fact texts recur across turns and users
def garbled_reason(fact: str) -> str | None:
    """Why `fact` (third person, no subject: "has a dog named Rex") is garbled, or None if it is not."""
    words = fact.split()
    if not words or all(w in _LEADS for w in words):
        return EMPTY_OBJECT
    if words[-1].strip(".,!?") in _DANGLING:  # lower case only: "likes The Who" is a band
        return DANGLING_WORD
    if re.fullmatch(r"[A-HJ-Z]\.?", words[-1]):
        return DANGLING_WORD  # "likes Kendrick Lamar, J": cut at an initial
    if _THIRD_PERSON.search(fact):
        return UNRESOLVED_PRONOUN
    if _POSSESSIVE_NAME.search(fact):
        return POSSESSIVE_NAME
    dm = _DOUBLED.search(fact)
    if dm and dm.group(1).lower() not in _DOUBLE_OK:
        return DOUBLED_WORD
    if _VAGUE.search(fact):
        return VAGUE_QUANTITY
    if _agreement_broken(fact):
        return BROKEN_AGREEMENT
    fm = _FAVOURITE_PLURAL.match(fact)
    if fm and inflection.is_plural(fm.group(1)):
        return BROKEN_AGREEMENT
    if len(words) >= 2 and words[-1].lower() in _TRANSITIVE_GERUNDS:
        return VERB_WITHOUT_OBJECT
    return None


_VAGUE_QUANTIFIER = re.compile(
    r"\b(?:(?:all|many|different|various|other|several|these|those)\s+)?(?:kinds|sorts|types)\s+of\s+"
    r"|\b(?:a\s+lot|lots|plenty|loads|tons|a\s+bunch|a\s+variety)\s+of\s+(?:(?:different|other|various)\s+)?"
    r"|\b(?:different|various)\s+(?=\w+s\b)",
    re.I,
)


def without_vague_quantity(fact: str) -> str:
    """`fact` without a quantifier that says nothing ("all kinds of", "a lot of different")."""
    if "of" not in fact and "different" not in fact and "various" not in fact:
        return fact
    return " ".join(_VAGUE_QUANTIFIER.sub("", fact).split())
