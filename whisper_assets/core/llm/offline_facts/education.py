"""Rules for education: studies, school year, degrees, graduation."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT
from whisper_assets.core.llm.offline_facts.jobs import _org
from whisper_assets.core.llm.offline_facts.lexicons import _SCHOOL_RE
from whisper_assets.core.llm.offline_facts.objects import _article, _cut, _free_object, _plan_object, _tidy
from whisper_assets.core.llm.offline_facts.registry import ADV, IM, IMWE, _Ctx, _Rule, Emit, rule_registrar
from whisper_assets.core.llm.offline_facts.text import _norm_space
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


@_rule(
    "studying",
    "studying majoring doing",
    IM + r"(?P<verb>studying|majoring\s+in|doing\s+(?:a|my)\s+(?P<deg>degree|masters?|master's|ph\.?d|"
    r"bachelor'?s?|diploma|mba|doctorate)\s+in)\s+",
)
def _h_studying(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    parts = re.split(r"\s+at\s+", text, maxsplit=1)
    obj = _free_object(parts[0], max_words=5)
    if obj is None:
        return []
    verb = _norm_space(m.group("verb").lower())
    if m.group("deg"):
        verb = f"doing a {m.group('deg')} in"
    out: list[Emit] = [(Category.EDUCATION, f"is {verb} {obj}", EXPLICIT)]
    if len(parts) == 2:
        org = _org(parts[1])
        if org:
            out.append((Category.EMPLOYER, f"studies at {org[0]}", org[1]))
    return out


@_rule("studying_for", "studying", IM + r"studying\s+for\s+(?=(?:the|my|a|an)\s)")
def _h_studying_for(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=6)
    if obj is None or not re.search(r"\b(?:exam|exams|test|bar|boards|mcat|lsat|gre|gmat|sat|act|finals|midterms?|certification|license|licence)\b", obj, re.I):
        return []
    return [(Category.EDUCATION, f"is studying for {obj}", EXPLICIT)]


@_rule("working_on_degree", "working", IM + r"working\s+(?:on|towards?)\s+(?:my|a|an)\s+(?P<deg>degree|bachelor'?s?|master'?s?|masters|ph\.?d|doctorate|diploma|mba)(?:\s+degree)?\s+in\s+")
def _h_working_on_degree(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(re.split(r"\s+at\s+", _cut(rest), maxsplit=1)[0], max_words=5)
    if obj is None:
        return []
    deg = {"masters": "master's", "master": "master's", "bachelor": "bachelor's", "bachelors": "bachelor's"}.get(m.group("deg").lower(), m.group("deg"))
    return [(Category.EDUCATION, f"is doing {_article(deg)} {deg} in {obj}", EXPLICIT)]


@_rule("back_to_school", "school", IMWE + r"going\s+back\s+to\s+(?P<where>school|college|uni|university|grad\s+school)\b")
def _h_back_to_school(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    where = _norm_space(m.group("where").lower())
    tail = ""
    tm = re.match(r"\s+(?:to\s+(?:become|be|study|get)\s+)", rest, re.I)
    if tm:
        obj = _plan_object(rest[tm.start() :].lstrip()[3:], max_words=6)
        if obj:
            tail = f" to {obj}"
    return [(Category.PLAN, f"is going back to {where}{tail}", EXPLICIT)]


@_rule("study", "study", r"\bi\s+" + ADV + r"study\s+")
def _h_study(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    parts = re.split(r"\s+at\s+", text, maxsplit=1)
    obj = _free_object(parts[0], max_words=4)
    if obj is None or obj.split()[0].lower() in {"a", "an", "the", "their", "hard", "for", "with"}:
        return []
    out: list[Emit] = [(Category.EDUCATION, f"studies {obj}", EXPLICIT)]
    if len(parts) == 2:
        org = _org(parts[1])
        if org:
            out.append((Category.EMPLOYER, f"studies at {org[0]}", org[1]))
    return out


@_rule("school_year", "year", IM + r"in\s+my\s+(?P<yr>first|second|third|fourth|final|last|senior|junior|freshman|sophomore)\s+year\s+(?P<prep>of|at)\s+")
def _h_school_year(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=5)
    if obj is None or not (_SCHOOL_RE.search(obj) or re.search(r"\b(?:med|law|nursing|grad|high)\b", obj, re.I)):
        return []
    return [(Category.EDUCATION, f"is in their {m.group('yr').lower()} year {m.group('prep').lower()} {obj}", EXPLICIT)]


@_rule("finished_degree", "degree", r"\bi\s+" + ADV + r"(?:finished|completed|got|earned)\s+(?:my|a|an)\s+(?P<field>[a-z]+(?:\s+[a-z]+)?)\s+degree\b(?!\s+in\b)")
def _h_finished_degree(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    field = m.group("field").lower()
    if field in {"first", "second", "new", "college", "university", "uni", "bachelor's", "master's", "the"}:
        return []
    return [(Category.EDUCATION, f"has {_article(field)} {field} degree", EXPLICIT)]


@_rule("graduated", "graduated", r"\bi\s+" + ADV + r"graduated\s+from\s+")
def _h_graduated(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    org = _org(_cut(rest))
    if org is None:
        return []
    return [(Category.EDUCATION, f"graduated from {org[0]}", EXPLICIT)]


@_rule(
    "degree",
    "degree master's masters master bachelor's bachelors bachelor phd ph mba diploma doctorate",
    r"\bi\s+" + ADV + r"(?:have|got|earned|hold|completed|finished)\s+(?:a|an|my)\s+(?P<deg>degree|"
    r"bachelor'?s?|master'?s?|masters|ph\.?d|doctorate|diploma|mba)(?:\s+degree)?\s+in\s+",
)
def _h_degree(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    parts = re.split(r"\s+(?:from|at)\s+", text, maxsplit=1)
    obj = _free_object(parts[0], max_words=5)
    if obj is None:
        return []
    deg = m.group("deg")
    deg = {"masters": "master's", "master": "master's", "bachelor": "bachelor's", "bachelors": "bachelor's"}.get(deg.lower(), deg)
    return [(Category.EDUCATION, f"has {_article(deg)} {deg} in {obj}", EXPLICIT)]
