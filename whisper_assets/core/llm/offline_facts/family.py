"""Rules for family: relatives (and what is said about them), kids, marriage."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts import inflection
from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT, WEAK
from whisper_assets.core.llm.offline_facts.jobs import _job_and_org, _org
from whisper_assets.core.llm.offline_facts.lexicons import (
    _DEAD_RE, _NOT_NAMES, _NUMBER_WORDS, _PET_ADJ, _REL_ADJ, _REL_ALT, _REL_KEEP_ADJ, _REL_PLURAL,
    _REL_SINGULAR, _REL_TRIVIAL, _SPECIES, _UNBORN_RE,
)
from whisper_assets.core.llm.offline_facts.objects import (
    _NAMES_LIST_RE, _article, _cut, _is_known_place, _name_at, _pet_name, _place_object, _swap_pronouns,
)
from whisper_assets.core.llm.offline_facts.registry import (
    ADV, IM, IWE, _Ctx, _Rule, Emit, _subj_conf, rule_registrar,
)
from whisper_assets.core.llm.offline_facts.text import _norm_space
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


def _rel_phrase(adjs: str, rel: str) -> tuple[str, bool]:
    kept = [a for a in adjs.lower().split() if a in _REL_KEEP_ADJ]
    nums = [a for a in adjs.lower().split() if a in {"two", "three", "four"}]
    rel = rel.lower()
    plural = rel in _REL_PLURAL
    noun = " ".join([*kept, rel])
    if plural:
        return (f"{nums[0]} {noun}" if nums else noun), True
    return f"{_article(noun)} {noun}", False


_CHILDREN = frozenset({"kid", "kids", "baby", "child", "children", "son", "daughter", "twins"})
_ENDEARMENT_RE = re.compile(r"(?:'s|\bis|\bwas|\bare)\s+(?:\w+\s+)?my\s+(?:little\s+|first\s+|other\s+)?baby\b", re.I)


@_rule(
    "my_relative",
    "my our",
    r"\b(?P<poss>my|our)\s+(?P<adjs>" + _REL_ADJ + r")(?P<rel>" + _REL_ALT + r")\b(?![\-])(?:(?P<named>['\u2019]s\s+name\s+is\b|\s+is\s+(?:named|called)\b)|(?P<poss_s>['\u2019]s\b))?",
)
def _h_my_relative(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    rel = m.group("rel").lower().replace(" ", "-")
    phrase, plural = _rel_phrase(m.group("adjs"), rel)
    conf = EXPLICIT if m.group("poss").lower() == "my" else INDIRECT
    if rel in {"kid", "kids", "baby", "child", "children"} and m.group("poss").lower() == "my" and re.search(r"\b(?:students?|class|teach|daycare|nursery)\b", ctx.sentence, re.I):
        return []
    if rel in _CHILDREN and _UNBORN_RE.search(ctx.sentence):
        return []  # "until my son is born": not yet a child the user has
    if rel == "baby" and _ENDEARMENT_RE.search(ctx.sentence):
        return []  # "that bike is my baby": a thing loved, not a child
    out: list[Emit] = []
    name = None
    if m.group("named"):
        name = _name_at(rest)
        if name and not plural:
            return [(Category.FAMILY, f"has {phrase} named {name}", conf)]
        return []
    if not m.group("poss_s"):
        if plural:
            nm = _NAMES_LIST_RE.match(rest)
            if nm and nm.group(1).lower() not in _NOT_NAMES and nm.group(2).lower() not in _NOT_NAMES:
                name = f"{nm.group(1)} and {nm.group(2)}"
        else:
            name = _name_at(rest)
    if name:
        out.append((Category.FAMILY, f"has {phrase} named {name}", conf))
    # "my sister lives in Lyon", "my sister called today, she lives in Lyon"
    if not plural:
        pron = _REL_SINGULAR.get(rel)
        tail = rest
        if name:
            tail = rest.split(name, 1)[1] if name in rest else rest
        lm = _REL_LIVES_RE.match(tail)
        if lm is None and pron:
            cm = re.search(r",\s*(?:and\s+)?" + pron + r"\s+(?:lives|'s\s+living|is\s+living|now\s+lives)\s+in\s+", tail, re.I)
            if cm and not re.search(r"\bmy\s+(?:" + _REL_ALT + r")\b", tail[: cm.start()], re.I):
                lm = cm
        if lm is not None:
            place = _place_object(tail[lm.end() :])
            if place:
                out.append((Category.FAMILY, f"has {phrase} who lives in {place}", conf if lm.re is _REL_LIVES_RE else INDIRECT))
        wm = re.match(r"\s+works\s+(?:at|for)\s+", tail, re.I)
        if wm:
            org = _org(_cut(tail[wm.end() :]))
            if org and org[0][:1].isupper():
                out.append((Category.FAMILY, f"has {phrase} who works at {org[0]}", min(conf, org[1])))
        jm = _REL_JOB_RE.match(tail)
        if jm is not None:
            for cat, fact, c in _job_and_org(tail[jm.end() :], conf, need_lexicon=jm.group("lex") is not None):
                if cat in (Category.OCCUPATION, Category.EMPLOYER) and fact.startswith("works "):
                    out.append((Category.FAMILY, f"has {phrase} who {fact}", min(c, conf)))
    if out:
        return out
    if rel in _REL_TRIVIAL or m.group("adjs").strip().lower() in {"late"}:
        return []
    if _DEAD_RE.search(ctx.sentence) and rel not in {"kids", "children"}:
        return []
    return [(Category.FAMILY, f"has {phrase}", INDIRECT if rel not in {"kids", "kid", "child", "children", "baby"} else WEAK)]


_REL_LIVES_RE = re.compile(r"\s*,?\s+(?:who\s+)?(?:still\s+|now\s+|also\s+)?(?:lives|is\s+living)\s+in\s+", re.I)
_REL_JOB_RE = re.compile(r"\s+(?:works\s+as\s+(?:a|an)\s+|(?P<lex>is\s+(?:a|an)\s+))(?=\w)", re.I)


@_rule("name_my_rel", "my", r"(?-i:\b(?P<name>[A-Z][a-z]+)),\s+my\s+(?P<adjs>" + _REL_ADJ + r")(?P<rel>" + _REL_ALT + r")(?=\s*(?:,|\.|!|$))", check_context=False)
def _h_name_my_rel(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = m.group("name")
    rel = m.group("rel").lower()
    if name.lower() in _NOT_NAMES or rel in _REL_PLURAL or _is_known_place(name) or name.lower().endswith("ly"):
        return []
    if _name_at(rest) is not None:
        return []  # "Osaka, my girlfriend Priya": the name is the one after the relation
    phrase, _ = _rel_phrase(m.group("adjs"), rel)
    return [(Category.FAMILY, f"has {phrase} named {name}", EXPLICIT)]


@_rule("name_my_pet", "my", r"(?-i:\b(?P<name>[A-Z][a-z]+)),\s+my\s+" + _PET_ADJ + r"(?P<species>" + _SPECIES + r")(?=\s*(?:,|\.|!|$))", check_context=False)
def _h_name_my_pet(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = m.group("name")
    species = m.group("species").lower()
    if name.lower() in _NOT_NAMES or name.lower().endswith("ly") or _is_known_place(name) or inflection.is_plural(species) and species not in {"fish", "goldfish"}:
        return []
    if _DEAD_RE.search(ctx.sentence):
        return []
    return [(Category.PET, f"has {_article(species)} {species} named {name}", EXPLICIT)]


@_rule("name_is_my", "my", r"(?-i:\b(?P<name>[A-Z][a-z]+))\s+is\s+my\s+(?P<adjs>" + _REL_ADJ + r")(?P<what>" + _REL_ALT + r"|" + _SPECIES + r")(?=\s*(?:[,.!;]|$))")
def _h_name_is_my(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = m.group("name")
    what = m.group("what").lower()
    if name.lower() in _NOT_NAMES or _is_known_place(name) or what in _REL_PLURAL or what not in _REL_SINGULAR and inflection.is_plural(what) and what not in {"fish", "goldfish"}:
        return []
    if what in _REL_SINGULAR:
        phrase, _ = _rel_phrase(m.group("adjs"), what)
        return [(Category.FAMILY, f"has {phrase} named {name}", EXPLICIT)]
    if _DEAD_RE.search(ctx.sentence):
        return []
    return [(Category.PET, f"has {_article(what)} {what} named {name}", EXPLICIT)]


@_rule(
    "have_kids",
    "have got",
    IWE + r"(?:have|have\s+got|'ve\s+got)\s+(?P<num>a|an|one|" + _NUMBER_WORDS + r"|\d+|twins|triplets)\b\s*(?P<adjs>(?:(?:little|young|grown|adult|teenage|beautiful|wonderful|amazing|older|younger|baby|big|twin|lovely)\s+)*)(?P<rel>" + _REL_ALT + r")?\b(?P<named>\s+(?:named|called)\b)?",
)
def _h_have_kids(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    num = m.group("num").lower()
    rel = (m.group("rel") or "").lower()
    if num in {"twins", "triplets"}:
        if rel:
            return []
        return [(Category.FAMILY, f"has {num}", _subj_conf(m))]
    if not rel or rel in _REL_TRIVIAL:
        return []
    plural = rel in _REL_PLURAL
    if plural == (num in {"a", "an", "one"}):
        return []
    adjs = [a for a in m.group("adjs").lower().split() if a in _REL_KEEP_ADJ]
    noun = " ".join([*adjs, rel])
    phrase = f"{_article(noun)} {noun}" if num in {"a", "an", "one"} else f"{num} {noun}"
    if num in {"a couple of", "a few", "several"}:
        return []
    if m.group("named"):
        name = _pet_name(rest)
        if not name:
            return []
        return [(Category.FAMILY, f"has {phrase} named {name}", _subj_conf(m))]
    nm = _NAMES_LIST_RE.match(rest)
    if plural and nm and nm.group(1).lower() not in _NOT_NAMES and nm.group(2).lower() not in _NOT_NAMES:
        return [(Category.FAMILY, f"has {phrase} named {nm.group(1)} and {nm.group(2)}", _subj_conf(m))]
    lm = _REL_LIVES_RE.match(rest)
    if lm and not plural:
        place = _place_object(rest[lm.end() :])
        if place:
            return [(Category.FAMILY, f"has {phrase} who lives in {place}", _subj_conf(m))]
    return [(Category.FAMILY, f"has {phrase}", _subj_conf(m))]


@_rule(
    "marital",
    "married engaged divorced widowed widow widower single separated child",
    IM + r"(?P<status>married|engaged|divorced|widowed|a\s+widow(?:er)?|single|separated|an\s+only\s+child)\b(?![-'])(?P<to>\s+to\s+)?",
)
def _h_marital(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    status = _norm_space(m.group("status").lower())
    if status.startswith("a widow"):
        status = "widowed"
    if status == "single" and re.match(r"\s*(?:mom|mum|dad|mother|father|parent)", rest, re.I):
        return []
    if m.group("to") and status in {"married", "engaged"}:
        name = _name_at(rest)
        if name:
            return [(Category.FAMILY, f"is {status} to {name}", EXPLICIT)]
    return [(Category.FAMILY, f"is {status}", EXPLICIT)]


@_rule("got_married", "married engaged", r"\b(?P<subj>i|we)\s+" + ADV + r"got\s+(?P<what>married|engaged)\b")
def _h_got_married(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return [(Category.FAMILY, f"is {m.group('what').lower()}", _subj_conf(m))]


@_rule("adopted_child", "adopted", r"\b(?P<subj>i|we)\s+" + ADV + r"adopted\s+(?P<obj>(?:a|an|our|my)\s+(?:little\s+|baby\s+)?(?:girl|boy|son|daughter|child|kid|baby))\b")
def _h_adopted_child(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _swap_pronouns(_norm_space(m.group("obj").lower()))
    return [(Category.FAMILY, f"adopted {obj}", _subj_conf(m))]


@_rule("been_married", "married", r"\b(?P<subj>i've|ive|i\s+have|we've|we\s+have)\s+" + ADV + r"been\s+(?:happily\s+)?married\b")
def _h_been_married(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return [(Category.FAMILY, "is married", _subj_conf(m))]


@_rule(
    "parent_of",
    "mom mum mother dad father parent grandmother grandfather grandma grandpa grandparent",
    IM + r"(?:a|an)\s+(?P<adj>(?:single|proud|stay[- ]at[- ]home|working|new|first[- ]time)\s+)?(?P<role>mom|mum|mother|dad|father|parent|grandmother|grandfather|grandma|grandpa|grandparent)\b(?!-)(?:\s+(?:of|to)\s+(?P<n>" + _NUMBER_WORDS + r"|\d+|twins)\b)?",
)
def _h_parent_of(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    adj = (m.group("adj") or "").strip().lower()
    adj = "" if adj == "proud" else adj
    noun = " ".join(x for x in [adj, m.group("role").lower()] if x)
    fact = f"is {_article(noun)} {noun}"
    if m.group("n"):
        fact += f" of {m.group('n').lower()}"
    return [(Category.FAMILY, fact, EXPLICIT)]
