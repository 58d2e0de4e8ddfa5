"""Rules for pets: "my dog Biscuit", "we have two cats"."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts import inflection
from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT
from whisper_assets.core.llm.offline_facts.lexicons import (
    _DEAD_RE, _HOUSEHOLD_PETS, _NUMBER_WORDS, _PET_ADJ, _PET_NOT_FOLLOWED, _SPECIES,
)
from whisper_assets.core.llm.offline_facts.objects import _article, _name_at, _pet_name
from whisper_assets.core.llm.offline_facts.registry import ADV, _Ctx, _Rule, Emit, _subj_conf, rule_registrar
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


def _species_ok(species: str, rest: str) -> bool:
    nxt = rest.lstrip(" ,").split(" ", 1)[0].lower().strip(",.!?")
    return nxt not in _PET_NOT_FOLLOWED and not rest.startswith("-")


@_rule("my_pet", "my our", r"\b(?P<poss>my|our)\s+" + _PET_ADJ + r"(?P<species>" + _SPECIES + r")\b(?P<named>\s+(?:named|called|is\s+named|is\s+called|are\s+named|are\s+called)\b|['\u2019]s\s+names?\s+(?:is|are)\b)?")
def _h_my_pet(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    species = m.group("species").lower()
    if not _species_ok(species, rest):
        return []
    if _DEAD_RE.search(ctx.sentence):
        return []
    name = _pet_name(rest)
    conf = EXPLICIT if m.group("poss").lower() == "my" else INDIRECT
    plural = species not in {"fish", "goldfish"} and inflection.is_plural(species)
    number = next((w for w in m.group(0).lower().split() if w in {"two", "three", "four"}), None)
    if plural and number:
        species = f"{number} {species}"
    if name:
        if " and " in name:
            return [(Category.PET, f"has {species} named {name}", conf)]
        if plural:
            return []
        return [(Category.PET, f"has {_article(species)} {species} named {name}", conf)]
    if m.group("named") or not _HOUSEHOLD_PETS.match(m.group("species").lower()):
        return []
    if plural:
        return [(Category.PET, f"has {species}", INDIRECT)]
    return [(Category.PET, f"has {_article(species)} {species}", INDIRECT)]


_MIX_RE = re.compile(r"\s+(mix|cross|mutt)\b(?P<named>\s+(?:named|called)\b)?", re.I)


@_rule(
    "have_pet",
    "have got adopted rescued own bought brought",
    r"\b(?P<subj>i|we)(?:\s+|(?='ve\s))" + ADV + r"(?:have|have\s+got|'ve\s+got|got|adopted|rescued|own|bought|brought\s+home)\s+(?P<num>a|an|another|one|"
    + _NUMBER_WORDS + r"|\d+)\s+(?P<adj>(?:[a-z\-]+\s+){0,2}?)(?P<species>" + _SPECIES + r")\b(?P<named>\s+(?:named|called)\b)?",
)
def _h_have_pet(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    species = m.group("species").lower()
    if not _species_ok(species, rest) or _DEAD_RE.search(ctx.sentence):
        return []
    adj = m.group("adj").strip().lower()
    if adj and any(a in _PET_ADJ_SKIP for a in adj.split()):
        return []
    num = m.group("num").lower()
    conf = _subj_conf(m)
    # as written, so a breed named after a place or a person keeps its capitals ("a German Shepherd")
    noun = " ".join(m.group("adj").split() + [m.group("species")])
    named = bool(m.group("named"))
    mixed = _MIX_RE.match(rest) if not named else None
    if mixed:  # "a beagle mix named Biscuit": the breed is only part of it
        noun, rest = f"{noun} {mixed.group(1).lower()}", rest[mixed.end():]
        named = mixed.group("named") is not None
    if num in {"a", "an", "one", "another"}:
        noun_phrase = f"{_article(noun)} {noun}"
    else:
        noun_phrase = f"{num} {noun}"
    if named:
        name = _pet_name(rest)
        if not name:
            return []
        return [(Category.PET, f"has {noun_phrase} named {name}", conf)]
    # "we've got a dog and a cat": one statement, one fact ("has a dog and a cat")
    more = _more_pets(rest, first_plural=num not in {"a", "an", "one", "another"})
    if more:
        items = [noun_phrase, *more]
        return [(Category.PET, f"has {', '.join(items[:-1])} and {items[-1]}", conf)]
    out: list[Emit] = [(Category.PET, f"has {noun_phrase}", conf)]
    # "I've got two dogs, a beagle named Rufus and a lab named Daisy"
    for lm in _PET_LIST_ITEM_RE.finditer(rest[:160]):
        name = _name_at(lm.group("name"))
        if name:
            sp = lm.group("species").lower()
            out.append((Category.PET, f"has {_article(sp)} {sp} named {name}", conf))
    return out


def _more_pets(rest: str, *, first_plural: bool) -> list[str]:
    """The further pets of a coordinated list right after the first one (", a cat and a rabbit").

    Empty unless the whole list is understood: every item a plain pet (no name, no "dog walker",
    no "toy cat") and the list closed by "and"/"&". After a plural a comma opens an apposition
    ("two dogs, a beagle and a lab" is two animals), not a list.
    """
    more: list[str] = []
    pos = 0
    while len(more) < 4:
        cm = _PET_AND_RE.match(rest, pos)
        if cm is None:
            return []
        if not more and first_plural and "," in cm.group("sep"):
            return []
        sp = cm.group("species").lower()
        adj = cm.group("adj").strip().lower()
        if cm.group("named") or not _species_ok(sp, rest[cm.end() :]) or any(a in _PET_ADJ_SKIP for a in adj.split()):
            return []
        num = cm.group("num").lower()
        noun = f"{adj} {sp}" if adj else sp
        more.append(f"{_article(noun)} {noun}" if num in {"a", "an", "one", "another"} else f"{num} {noun}")
        pos = cm.end()
        if cm.group("sep").strip(" ,").lower() in {"and", "&"}:
            return more
    return []


_PET_ADJ_SKIP = frozenset({"stuffed", "toy", "plush", "fake", "robot", "lot", "few"})
_PET_AND_RE = re.compile(
    r"(?P<sep>\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&)\s+)(?P<num>a|an|one|another|" + _NUMBER_WORDS
    + r"|\d+)\s+(?P<adj>(?:[a-z\-]+\s+){0,2}?)(?P<species>" + _SPECIES + r")\b(?P<named>\s+(?:named|called)\b)?",
    re.I,
)
_PET_LIST_ITEM_RE = re.compile(
    r"(?:^|,|\band\b|:)\s*(?:a|an|one)\s+(?P<species>" + _SPECIES + r")\s+(?:named|called)\s+(?P<name>(?-i:[A-Z][a-zà-ÿ'\-]+))",
    re.I,
)
