"""Rules for plans and goals: planning, going to, signing up, wants, trips."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, HEDGED_WEAK, INDIRECT, WEAK
from whisper_assets.core.llm.offline_facts.lexicons import (
    _AMBIGUOUS_JOB_HEADS, _BUSINESS_NOUNS, _JOB_HEADS, _NOT_NAMES, _SCHOOL_RE, _STATUS_HEADS,
    _TRAVEL_WORDS_RE,
)
from whisper_assets.core.llm.offline_facts.objects import (
    _TRAIL_TIME_RE, _YOU_RE, _cut, _is_gerund, _is_known_place, _place_object, _plan_object, _swap_pronouns,
    _tidy,
)
from whisper_assets.core.llm.offline_facts.registry import (
    ADV, IMWE, IWE, _Ctx, _Rule, Emit, _subj_conf, rule_registrar,
)
from whisper_assets.core.llm.offline_facts.text import _norm_space
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


@_rule("planning_to", "planning plan", r"(?:" + IMWE + r"planning|\b(?P<subj2>i|we)\s+" + ADV + r"plan)\s+to\s+")
def _h_planning_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest)
    if obj is None or obj.split()[0].lower() in {"a", "an", "the"}:
        return []
    subj = (m.group("subj") or m.group("subj2") or "i").lower()
    conf = INDIRECT if subj.startswith("we") else EXPLICIT
    return [(Category.PLAN, f"plans to {obj}", conf)]


@_rule("planning_a", "planning", IMWE + r"planning\s+(?P<det>a|an|my|our)\s+")
def _h_planning_a(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest)
    if obj is None:
        return []
    det = _swap_pronouns(m.group("det").lower())
    subj = m.group("subj").lower()
    conf = INDIRECT if subj.startswith("we") else EXPLICIT
    return [(Category.PLAN, f"is planning {det} {obj}", conf)]


@_rule(
    "going_to_place",
    "flying going heading headed travelling traveling driving moving relocating off",
    IMWE + r"(?P<verb>flying|going|heading|headed|travelling|traveling|driving|moving|relocating|off)\s+(?:back\s+|out\s+|over\s+|down\s+|up\s+)?to\s+",
)
def _h_going_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    stripped = rest.lstrip()
    if not stripped[:1].isupper() or stripped.split()[0] in {"I", "I'm"}:
        return []
    if stripped.split()[0].rstrip(",.!").lower() in _NOT_NAMES:
        return []
    obj = _plan_object(rest)
    if obj is None or _SCHOOL_RE.search(obj) and m.group("verb").lower() == "going":
        return []
    verb = m.group("verb").lower()
    if verb in {"going", "heading", "headed", "off"}:
        place = _place_object(rest)
        if place is None or not (_is_known_place(place) or _TRAVEL_WORDS_RE.search(ctx.sentence)):
            return []
    verb = {"headed": "heading", "travelling": "travelling", "off": "off"}.get(verb, verb)
    subj = m.group("subj").lower()
    conf = INDIRECT if subj.startswith("we") else EXPLICIT
    out: list[Emit] = [(Category.PLAN, f"is {verb} to {obj}", conf)]
    return out


_EVENT_NOUNS = frozenset(
    """
    conference concert wedding festival party show game match workshop retreat meetup convention
    gig recital tournament race marathon half-marathon 10k 5k competition exhibition expo fair
    summit camp reunion parade
    """.split()
)


@_rule("going_to_event", "going heading attending", IMWE + r"(?:going|heading)\s+to\s+(?=(?:a|an|my|our)\s)|" + IMWE.replace("subj", "subj_b") + r"attending\s+(?=(?:a|an|my|our)\s)")
def _h_going_to_event(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=9)
    if obj is None:
        return []
    words = _TRAIL_TIME_RE.sub("", obj).split()
    if not any(w.lower().strip(",.") in _EVENT_NOUNS for w in words[1:]):
        return []
    subj = (m.group("subj") or m.group("subj_b") or "i").lower()
    return [(Category.PLAN, f"is going to {obj}", INDIRECT if subj.startswith("we") else EXPLICIT)]


@_rule("will_be_in", "be", r"\b(?P<subj>i'll|ill|i\s+will|we'll|we\s+will)\s+" + ADV + r"be\s+(?:in|visiting)\s+")
def _h_will_be_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    stripped = rest.lstrip()
    if not stripped[:1].isupper() or stripped.split()[0] in {"I", "I'm"}:
        return []
    place = _place_object(rest)
    if place is None:
        return []
    obj = _plan_object(rest)
    if obj is None:
        return []
    conf = EXPLICIT if m.group("subj").lower().startswith("i") else INDIRECT
    return [(Category.PLAN, f"will be in {obj}", conf)]


@_rule(
    "plan_misc",
    "training preparing ready saving applying married baby expecting opening launching switching retiring starting",
    IMWE + r"(?P<what>training\s+for|preparing\s+for|getting\s+ready\s+for|saving\s+(?:up\s+)?for|applying\s+(?:to|for)|getting\s+married|"
    r"expecting\s+(?:a\s+baby|twins|a\s+boy|a\s+girl|(?:our|my)\s+first(?:\s+(?:baby|child))?)|having\s+a\s+baby|opening|launching|switching\s+to|retiring|starting)\b\s*",
)
def _h_plan_misc(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = _norm_space(m.group("what").lower())
    subj = m.group("subj").lower()
    conf = INDIRECT if subj.startswith("we") else EXPLICIT
    if what in {"getting married", "having a baby", "retiring"} or what.startswith("expecting"):
        what = _swap_pronouns(what)
        tail = _tidy(_cut(rest), trim_time=False) if re.match(r"\s*(?:in|on|next|this|soon)\b", rest, re.I) else None
        if tail and (len(tail.split()) > 5 or _YOU_RE.search(tail)):
            tail = None
        return [(Category.PLAN, f"is {what}" + (f" {tail}" if tail else ""), conf)]
    obj = _plan_object(rest)
    if obj is None:
        return []
    if what == "starting":
        if obj.split()[0].lower() not in {"a", "an", "their"}:
            return []  # "I'm starting to feel better"
        if re.match(r"(?:a|an|their)\s+(?:new\s+)?job\b", obj, re.I):
            return []  # handled by the new-job rule
    if what == "opening" and not any(w.lower().strip(",.") in _BUSINESS_NOUNS for w in obj.split()):
        return []
    if what == "switching to" and len(obj.split()) < 2:
        return []
    return [(Category.PLAN, f"is {what} {obj}", conf)]


@_rule("goal", "goal", r"(?:\b(?:my|our)\s+|^)(?:main\s+|big\s+|new\s+)?goal\s+(?:is|this\s+year\s+is|for\s+\S+\s+is)\s+(?P<to>to\s+)?")
def _h_goal(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest)
    if obj is None:
        return []
    conf = EXPLICIT if m.group(0).lower().lstrip().startswith("my") else INDIRECT
    # "aims to ...": a fact reads after the user's name, which "goal is ..." does not
    return [(Category.PLAN, f"aims {'to' if m.group('to') else 'for'} {obj}", conf)]


_WANT_GOALS = frozenset(
    """
    learn become be start open run visit travel move buy adopt build write create study join retire
    volunteer apply work lose finish complete compete pursue launch teach see go try take get
    explore climb hike swim train switch quit save publish record perform direct found
    """.split()
)


@_rule("want_to", "want wanna", IWE + r"(?:want|wanna)\s+(?:to\s+)?(?=\w)")
def _h_want_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if "wanna" not in m.group(0).lower() and not m.group(0).lower().rstrip().endswith("to"):
        return []
    obj = _plan_object(rest, max_words=10)
    if obj is None:
        return []
    words = obj.split()
    verb = words[0].lower()
    if len(words) < 2 or verb not in _WANT_GOALS:
        return []
    if verb in {"see", "go", "visit", "travel"} and not any(w[:1].isupper() for w in words[1:]):
        return []  # "want to see Kyoto" is a goal; "want to see the castle" is not worth keeping
    if verb == "get" and words[1].lower() not in {"a", "an", "into", "married", "fit", "certified", "stronger", "better"}:
        return []
    if verb == "take" and words[1].lower() not in {"up", "a", "an"}:
        return []
    if verb == "try" and not any(w.lower() in {"out", "climbing", "bouldering", "surfing", "yoga", "pottery"} or _is_gerund(w) for w in words[1:2]):
        return []
    if verb in {"be", "become"} and not (len(words) >= 3 and words[-1].lower() in _JOB_HEADS | _AMBIGUOUS_JOB_HEADS | set(_STATUS_HEADS) | {"mom", "dad", "mother", "father", "parent"}):
        return []
    return [(Category.PLAN, f"wants to {obj}", _subj_conf(m, WEAK))]


@_rule("signed_up", "signed registered enrolled", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:signed\s+up|registered|enrolled)\s+(?P<prep>for|in)\s+")
def _h_signed_up(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=10)
    if obj is None:
        return []
    return [(Category.PLAN, f"signed up for {obj}", _subj_conf(m))]


@_rule("considering", "thinking considering", IMWE + r"(?:thinking\s+(?:about|of)|considering)\s+(?=\w+ing\b)")
def _h_considering(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=10)
    if obj is None or not obj.split()[0].lower().endswith("ing") or obj.split()[0].lower() in {"doing", "going", "getting", "trying", "having", "being"} and len(obj.split()) < 3:
        return []
    return [(Category.PLAN, f"is considering {obj}", HEDGED_WEAK)]


@_rule("going_on_trip", "trip vacation holiday cruise honeymoon", IMWE + r"(?:going|heading|leaving)\s+on\s+(?P<obj>(?:a|an|our|my)\s+(?:\w+\s+)?(?:trip|vacation|holiday|cruise|honeymoon|road\s+trip))\b")
def _h_going_on_trip(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(m.group("obj") + rest)
    if obj is None:
        return []
    subj = m.group("subj").lower()
    return [(Category.PLAN, f"is going on {obj}", INDIRECT if subj.startswith("we") else EXPLICIT)]
