"""Rules for pastimes said in other ways than "I like ...": past ones ("I used to play the
piano"), long-standing ones ("I've been painting for ten years"), passions ("I have a passion for
woodworking", "baking is my passion"), roles one loves ("I love being a nurse" -> works as a nurse)
and things just finished ("I just finished reading a novel about whales")."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT
from whisper_assets.core.llm.offline_facts.jobs import _job_and_org
from whisper_assets.core.llm.offline_facts.lexicons import _GERUND_NOT, _HOBBY_GERUNDS, entries
from whisper_assets.core.llm.offline_facts.objects import _free_object
from whisper_assets.core.llm.offline_facts.registry import ADV, _Ctx, _Rule, Emit, _subj_conf, rule_registrar
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)

_HOBBY_VERBS = entries("hobby_verbs")
_VERB_ALT = "|".join(sorted(_HOBBY_VERBS, key=len, reverse=True))
_PARENT_ROLES = frozenset("mom mum mother dad father parent grandma grandpa grandmother grandfather".split())


@_rule("used_to_hobby", "used", r"\b(?P<subj>i|we)\s+" + ADV + r"used\s+to\s+(?P<verb>" + _VERB_ALT + r")\b")
def _h_used_to_hobby(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = m.group("verb").lower()
    if verb == "compete" and rest.lower().startswith(" in "):
        obj = _free_object(rest[4:], max_words=6)
        return [(Category.HOBBY, f"used to compete in {obj}", _subj_conf(m))] if obj else []
    obj = _free_object(rest, max_words=6) if rest.strip() else None
    if verb in {"play", "ride", "compete", "coach", "teach"} and obj is None:
        return []  # "used to play" what?
    return [(Category.HOBBY, f"used to {verb}" + (f" {obj}" if obj else ""), _subj_conf(m))]


@_rule("been_doing_for", "been", r"\b(?P<subj>i've|ive|i\s+have|we've|we\s+have)\s+" + ADV + r"been\s+(?P<g>[a-z]+ing)\b(?P<obj>[^,.;!?]{0,60}?)\s+(?P<dur>for\s+(?:(?:about|over|almost|nearly|more than)\s+)?(?:\d+|two|three|four|five|six|seven|eight|nine|ten|twenty|many|several)\s+years|since\s+(?:i\s+was\s+(?:a\s+kid|little|\w+)|(?:19|20)\d\d))\b")
def _h_been_doing_for(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    g = m.group("g").lower()
    if g not in _HOBBY_GERUNDS or g in _GERUND_NOT:
        return []
    obj = m.group("obj").strip()
    if obj and _free_object(obj, max_words=5) is None:
        return []
    dur = " ".join(m.group("dur").lower().split()).replace("since i was", "since they were")
    return [(Category.HOBBY, " ".join(f"has been {g} {obj} {dur}".split()), _subj_conf(m))]


@_rule("passion_for", "passion", r"\bi\s+" + ADV + r"(?:have|'ve\s+got)\s+(?:a\s+(?:real\s+|deep\s+|huge\s+|big\s+)?)?passion\s+for\s+")
def _h_passion_for(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an"} and len(obj.split()) < 3:
        return []
    return [(Category.PREFERENCE, f"is passionate about {obj}", EXPLICIT)]


@_rule("is_my_passion", "passion", r"^(?P<what>[A-Za-z][\w'-]*(?:\s+[A-Za-z][\w'-]*){0,2})\s+(?:is|has\s+always\s+been|has\s+become)\s+(?:really\s+)?my\s+(?:biggest\s+|true\s+|real\s+|greatest\s+)?passion\b")
def _h_is_my_passion(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(m.group("what"), max_words=3)
    if obj is None:
        return []
    words = obj.split()
    if len(words) == 1 and not obj.isupper() or words[0].lower() in _HOBBY_GERUNDS:
        obj = words[0].lower() + obj[len(words[0]):]  # "Photography" only opened the sentence
    return [(Category.PREFERENCE, f"is passionate about {obj}", EXPLICIT)]


@_rule("love_being", "being", r"\bi\s+" + ADV + r"(?:love|enjoy|like)\s+being\s+(?=(?:a|an)\s)")
def _h_love_being(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    words = rest.split()
    if len(words) >= 2 and words[1].lower().strip(",.!") in _PARENT_ROLES:
        role = words[1].lower().strip(",.!")
        return [(Category.FAMILY, f"is {words[0].lower()} {role}", EXPLICIT)]
    return [e for e in _job_and_org(rest, EXPLICIT, need_lexicon=True) if e[0] is Category.OCCUPATION]


@_rule("finished_doing", "finished", r"\bi\s+" + ADV + r"(?:have\s+|'ve\s+)?finished\s+(?P<g>reading|writing|painting|knitting|building|watching|recording)\s+(?=(?:a|an|my|the)\s|(?-i:[A-Z]))")
def _h_finished_doing(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=8)
    if obj is None or len(obj.split()) < 2 and not obj[:1].isupper():
        return []
    return [(Category.HOBBY, f"finished {m.group('g').lower()} {obj}", EXPLICIT)]

