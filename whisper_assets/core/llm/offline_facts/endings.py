"""Rules for endings: a pet that died or is gone, a break-up, a home left, a pastime given up,
something the user no longer is. They emit the forms fact consolidation closes facts with
(core/enrichment/fact_slots.py `ending_of`): "no longer has a cat", "broke up with their
girlfriend", "moved out of Leeds", "stopped playing tennis", "is no longer vegetarian".

They run without the negation guard, since "don't ... anymore" is what they read. In the sentence
that states an ending, extract.py drops the other facts of the same category ("My girlfriend and I
broke up" says nothing of a current girlfriend).
"""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts import inflection
from whisper_assets.core.llm.offline_facts.guards import EXPLICIT
from whisper_assets.core.llm.offline_facts.lexicons import _SPECIES
from whisper_assets.core.llm.offline_facts.objects import _article, _cut
from whisper_assets.core.llm.offline_facts.registry import ADV, _Ctx, _Rule, Emit, rule_registrar
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)

_ANYMORE = r"\s+(?:anymore|any\s+more|any\s+longer)\b"
_PARTNER = r"(?:girlfriend|boyfriend|partner|fianc[eé]e?|wife|husband|spouse)"
_PLACE = r"(?-i:[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2})"
# Statuses a person stops being; anything else after "no longer" is too open to read offline.
_STATUS = r"(?:vegetarian|vegan|married|engaged|single|(?:a|an)\s+(?:student|smoker|vegetarian|vegan|[a-z]+(?:er|or|ist|ian)))"


# Where the pastime's object ends: a time or place phrase follows ("stopped running last year").
_OBJECT_STOP = frozenset("last this next yesterday today ago in on at when because after since for a while".split())


def _species_fact(species: str, prefix: str = "no longer has") -> Iterable[Emit]:
    species = inflection.singular(species.lower())
    return [(Category.PET, f"{prefix} {_article(species)} {species}", EXPLICIT)]


@_rule("pet_gone", "longer anymore any",
       r"\b(?:i|we)\s+(?:no\s+longer\s+(?:have|own)|(?:don't|do\s+not)\s+(?:have|own))\s+(?:a|an|any)\s+"
       r"(?P<species>" + _SPECIES + r")\b(?P<anymore>" + _ANYMORE + r")?", check_context=False)
def _h_pet_gone(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if "longer" not in m.group(0).lower() and not m.group("anymore"):
        return []  # "I don't have a cat" is no ending: the user never had one
    return _species_fact(m.group("species"))


@_rule("pet_died", "died passed away",
       r"\b(?:my|our)\s+(?:old\s+|dear\s+|beloved\s+|sweet\s+|poor\s+)?(?P<species>" + _SPECIES + r")"
       r"(?:\s+(?-i:[A-Z][a-z]+))?\s+(?:just\s+|sadly\s+|recently\s+)?(?:died|passed\s+away|ran\s+away)\b",
       check_context=False)
def _h_pet_died(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _species_fact(m.group("species"))


@_rule("break_up", "broke split divorced separated",
       r"\b(?:(?P<pair>(?:my|our)\s+(?P<rel1>" + _PARTNER + r")\s+and\s+i)|i|we)\s+" + ADV
       + r"(?:(?:broke|split)\s+up|got\s+divorced|separated)"
       r"(?:\s+(?:with|from)\s+(?:my\s+)?(?P<rel2>" + _PARTNER + r"))?\b", check_context=False)
def _h_break_up(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    rel = (m.group("rel1") or m.group("rel2") or "").lower()
    return [(Category.FAMILY, f"broke up with their {rel}" if rel else "broke up", EXPLICIT)]


@_rule("home_left", "longer anymore any moved",
       r"\bi\s+(?:no\s+longer\s+live\s+in|(?:don't|do\s+not)\s+live\s+in)\s+(?P<place>" + _PLACE + r")"
       + r"(?P<anymore>" + _ANYMORE + r")?"
       r"|\b(?:i|we)\s+" + ADV + r"moved\s+(?:out\s+of|away\s+from)\s+(?P<from>" + _PLACE + r")", check_context=False)
def _h_home_left(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if m.group("from"):
        return [(Category.LOCATION, f"moved out of {m.group('from')}", EXPLICIT)]
    if "longer" not in m.group(0).lower() and not m.group("anymore"):
        return []
    return [(Category.LOCATION, f"no longer lives in {m.group('place')}", EXPLICIT)]


@_rule("gave_up", "stopped quit gave",
       r"\bi\s+" + ADV + r"(?:stopped|quit|gave\s+up)\s+(?P<act>[a-z]+ing)\b", check_context=False)
def _h_gave_up(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    act = m.group("act").lower()
    if act in {"working", "thinking", "being", "going", "doing", "trying", "talking", "something", "nothing",
               "everything", "anything"}:
        return []  # says nothing a pastime fact could hold
    obj = []
    for word in _cut(rest).split()[:3]:
        if word.lower() in _OBJECT_STOP:
            break
        obj.append(word)
    obj = " ".join(obj)
    return [(Category.HOBBY, f"stopped {act} {obj}".strip(), EXPLICIT)]


@_rule("no_longer_status", "longer",
       r"\b(?:i'm|im|i\s+am)\s+no\s+longer\s+(?P<what>" + _STATUS + r")\b", check_context=False)
def _h_no_longer_status(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = " ".join(m.group("what").lower().split())
    category = Category.FAMILY if what in {"married", "engaged", "single"} else Category.OTHER
    return [(category, f"is no longer {what}", EXPLICIT)]
