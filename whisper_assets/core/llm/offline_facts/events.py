"""Rules for events and commitments: what the user went to, took part in, made or promised
("I went to a jazz festival", "I ran a half marathon", "I painted a lighthouse", "I promised my
brother I'd help him move" is left alone: it names another person by pronoun).

Past events are kept only with a concrete object: an event noun from data/event_nouns.txt for
going and taking part, a short noun phrase for things made (minus data/made_things_not.txt).
They are stored under `other`, things made under `hobby`, commitments under `plan`.
"""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT
from whisper_assets.core.llm.offline_facts.inflection import article
from whisper_assets.core.llm.offline_facts.lexicons import _DEAD_RE, _REL_ALT, _SPECIES, alternation, entries, words
from whisper_assets.core.llm.offline_facts.objects import _free_object, _plan_object
from whisper_assets.core.llm.offline_facts.registry import ADV, _Ctx, _Rule, Emit, _subj_conf, rule_registrar
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)

_GENERIC_EVENTS = words("event_nouns_generic")
_EVENT_NOUNS = [*entries("event_nouns"), *_GENERIC_EVENTS]
_EVENT_RE = re.compile(r"\b(?:" + "|".join(re.escape(e) for e in sorted(_EVENT_NOUNS, key=len, reverse=True)) + r")s?\b", re.I)
_MADE_NOT = words("made_things_not")
_SPECIES_RE = re.compile(r"\b(?:" + _SPECIES + r")\b", re.I)
_DET = r"(?P<det>a|an|the|my|our|this|my\s+first|our\s+first|their|his|her)\s+"
_OUTDOOR_ALT = alternation(entries("outdoor_gerunds"))
_EVENT_OBJ_MAX = 8
_PREP_RE = re.compile(r"\s+(?:at|for|with|in|on|about|from|to|of|by)\s+", re.I)
_WEEKDAY_RE = re.compile(r"\s+on\s+(?:(?:last|this|next)\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?$", re.I)


def _event_object(det: str, rest: str) -> str | None:
    """`det` + the phrase after it, when it is short, concrete and names an event."""
    obj = _free_object(det + " " + rest, max_words=_EVENT_OBJ_MAX)
    if obj is None:
        return None
    first, _, tail = obj.partition(" ")
    if first.lower() in {"a", "an"} and tail:
        obj = f"{article(tail)} {tail}"  # "a NGO fair" -> "an NGO fair" (inflect reads the acronym)
    obj = _WEEKDAY_RE.sub("", obj)
    head = _PREP_RE.split(obj, 1)[0]
    found = _EVENT_RE.search(head)
    if found is None:
        return None
    # "went to a meeting" says nothing; "went to a council meeting" does
    if found.group(0).lower().rstrip("s") in _GENERIC_EVENTS and len(head[: found.start()].split()) < 2:
        return None
    return obj


