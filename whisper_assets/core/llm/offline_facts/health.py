"""Rules for health: allergies, conditions, injuries, habits quit, recoveries."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT
from whisper_assets.core.llm.offline_facts.lexicons import _CONDITIONS, _HEALTH_ADJ
from whisper_assets.core.llm.offline_facts.objects import _DEICTIC_RE, _YOU_RE, _free_object, _swap_pronouns
from whisper_assets.core.llm.offline_facts.registry import ADV, IM, IWE, _Ctx, _Rule, Emit, rule_registrar
from whisper_assets.core.llm.offline_facts.text import _norm_space
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


_NOUN_LIST_RE = re.compile(
    r"\s*((?:[a-z][\w-]*)(?:\s+[a-z][\w-]*)?(?:\s*,\s*[a-z][\w-]*(?:\s+[a-z][\w-]*)?)*(?:,?\s+(?:and|&)\s+[a-z][\w-]*(?:\s+[a-z][\w-]*)?))(?=\s*(?:[.!?;]|$))"
)


@_rule("allergic", "allergic", IM + r"(?:very\s+|super\s+|severely\s+|deathly\s+|mildly\s+|slightly\s+|a\s+bit\s+|a\s+little\s+)?allergic\s+to\s+")
def _h_allergic(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    lm = _NOUN_LIST_RE.match(rest)
    if lm and not _YOU_RE.search(lm.group(1)) and not _DEICTIC_RE.search(lm.group(1)):
        return [(Category.HEALTH, f"is allergic to {_norm_space(lm.group(1))}", EXPLICIT)]
    obj = _free_object(rest, max_words=4)
    if obj is None:
        return []
    return [(Category.HEALTH, f"is allergic to {obj}", EXPLICIT)]


@_rule("allergy", "allergy", IWE + r"(?:have|'ve\s+got|have\s+got)\s+(?:a|an)\s+(?:severe\s+|bad\s+|mild\s+|serious\s+)?(?P<what>[a-z\-]+(?:\s+[a-z\-]+)?)\s+allergy\b")
def _h_allergy(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if m.group("subj").lower() != "i":
        return []
    what = m.group("what").lower()
    if what in {"food", "bad", "slight", "weird", "little"}:
        return []
    return [(Category.HEALTH, f"is allergic to {what}", EXPLICIT)]


@_rule("health_adj", "intolerant diabetic celiac coeliac asthmatic epileptic anemic anaemic deaf hearing blind colorblind colourblind color-blind colour-blind dyslexic autistic immunocompromised pregnant",
       IM + r"(?:(?:\d+|a\s+few|two|three|four|five|six|seven|eight|nine)\s+(?:months?|weeks?)\s+)?(?P<what>" + _HEALTH_ADJ + r")\b")
def _h_health_adj(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = m.group("what").lower()
    if what == "pregnant":
        return [(Category.HEALTH, "is pregnant", EXPLICIT)]
    return [(Category.HEALTH, f"is {what}", EXPLICIT)]


@_rule("condition", "have diagnosed suffer living got",
       r"\bi\s+" + ADV + r"(?P<verb>have|'ve\s+got|have\s+got|was\s+diagnosed\s+with|got\s+diagnosed\s+with|suffer\s+from|am\s+living\s+with|'m\s+living\s+with)\s+(?P<what>" + _CONDITIONS + r")\b(?!\s+(?:of|for|about|in\s+the))")
def _h_condition(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = m.group("what").lower()
    if what in {"a cold", "the flu", "covid"}:
        return []  # passing
    if "allergy" in what or what == "allergies":
        return []
    verb = m.group("verb").lower()
    canon = {"adhd": "ADHD", "add": "ADD", "ocd": "OCD", "ptsd": "PTSD", "ibs": "IBS", "pcos": "PCOS"}.get(what, _norm_space(what))
    if "diagnosed" in verb:
        return [(Category.HEALTH, f"was diagnosed with {canon}", EXPLICIT)]
    return [(Category.HEALTH, f"has {canon}", EXPLICIT)]


@_rule("injury", "broke sprained pulled tore twisted injured hurt strained fractured dislocated",
       r"\bi\s+" + ADV + r"(?P<verb>broke|sprained|pulled|tore|twisted|injured|hurt|strained|fractured|dislocated)\s+(?P<obj>(?:my|a)\s+(?:left\s+|right\s+|lower\s+)?(?:ankle|wrist|arm|leg|knee|back|shoulder|neck|hamstring|calf|toe|finger|hip|foot|hand|elbow|rib|ribs|nose|collarbone|acl|meniscus|muscle\s+in\s+my\s+\w+|something\s+in\s+my\s+(?:left\s+|right\s+|lower\s+)?\w+))\b")
def _h_injury(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _swap_pronouns(_norm_space(m.group("obj")))
    return [(Category.HEALTH, f"{m.group('verb').lower()} {obj}", EXPLICIT)]


@_rule("quit_habit", "quit stopped", r"\bi\s+" + ADV + r"(?:quit|stopped|gave\s+up)\s+(?P<what>smoking|drinking|vaping|alcohol|caffeine|sugar|cigarettes|weed)\b")
def _h_quit_habit(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return [(Category.HEALTH, f"quit {m.group('what').lower()}", EXPLICIT)]


@_rule("recovering", "recovering", IM + r"(?:still\s+)?recovering\s+from\s+")
def _h_recovering(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=5)
    if obj is None or obj.split()[0].lower() in {"the", "that", "a"} and len(obj.split()) < 2:
        return []
    if obj.split()[0].lower() in {"the"}:
        return []
    return [(Category.HEALTH, f"is recovering from {obj}", EXPLICIT)]
