"""Rules for personal details: age, name, birthday, languages spoken."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT
from whisper_assets.core.llm.offline_facts.lexicons import _LANGUAGES
from whisper_assets.core.llm.offline_facts.objects import _name_at
from whisper_assets.core.llm.offline_facts.registry import ADV, _Ctx, _Rule, Emit, rule_registrar
from whisper_assets.core.llm.offline_facts.text import _norm_space
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


@_rule("age", "i'm im am turned", r"\b(?:(?:i'm|im|i\s+am)\s+(?:now\s+)?|i\s+(?:just\s+)?turned\s+)(?P<age>\d{1,2})(?:\s+(?:years?|yrs?)(?:\s+old)?|\s*y/?o)?(?=\s*(?:[,.!;]|$|and\b|now\b|this\b|next\b|today\b|btw\b|lol\b|haha\b|last\b|yesterday\b|on\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b))")
def _h_age(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    age = int(m.group("age"))
    if age < 13 or age > 99:
        return []
    return [(Category.OTHER, f"is {age} years old", EXPLICIT)]


@_rule("name", "name name's", r"\bmy\s+name\s+is\s+|\bmy\s+name's\s+")
def _h_name(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = _name_at(rest)
    if not name:
        return []
    return [(Category.OTHER, f"name is {name}", EXPLICIT)]


@_rule("call_me", "call", r"(?:^|[,.!]\s*|\bjust\s+|\bplease\s+)call\s+me\s+(?=(?-i:[A-Z]))", check_context=False)
def _h_call_me(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    name = _name_at(rest)
    if not name or not re.match(r"\s*" + re.escape(name) + r"\s*(?:[,.!;]|$|please\b|lol\b|haha\b|btw\b|though\b)", rest):
        return []
    return [(Category.OTHER, f"goes by {name}", INDIRECT)]


_MONTH_ALT = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"


@_rule("birthday", "birthday bday", r"\bmy\s+(?:birthday|bday)\s+is\s+(?:on\s+)?(?P<date>(?:" + _MONTH_ALT + r")\.?\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + _MONTH_ALT + r"))\b")
def _h_birthday(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    date = _norm_space(m.group("date"))
    words = date.split()
    date = " ".join(w.capitalize() if w.lower().strip(".") in _MONTH_ALT.split("|") else w for w in words)
    return [(Category.OTHER, f"birthday is {date}", EXPLICIT)]


@_rule("speaks", "speak fluent", r"\bi\s+" + ADV + r"(?:speak|am\s+fluent\s+in|'m\s+fluent\s+in)\s+(?:fluent\s+|some\s+|a\s+little\s+|basic\s+)?(?P<lang>[A-Za-z]+)(?P<more>(?:\s*,\s*[A-Za-z]+)*(?:,?\s+and\s+[A-Za-z]+)?)")
def _h_speaks(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    langs = [m.group("lang")] + re.findall(r"[A-Za-z]+", m.group("more") or "")
    langs = [lang for lang in langs if lang.lower() != "and"]
    if not langs or any(lang.lower() not in _LANGUAGES for lang in langs):
        return []
    langs = [lang.upper() if lang.lower() == "asl" else lang[0].upper() + lang[1:].lower() for lang in langs]
    text = langs[0] if len(langs) == 1 else ", ".join(langs[:-1]) + " and " + langs[-1]
    hedge = "some " if re.search(r"some|a little|basic", m.group(0), re.I) else ""
    return [(Category.OTHER, f"speaks {hedge}{text}", EXPLICIT)]