@_rule("went_to_event", "went attended back", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:went\s+(?:to|along\s+to)|got\s+to\s+go\s+to|attended|(?:got|came)\s+back\s+from)\s+" + _DET)
def _h_went_to_event(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _event_object(m.group("det"), rest)
    if obj is None:
        return []
    verb = "attended" if "attended" in m.group(0).lower() else "went to"
    return [(Category.OTHER, f"{verb} {obj}", _subj_conf(m))]


@_rule(
    "took_part",
    "ran finished completed won entered organized organised hosted participated part competed performed",
    r"\b(?P<subj>i|we)\s+" + ADV + r"(?P<verb>ran|finished|completed|won|entered|organi[sz]ed|hosted|participated\s+in|took\s+part\s+in|competed\s+in|performed\s+at|played\s+at)\s+" + _DET,
)
def _h_took_part(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _event_object(m.group("det"), rest)
    if obj is None:
        return []
    verb = " ".join(m.group("verb").lower().split())
    return [(Category.OTHER, f"{verb} {obj}", _subj_conf(m))]


@_rule(
    "made_thing",
    "painted drew built made baked knitted crocheted sewed sewn carved wrote composed recorded",
    r"\bi\s+" + ADV + r"(?:have\s+|'ve\s+)?(?P<verb>painted|drew|built|made|baked|knitted|crocheted|sewed|sewn|carved|wrote|composed|recorded)\s+(?P<det>a|an|my\s+first|this|that|some)\s+",
)
def _h_made_thing(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    det = " ".join(m.group("det").lower().split())
    if det in {"this", "that", "some"}:
        det = "some" if det == "some" else "a"
    obj = _free_object(rest, max_words=5)
    if obj is None or obj.split()[0].lower() in {"lot", "few", "couple", "bit"}:
        return []
    head = _PREP_RE.split(obj, 1)[0].split()[-1].lower()
    if head in _MADE_NOT or head.rstrip("s") in _MADE_NOT or _SPECIES_RE.search(obj):
        return []
    verb = m.group("verb").lower()
    verb = "sewed" if verb == "sewn" else verb
    if det == "some":
        phrase = f"{verb} some {obj}"
    elif det == "my first":
        phrase = f"{verb} their first {obj}"
    else:
        phrase = f"{verb} {article(obj)} {obj}"
    return [(Category.HOBBY, phrase, EXPLICIT)]


@_rule("took_relative_to", "took brought", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:took|brought)\s+(?P<who>(?:my|our|the)\s+(?:" + _REL_ALT + r"|family))\s+(?:to\s+" + _DET + r"|(?P<g>" + _OUTDOOR_ALT + r")\b)")
def _h_took_relative_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if _DEAD_RE.search(ctx.sentence):
        return []
    who = m.group("who").split(None, 1)
    if who[0].lower() == "the" and who[1].lower() not in {"kids", "children", "family"}:
        return []  # "the kids" are the user's; "the boys" need not be
    who_text = "their " + who[1].lower()
    if m.group("g"):
        tail = _free_object("x " + rest, max_words=6) if rest.strip() else None
        tail = tail[2:] if tail and tail.startswith("x ") and re.match(r"(?:in|at|on|to)\s", tail[2:]) else ""
        return [(Category.OTHER, " ".join(f"took {who_text} {m.group('g').lower()} {tail}".split()), _subj_conf(m, INDIRECT))]
    obj = _free_object(m.group("det") + " " + rest, max_words=6)
    if obj is None:
        return []
    return [(Category.OTHER, f"took {who_text} to {obj}", _subj_conf(m, INDIRECT))]


@_rule("applied", "applied", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:have\s+|'ve\s+)?applied\s+(?P<prep>to|for)\s+(?=[A-Za-z])")
def _h_applied(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None or obj.split()[0].lower() in {"it", "that", "this", "them"} or len(obj.split()) < 2 and not obj[:1].isupper():
        return []
    return [(Category.PLAN, f"applied {m.group('prep').lower()} {obj}", _subj_conf(m))]


@_rule("promised", "promised committed agreed", r"\bi\s+" + ADV + r"(?:'ve\s+|have\s+)?(?P<verb>promised|committed|agreed)\s+to\s+(?=[a-z])")
def _h_promised(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _plan_object(rest, max_words=10)
    if obj is None or len(obj.split()) < 2:
        return []
    verb = m.group("verb").lower()
    lead = "has committed to" if verb == "committed" else f"{verb} to"
    return [(Category.PLAN, f"{lead} {obj}", EXPLICIT)]


_VENTURES = entries("venture_nouns")
# Businesses ("opened a bakery") are the work rules' ("runs a bakery"): ventures only here.
_VENTURE_RE = re.compile(r"\b(?:" + alternation(_VENTURES) + r")\b", re.I)
_BUSINESS_RE = re.compile(r"\b(?:" + alternation([b for b in words("business_nouns") if b.isalpha()]) + r")\b", re.I)


@_rule("started_venture", "started launched opened founded", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:have\s+|'ve\s+)?(?P<verb>started|launched|opened|founded|set\s+up)\s+(?P<det>a|an|my\s+own|our\s+own|my|our)\s+")
def _h_started_venture(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    head = _PREP_RE.split(obj, 1)[0] if obj else ""
    if obj is None:
        return []
    business = _BUSINESS_RE.search(head.split()[-1]) is not None
    if business and m.group("subj").lower() == "i" or not business and not _VENTURE_RE.search(head):
        return []  # "I opened a bakery" is the work rules' "runs a bakery"
    det = " ".join(m.group("det").lower().split())
    det = {"my own": "their own", "our own": "their own", "my": "their", "our": "their"}.get(det, det)
    if det in {"a", "an"}:
        det = article(obj)
    verb = " ".join(m.group("verb").lower().split())
    return [(Category.OTHER, f"{verb} {det} {obj}", _subj_conf(m))]


# Ongoing projects: "I'm training for a marathon", "I'm saving for a house".
_ONGOING = {"training for": Category.PLAN, "preparing for": Category.PLAN, "saving for": Category.PLAN,
            "saving up for": Category.PLAN, "working on": Category.OTHER, "researching": Category.OTHER,
            "organizing": Category.PLAN, "organising": Category.PLAN, "putting together": Category.PLAN,
            "writing": Category.HOBBY, "renovating": Category.OTHER}
# Verbs of the user's own projects that say something only with a worthwhile object: an event to
# organise ("a book swap", not "my closet"), a work to write ("a novel", not "an email").
_NEEDS_EVENT = frozenset({"organizing", "organising", "putting together"})


@_rule("ongoing", "training preparing saving working researching organizing organising putting writing renovating", r"\b(?P<subj>i'm|im|i\s+am|we're|we\s+are)\s+" + ADV + r"(?P<verb>training\s+for|preparing\s+for|saving\s+(?:up\s+)?for|working\s+on|researching|organi[sz]ing|putting\s+together|writing|renovating)\s+(?P<det>a|an|my|our|the)\s+")
def _h_ongoing(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(m.group("det") + " " + rest, max_words=7)
    if obj is None or len(obj.split()) < 2:
        return []
    verb = " ".join(m.group("verb").lower().split())
    head = _PREP_RE.split(obj, 1)[0].split()[-1].lower()
    if verb == "working on" and head in {"it", "myself", "things", "stuff", "that", "something", "project", "thing"}:
        return []
    if verb in _NEEDS_EVENT and not _EVENT_RE.search(obj) or verb == "writing" and head.rstrip("s") in _MADE_NOT:
        return []
    conf = _subj_conf(m)
    return [(_ONGOING[verb], f"is {verb} {obj}", conf)]


_OUTDOOR = alternation(entries("outdoor_gerunds"))
_ACHIEVEMENT_RE = re.compile(r"^(?:a|an|my\s+first|my)\s+(?:new\s+|big\s+|first\s+)?(?:" + alternation(entries("achievement_nouns")) + r")\b", re.I)


@_rule("went_gerund", "went", r"\b(?P<subj>i|we)\s+" + ADV + r"went\s+(?P<g>" + _OUTDOOR + r")\b")
def _h_went_gerund(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    tail = _free_object("x " + rest, max_words=6) if rest.strip() else None
    tail = tail[2:] if tail and tail.startswith("x ") and re.match(r"(?:with|in|at|on)\s", tail[2:]) else ""
    return [(Category.HOBBY, " ".join(f"went {m.group('g').lower()} {tail}".split()), _subj_conf(m))]


@_rule("got_achievement", "got received earned won", r"\bi\s+" + ADV + r"(?:have\s+|'ve\s+)?(?P<verb>got|received|earned|won)\s+(?=(?:a|an|my)\s)")
def _h_got_achievement(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    am = _ACHIEVEMENT_RE.match(rest.lstrip())
    if not am or re.match(r"\s+(?:as|at|with|in)\b", rest.lstrip()[am.end():]) and "job" in am.group(0).lower():
        return []  # "got a new job as a baker": the work rules say it
    obj = _free_object(re.split(r"\s+to\s+(?=[a-z]+\b)", rest, maxsplit=1)[0], max_words=7)
    if obj is None:
        return []
    return [(Category.OTHER, f"{m.group('verb').lower()} {obj}", EXPLICIT)]


@_rule("won_place", "won", r"\bi\s+" + ADV + r"(?:have\s+|'ve\s+)?won\s+(?P<what>(?:first|second|third|1st|2nd|3rd)\s+(?:place|prize))\s+(?:in|at)\s+" + _DET)
def _h_won_place(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _event_object(m.group("det"), rest)
    if obj is None:
        return []
    return [(Category.OTHER, f"won {m.group('what').lower()} in {obj}", EXPLICIT)]


@_rule("reading", "reading", r"\b(?:i'm|im|i\s+am)\s+" + ADV + r"(?:re-?)?reading\s+(?=(?:a|an|the|this)\s|(?-i:[A-Z]))")
def _h_reading(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=8)
    if obj is None:
        return []
    if not (re.search(r"\b(?:book|novel|memoir|biography|series|trilogy|comic|manga|poetry|poems)\b", obj, re.I) or obj[:1].isupper()):
        return []
    return [(Category.HOBBY, f"is reading {obj}", EXPLICIT)]


@_rule("looking_for", "looking searching", r"\b(?P<subj>i'm|im|i\s+am|we're|we\s+are)\s+" + ADV + r"(?:looking|searching)\s+for\s+(?=(?:a|an)\s)")
def _h_looking_for(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None or len(obj.split()) < 2 or {w.lower() for w in obj.split()} & {"way", "reason", "excuse", "thing", "place", "one"}:
        return []
    return [(Category.PLAN, f"is looking for {obj}", _subj_conf(m))]


@_rule("volunteered", "volunteered", r"\b(?P<subj>i|we)\s+" + ADV + r"(?:have\s+|'ve\s+)?volunteered\s+(?P<prep>at|with|for)\s+")
def _h_volunteered(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None:
        return []
    return [(Category.HOBBY, f"volunteered {m.group('prep').lower()} {obj}", _subj_conf(m))]


@_rule("used_to_go", "used", r"\b(?P<subj>i|we)\s+" + ADV + r"used\s+to\s+go\s+(?P<g>" + _OUTDOOR + r")\b")
def _h_used_to_go(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    tail = _free_object("x " + rest, max_words=6) if rest.strip() else None
    tail = tail[2:] if tail and tail.startswith("x ") and re.match(r"(?:with|in|at|on)\s", tail[2:]) else ""
    return [(Category.HOBBY, " ".join(f"used to go {m.group('g').lower()} {tail}".split()), _subj_conf(m))]
