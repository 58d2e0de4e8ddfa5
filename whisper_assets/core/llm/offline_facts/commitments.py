"""Rules for commitments with a date: moves, new starts, appointments and events the user will
take part in ("I'm moving into a new flat next week", "I start a new job on Monday", "I have a
job interview tomorrow", "I'll be running a half marathon in May"). Stored under `plan` with the
time phrase as said: the fact's source message dates it."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.events import _event_object
from whisper_assets.core.llm.offline_facts.guards import EXPLICIT
from whisper_assets.core.llm.offline_facts.inflection import article
from whisper_assets.core.llm.offline_facts.lexicons import alternation, entries
from whisper_assets.core.llm.offline_facts.objects import _plan_object
from whisper_assets.core.llm.offline_facts.registry import ADV, _Ctx, _Rule, Emit, _subj_conf, rule_registrar
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)

_WHEN = (
    r"(?:today|tonight|tomorrow|later\s+today|this\s+(?:week|weekend|month|year|morning|afternoon|evening|"
    r"summer|fall|autumn|winter|spring)|next\s+(?:week|weekend|month|year|semester|term|summer|fall|autumn|"
    r"winter|spring|\w+day)|on\s+(?:\w+day)|in\s+(?:a|two|three|four|a\s+few|a\s+couple\s+of)\s+(?:days|weeks|months)|"
    r"in\s+(?:the\s+)?(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"spring|summer|fall|autumn|winter))"
)
_WHEN_RE = re.compile(r"\b" + _WHEN + r"\b", re.I)
_SUBJ = r"\b(?P<subj>i'm|im|i\s+am|we're|we\s+are|i|we|(?:my\s+\w+\s+and\s+i))\s+"
_APPOINTMENTS = alternation(entries("appointment_nouns"))


def _with_when(obj: str, rest: str) -> str:
    """`obj` with the time phrase of `rest` when the object left it out."""
    if _WHEN_RE.search(obj):
        return obj
    m = _WHEN_RE.search(rest[:80])
    return f"{obj} {m.group(0)}" if m else obj


@_rule("moving_into", "moving move", _SUBJ + ADV + r"(?:(?:am|are|'m|'re)\s+)?(?:moving|move|will\s+move|'ll\s+move)\s+into\s+(?P<det>a|an|our|my|the)\s+")
def _h_moving_into(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if not _WHEN_RE.search(rest[:80]) and not re.search(r"\bmoving\b", m.group(0), re.I):
        return []  # "we move into the hall": no date, no plan
    obj = _plan_object(rest, max_words=8)
    if obj is None or not re.search(r"\b(?:apartment|flat|house|home|place|condo|dorm|room)\b", obj, re.I):
        return []
    det = {"our": "a", "my": "a", "the": "a"}.get(m.group("det").lower(), m.group("det").lower())
    if det in {"a", "an"} and obj.split()[0].lower() not in {"new"}:
        det = "a"
    return [(Category.PLAN, f"is moving into {det} {_with_when(obj, rest)}", _subj_conf(m, EXPLICIT))]


@_rule("starting_new", "starting start", _SUBJ + ADV + r"(?:(?:am|are|'m|'re)\s+)?(?:starting|start|will\s+start|'ll\s+start)\s+(?P<what>(?:a|my|our)\s+new\s+(?:job|position|role|school|class|course)|college|university|uni|grad\s+school|high\s+school|kindergarten|school|(?:a|my)\s+(?:master's|phd|degree|residency|apprenticeship|internship))\b")
def _h_starting_new(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    when = _WHEN_RE.search(rest[:80])
    if when is None:
        return []  # "I start school" (habitual) is no plan without a date
    what = " ".join(m.group("what").lower().split()).replace("my ", "a ").replace("our ", "a ")
    return [(Category.PLAN, f"is starting {what} {when.group(0)}", _subj_conf(m))]


@_rule("has_appointment", "have got", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:have|'ve\s+got|have\s+got|got)\s+(?P<det>a|an|my|our|the)\s+(?P<obj>(?:[\w'-]+\s+){0,2}?(?:" + _APPOINTMENTS + r"))\b")
def _h_has_appointment(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    when = re.match(r"\s*(?:(?:at|with|for|in)\s+[^,.;!?]{1,40}?\s+)?(" + _WHEN + r")\b", rest, re.I)
    if when is None:
        return []
    obj = " ".join(m.group("obj").lower().split())
    return [(Category.PLAN, f"has {article(obj)} {obj} {when.group(1)}", _subj_conf(m))]


@_rule("will_take_part", "be", r"\b(?P<subj>i'll|ill|i\s+will|we'll|we\s+will|i'm\s+going\s+to|i\s+am\s+going\s+to)\s+" + ADV + r"be\s+(?P<verb>running|competing\s+in|performing\s+at|performing\s+in|attending|speaking\s+at|hosting|playing\s+in)\s+(?P<det>a|an|the|my|our)\s+")
def _h_will_take_part(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _event_object(m.group("det"), rest)
    if obj is None:
        return []
    verb = " ".join(m.group("verb").lower().split())
    return [(Category.PLAN, f"will be {verb} {_with_when(obj, rest)}", _subj_conf(m))]
