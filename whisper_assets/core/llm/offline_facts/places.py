"""Rules for location and travel: where the user lives, grew up, comes from, moved to, has been."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT
from whisper_assets.core.llm.offline_facts.lexicons import (
    _REL_ALT, _REL_PLURAL, _REL_SINGULAR, _SCHOOL_RE, _TRAVEL_WORDS_RE,
)
from whisper_assets.core.llm.offline_facts.objects import _article, _is_known_place, _place_object
from whisper_assets.core.llm.offline_facts.registry import (
    ADV, IM, IMWE, IWE, _Ctx, _Rule, Emit, _subj_conf, rule_registrar,
)
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


def _place_fact(lead: str, rest: str, conf: float) -> list[Emit]:
    place = _place_object(rest)
    if place is None:
        return []
    return [(Category.LOCATION, f"{lead} {place}", conf)]


@_rule("live_in", "live living reside residing", r"\b(?P<subj>i|we|i'm|im|i\s+am|we're|we\s+are)\s+" + ADV + r"(?:live|living|reside|residing)\s+in\s+")
def _h_live_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    subj = m.group("subj").lower()
    if subj in {"i", "we"} and m.group(0).lower().rstrip().endswith(("living in", "residing in")):
        return []
    return _place_fact("lives in", rest, _subj_conf(m))


@_rule("live_with", "live living", r"\bi\s+" + ADV + r"(?:live|living)\s+(?:alone\s+)?with\s+(?P<poss>my|our)\s+(?P<rel>" + _REL_ALT + r"|partner|roommates?|flatmates?|housemates?)\b(?!['-])")
def _h_live_with(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    rel = m.group("rel").lower()
    category = Category.FAMILY if rel in _REL_SINGULAR or rel in _REL_PLURAL or rel == "parents" else Category.OTHER
    return [(category, f"lives with their {rel}", EXPLICIT)]


@_rule("based_in", "based located", IM + r"(?:based|located)\s+(?:in|out\s+of)\s+")
def _h_based_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _place_fact("lives in", rest, EXPLICIT)


@_rule("have_lived", "lived living", r"\b(?P<subj>i've|ive|i\s+have|we've|we\s+have)\s+" + ADV + r"(?:lived|been\s+living)\s+in\s+")
def _h_have_lived(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    place = _place_object(rest)
    if place is None:
        return []
    after = rest[rest.find(place) + len(place) :] if place in rest else ""
    if re.match(r"\s*(?:now\s+)?(?:since|for|my\s+(?:whole|entire)\s+life|all\s+my\s+life)\b", after, re.I):
        return [(Category.LOCATION, f"lives in {place}", _subj_conf(m))]
    return [(Category.LOCATION, f"has lived in {place}", _subj_conf(m, INDIRECT))]


@_rule("used_to_live", "used lived", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:used\s+to\s+live|lived)\s+in\s+")
def _h_used_to_live(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    conf = EXPLICIT if "used" in m.group(0).lower() else INDIRECT
    return _place_fact("used to live in", rest, _subj_conf(m, conf))


_SUBJ_GREW = (
    r"(?:\b(?P<subj>i|we)\s+|\bmy\s+(?P<rel>" + _REL_ALT + r")(?:\s+(?-i:[A-Z]\w+))?\s+and\s+i\s+|(?P<ellip>^))"
)


@_rule("grew_up", "grew raised brought", _SUBJ_GREW + ADV + r"(?:grew\s+up|was\s+raised|were\s+raised|was\s+brought\s+up|born\s+and\s+raised|was\s+born\s+and\s+raised)\s+in\s+")
def _h_grew_up(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if m.group("ellip") is not None and m.group("subj") is None and m.group("rel") is None:
        conf = INDIRECT
    elif m.group("rel") or (m.group("subj") or "").lower() == "we":
        conf = INDIRECT
    else:
        conf = EXPLICIT
    return _place_fact("grew up in", rest, conf)


@_rule("born_raised", "raised grew", r"(?:\bi\s+was\s+|^)born\s+in\s+[^,.;!?]{2,40}?\s*,?\s+(?:but|and)\s+(?:i\s+)?(?:was\s+)?(?:raised|grew\s+up)\s+in\s+")
def _h_born_raised(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _place_fact("grew up in", rest, EXPLICIT if m.group(0).lower().startswith("i") else INDIRECT)


@_rule("born_in", "born", r"(?:\b(?P<subj>i|we)\s+" + ADV + r"(?:was|were)\s+|^)born\s+in\s+")
def _h_born_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    conf = _subj_conf(m) if m.group("subj") else INDIRECT
    return _place_fact("was born in", rest, conf)


@_rule("from", "from", r"\b(?:(?:i'm|im|i\s+am)\s+" + ADV + r"(?:originally\s+)?from|i\s+" + ADV + r"(?:originally\s+)?come\s+from)\s+")
def _h_from(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if re.match(r"\s*(?:a|an)\s", rest):
        return []
    return _place_fact("is from", rest, EXPLICIT)


@_rule("moved", "moved relocated", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:moved|relocated)\s+(?:here\s+|back\s+|over\s+)?(?P<dir>to|from)\s+")
def _h_moved(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    lead = "moved to" if m.group("dir").lower() == "to" else "moved from"
    return _place_fact(lead, rest, _subj_conf(m, INDIRECT))


@_rule("bought_home", "bought purchased", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:bought|purchased)\s+(?:a|an|our|my)\s+(?:first\s+|new\s+|little\s+|dream\s+)?(?P<what>house|home|condo|apartment|flat|place)\s+in\s+")
def _h_bought_home(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    place = _place_object(rest)
    if place is None:
        return []
    what = m.group("what").lower()
    return [(Category.LOCATION, f"bought {_article(what)} {what} in {place}", _subj_conf(m))]


@_rule("je_vis", "je j'habite", r"\b(?:je\s+(?:vis|demeure|réside)|j'habite)\s+(?:à|a|au|aux|en|dans)\s+")
def _h_je_vis(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _place_fact("lives in", rest, EXPLICIT)


_TRAVEL_TIME_AFTER_RE = re.compile(
    r"\s*(?:last|this past|in|back in|over|during|for|on)\s+(?:year|summer|spring|fall|autumn|winter|"
    r"month|week|weekend|(?:19|20)\d\d|vacation|holiday|holidays|a (?:week|trip|holiday|vacation)|"
    r"our honeymoon|my honeymoon|business|work|christmas|easter|new year)",
    re.I,
)


def _travel(rest: str, conf: float, ctx: _Ctx) -> list[Emit]:
    place = _place_object(rest)
    if place is None or _SCHOOL_RE.search(place):
        return []
    if place.split()[0].lower() in _REL_SINGULAR or place.lower() in _REL_PLURAL:
        return []
    if not _is_known_place(place):
        # Could be a shop, a person or a venue ("I went to Costco", "I visited Sarah").
        after = rest.split(place, 1)[1] if place in rest else ""
        if not (_TRAVEL_TIME_AFTER_RE.match(after) or _TRAVEL_WORDS_RE.search(ctx.sentence)):
            return []
    out: list[Emit] = [(Category.TRAVEL, f"visited {place}", conf)]
    # "I've been to Paris, Rome and London"
    tail = (rest.split(place, 1)[1] if place in rest else "")[:120]
    for _ in range(6):
        lm = _PLACE_LIST_RE.match(tail)
        if lm is None:
            break
        more = _place_object(lm.group(1))
        if more is None or not _is_known_place(more):
            break
        out.append((Category.TRAVEL, f"visited {more}", conf))
        tail = tail[lm.end() :]
    return out


_PLACE_LIST_RE = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+)((?-i:[A-Z])[\w'.\u2024-]*(?:\s+(?-i:[A-Z])[\w'.\u2024-]*)?)")


@_rule("visited", "visited", IWE + r"visited\s+")
def _h_visited(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return _travel(rest, _subj_conf(m), ctx)


@_rule(
    "went_to",
    "went traveled travelled flew drove took",
    r"(?:\b(?P<subj>i|we)\s+" + ADV + r"|^(?:just\s+|also\s+)?)(?:went|traveled|travelled|flew|drove|took\s+a\s+trip|went\s+on\s+a\s+trip)\s+(?:back\s+)?to\s+",
)
def _h_went_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    conf = _subj_conf(m, INDIRECT) if m.group("subj") else INDIRECT
    return _travel(rest, conf, ctx)


@_rule("been_to", "been traveled travelled", r"(?:\b(?P<subj>i've|ive|i\s+have|we've|we\s+have)\s+" + ADV + r"|^|[.!]\s*)(?:been|traveled|travelled)\s+(?:only\s+)?to\s+")
def _h_been_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    subj = m.group("subj")
    conf = INDIRECT if subj is None or subj.lower().startswith("we") else EXPLICIT
    return _travel(rest, conf, ctx)


@_rule("back_from", "back returned", r"(?:\b(?P<subj>i|we)\s+" + ADV + r"(?:got|came|am|'m|are|'re)?\s*|\b(?:i'm|im|we're)\s+|^(?:just\s+)?)(?:got\s+back|came\s+back|back|returned)\s+from\s+")
def _h_back_from(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    subj = (m.group("subj") or "i").lower()
    return _travel(rest, EXPLICIT if subj == "i" else INDIRECT, ctx)


@_rule("in_place_for", "in", IMWE + r"(?:currently\s+|now\s+)?in\s+(?=(?-i:[A-Z]))")
def _h_in_place_for(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    place = _place_object(rest)
    if place is None or not _is_known_place(place):
        return []
    after = rest.split(place, 1)[1]
    if not re.match(r"\s*(?:right\s+now\s+|this\s+week\s+|for\s+the\s+week\s+|at\s+the\s+moment\s+)?(?:for\s+(?:work|a\s+conference|business|a\s+wedding|vacation|holiday|a\s+(?:few\s+days|week))|on\s+(?:vacation|holiday|a\s+trip|business))\b", after, re.I):
        return []
    return [(Category.TRAVEL, f"is visiting {place}", _subj_conf(m, INDIRECT))]


@_rule("visiting", "visiting", IMWE + r"visiting\s+")
def _h_visiting(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    place = _place_object(rest)
    if place is None or not _is_known_place(place):
        return []
    return [(Category.TRAVEL, f"is visiting {place}", _subj_conf(m))]
