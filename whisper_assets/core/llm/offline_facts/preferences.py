"""Rules for preferences: favourites and diets."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts import inflection
from whisper_assets.core.llm.offline_facts.guards import _NEGATION_RE, _UNREAL_RE, EXPLICIT, INDIRECT
from whisper_assets.core.llm.offline_facts.lexicons import _DIETS, _HOBBY_GERUNDS
from whisper_assets.core.llm.offline_facts.objects import _DEICTIC_RE, _YOU_RE, _free_object, _tidy
from whisper_assets.core.llm.offline_facts.registry import ADV, _Ctx, _Rule, Emit, _subj_conf, rule_registrar
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


_FAV_SKIP = frozenset("part bit moment memory scene thing about line quote day time".split())


@_rule(
    "favourite_is",
    "favorite favourite fave fav",
    r"\b(?P<poss>my|our)\s+(?:all[- ]time\s+|absolute\s+|current\s+|new\s+)?(?:favou?rite|fave?)\s+(?P<kind>[a-z][a-z\-]*(?:\s+[a-z][a-z\-]*){0,2}?)(?:\s+of\s+all\s+time|\s+ever)?\s+(?:is|are|has\s+to\s+be|would\s+be|'s)\s+",
)
def _h_favourite_is(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    kind = m.group("kind").lower()
    if any(w in _FAV_SKIP for w in kind.split()) or kind in {"thing", "things", "one"}:
        return []
    obj = _free_object(rest, max_words=9)
    if obj is None:
        return []
    if obj.split()[0].lower() in {"a", "an", "their", "when", "to"}:
        return []  # "my favourite part is when ...", "my favourite thing is to ..."
    return [(Category.PREFERENCE, f"favourite {kind} is {obj}", _subj_conf(m) if m.group("poss").lower() == "my" else INDIRECT)]


@_rule(
    "favourite_of_kinds",
    "favorite favourite fave fav",
    r"\ball\s+(?:kinds|sorts|types)\s+of\s+(?P<kind>[a-z]+(?:\s+[a-z]+)?)\b[^.!?;]{0,40}?(?:,\s*|\s)(?:but|and|though)\s+"
    r"(?:I\s+think\s+)?my\s+(?:absolute\s+|all[- ]time\s+)?(?:favou?rite|fave?)(?:\s+one)?\s+"
    r"(?:is|are|has\s+to\s+be|would\s+be|'s)\s+",
)
def _h_favourite_of_kinds(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    """"I enjoy all kinds of cheese, but my favourite is brie": the kind named before the favourite."""
    kind = inflection.singular(m.group("kind").lower().split()[-1])
    obj = _free_object(rest, max_words=6)
    if obj is None or kind in _FAV_SKIP or obj.split()[0].lower() in {"a", "an", "their", "when", "to"}:
        return []
    return [(Category.PREFERENCE, f"favourite {kind} is {obj}", EXPLICIT)]


@_rule(
    "x_is_my_favourite",
    "favorite favourite fave fav",
    r"(?:,|^|\band\s+)\s*(?P<obj>[^,;:]{1,60}?)(?:\s+(?:is|are|was)|'s)\s+(?:still\s+|definitely\s+|easily\s+|probably\s+|officially\s+|by\s+far\s+|totally\s+)?my\s+(?:all[- ]time\s+|absolute\s+|new\s+)?(?:favou?rite|fave?)\s+(?P<kind>[a-z]+(?:\s+[a-z]+)?)\b",
    check_context=False,
)
def _h_x_is_my_fav(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    kind = m.group("kind").lower()
    if any(w in _FAV_SKIP for w in kind.split()):
        return []
    raw = m.group("obj").strip()
    words = raw.split()
    if words and words[0].lower() in {"it", "it's", "that", "this", "which", "he", "she", "they"}:
        # "I just reread Half of a Yellow Sun, it's still my favourite book"
        before = ctx.sentence[: m.start()]
        tm = _TITLE_BEFORE_RE.search(before)
        if tm is None:
            return []
        title = tm.group("title").strip()
        if not title[:1].isupper() or _NEGATION_RE.search(before) or _UNREAL_RE.search(before[: tm.start()]):
            return []
        return [(Category.PREFERENCE, f"favourite {kind} is {title}", INDIRECT)]
    if len(words) > 6 or not words:
        return []
    if _NEGATION_RE.search(raw) or _UNREAL_RE.search(raw) or _YOU_RE.search(raw) or _DEICTIC_RE.search(raw):
        return []
    if re.search(r"\b(?:i|i'm|my|we|he|she|they|his|her)\b", raw, re.I):
        return []
    if not raw[:1].isupper() and len(words) > 2:
        return []
    obj = _tidy(raw, trim_time=False)
    if not obj:
        return []
    obj = obj[0].upper() + obj[1:] if obj[:1].isupper() else obj
    return [(Category.PREFERENCE, f"favourite {kind} is {obj}", EXPLICIT)]


_TITLE_BEFORE_RE = re.compile(
    r"\bi\s+" + ADV + r"(?:re)?(?:read|watched|saw|listened\s+to|finished|played|rewatched|re-read|re-watched)\s+(?P<title>(?-i:[A-Z])[^,;]{0,60}?)\s*,?\s*(?:and\s+)?$",
    re.I,
)


@_rule(
    "gerund_is_my_fav",
    "favorite favourite fave faves favorites favourites",
    r"(?:^|,\s*)(?P<obj>(?-i:[A-Z]?)[a-z]+ing(?:\s+[a-z]+){0,4}?)\s+(?:is|are)\s+(?:one\s+of\s+)?my\s+(?:all[- ]time\s+)?(?:favou?rites?|faves?)(?:\s+(?:things?|hobb(?:y|ies)|activit(?:y|ies)|pastimes?))?(?=\s*(?:[,.!;]|$))",
)
def _h_gerund_is_my_fav(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = m.group("obj").strip()
    first = obj.split()[0].lower()
    if first not in _HOBBY_GERUNDS or _YOU_RE.search(obj) or _DEICTIC_RE.search(obj):
        return []
    obj = _tidy(obj, trim_time=True)
    return [(Category.HOBBY, f"enjoys {obj[0].lower() + obj[1:]}", EXPLICIT)]


@_rule("diet", "vegetarian vegan pescatarian pescetarian flexitarian teetotal teetotaler gluten-free gluten dairy-free dairy keto kosher halal sober plant-based plant",
       r"\b(?P<subj>i'm|im|i\s+am|i've\s+been|ive\s+been|i\s+have\s+been|we're|we\s+are|we've\s+been)\s+" + ADV + r"(?:a\s+|an\s+)?(?:strict\s+|full[- ]time\s+|lifelong\s+)?(?P<diet>" + _DIETS + r")\b(?!-\w)"
       r"(?=\s*(?:[,.!?;:)]|$|(?:and|but|so|too|now|since|for|lol|haha\w*|though|btw|because|or|as|which|"
       r"mostly|actually|really|now|these|nowadays|anyway|myself|tbh|honestly|lately|again|at|except|except)\b))")
def _h_diet(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    diet = m.group("diet").lower().replace(" ", "-")
    if diet == "teetotaler":
        diet = "teetotal"
    conf = INDIRECT if m.group("subj").lower().startswith("we") else EXPLICIT
    return [(Category.HEALTH if diet == "sober" else Category.PREFERENCE, f"is {diet}", conf)]
