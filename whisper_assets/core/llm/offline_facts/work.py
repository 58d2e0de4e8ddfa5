"""Rules for occupation and employer: jobs, workplaces, businesses, new and lost jobs, status."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT, WEAK
from whisper_assets.core.llm.offline_facts.jobs import _JOB_SPLIT_RE, _job_and_org, _org
from whisper_assets.core.llm.offline_facts.lexicons import (
    _AMBIGUOUS_JOB_HEADS, _BUSINESS_NOUNS, _HOBBY_PERSON_HEADS, _JOB_HEADS,
)
from whisper_assets.core.llm.offline_facts.objects import (
    _BAD_OBJECT_START, _PURPOSE_SPLIT_RE, _YOU_RE, _article, _cut, _free_object, _swap_pronouns,
    _third_person, _tidy,
)
from whisper_assets.core.llm.offline_facts.registry import ADV, IM, IVE, _Ctx, _Rule, Emit, rule_registrar
from whisper_assets.core.llm.offline_facts.text import _norm_space
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


_LEAVING_RE = re.compile(
    r"\b(?:leaving|left|quit|quitting|resigned|resigning|laid off|fired|lost) (?:my|the|this)? ?job\b"
    r"|\bmy last day\b|\bformer(?:ly)?\b|\bused to\b",
    re.I,
)


@_rule("work_as", "work working", r"\b(?P<subj>i|i'm|im|i\s+am|we|we're|we\s+are)\s+" + ADV + r"(?:work|working)\s+as\s+")
def _h_work_as(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if (m.group("subj") or "").lower().startswith("we"):
        return []
    return _job_and_org(rest, EXPLICIT, need_lexicon=False)


@_rule("im_a_job", "i'm im am", IM + r"(?:a|an|the)\s+")
def _h_im_a(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    if not text:
        return []
    first = text.split()[0].lower()
    if first in {"retired", "former", "ex"} and len(text.split()) >= 2:
        past = list(_job_and_org(" ".join(text.split()[1:]), EXPLICIT, need_lexicon=True, past=True))
        if past and first == "retired":
            past.append((Category.OCCUPATION, "is retired", EXPLICIT))
        return past
    if first in {"amateur", "hobby", "hobbyist", "keen", "avid", "passionate", "big", "huge", "casual", "weekend"}:
        words = text.split()
        if len(words) <= 3 and words[-1].lower() in (_HOBBY_PERSON_HEADS | _AMBIGUOUS_JOB_HEADS | {"fan"}):
            if words[-1].lower() == "fan":
                return []
            return [(Category.HOBBY, f"is {_article(text)} {text}", EXPLICIT)]
    if re.search(r"\b(?:as|for)\s+(?:a\s+)?(?:hobby|fun|a\s+side\s+thing)\b", ctx.sentence, re.I):
        words = text.split()
        if len(words) <= 3 and not re.search(r"\b(?:as|for)\b", text):
            return [(Category.HOBBY, f"is {_article(text)} {text}", EXPLICIT)]
        hw = re.split(r"\s+(?:as|for)\s+", text, maxsplit=1)[0]
        if 1 <= len(hw.split()) <= 3:
            return [(Category.HOBBY, f"is {_article(hw)} {hw}", EXPLICIT)]
        return []
    words = _JOB_SPLIT_RE.split(text, maxsplit=1)[0].split()
    if words and len(words) <= 3 and words[-1].lower() in _HOBBY_PERSON_HEADS - _JOB_HEADS and words[-1].lower() not in _AMBIGUOUS_JOB_HEADS:
        return [(Category.HOBBY, f"is {_article(text)} {' '.join(words)}", EXPLICIT)]
    return _job_and_org(rest, EXPLICIT, need_lexicon=True)


@_rule("ive_been_job", "been", IVE + r"been\s+(?:a|an)\s+")
def _h_ive_been(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    past = bool(_LEAVING_RE.search(ctx.message))
    return _job_and_org(rest, INDIRECT, need_lexicon=True, past=past)


@_rule(
    "used_to_job",
    "used",
    r"(?:\b(?P<subj>i|we)\s+|(?:^|,\s*|\band\s+))" + ADV + r"used\s+to\s+(?:be|work\s+as)\s+(?:a|an)\s+",
)
def _h_used_to(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    subj = m.group("subj")
    if subj is None:
        # Subject left out: the sentence opens with it, or is plainly about the speaker
        # ("I'm 68 and retired, used to be a carpenter") and nobody else is mentioned before it.
        prefix = ctx.sentence[: m.start()]
        if prefix.strip() and (
            not re.match(r"\s*(?:i|i'm|im|i've)\b", prefix, re.I) or _OTHER_PERSON_RE.search(prefix)
        ):
            return []
        conf = INDIRECT
    elif subj.lower() == "we":
        return []
    else:
        conf = EXPLICIT
    return _job_and_org(rest, conf, need_lexicon=True, past=True)


_OTHER_PERSON_RE = re.compile(
    r"\b(?:he|she|they|his|her|their|who|guy|man|woman|friend|someone|somebody|my\s+\w+|(?-i:[A-Z][a-z]+))\b",
    re.I,
)


@_rule("was_a_job", "was", r"\bi\s+" + ADV + r"was\s+(?:a|an)\s+(?=[\w\s-]{2,40}?(?:\s+for\s+(?:\d+|a\s+few|many|several|two|three|four|five|six|seven|eight|nine|ten|over|almost|about|nearly)\b|\s+(?:before|until|back\s+in|in\s+the\s+(?:army|navy|military|air\s+force)|at\s+(?-i:[A-Z]))\b|\s*(?:[.!;]|$)))")
def _h_was_a_job(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if re.search(r"\b(?:halloween|costume|dressed|kid|child|teen|teenager|little|young|baby)\b", ctx.sentence, re.I):
        return []
    return list(_job_and_org(rest, INDIRECT, need_lexicon=True, past=True))


@_rule("used_to_work_at", "used", r"\b(?P<subj>i)\s+" + ADV + r"used\s+to\s+work\s+(?:at|for)\s+")
def _h_used_to_work_at(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    org = _org(_cut(rest))
    if org is None:
        return []
    return [(Category.EMPLOYER, f"used to work at {org[0]}", org[1])]


@_rule("work_x_as", "work", r"\bi\s+" + ADV + r"work\s+(?:(?:nights|days|weekends|part[- ]time|full[- ]time|remotely|mostly|here|there)\s+)?(?:at|for|in|from)\s+(?P<org>[^,.;!?]{2,40}?)\s+as\s+(?=(?:a|an)\s)")
def _h_work_x_as(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    out = [e for e in _job_and_org(rest, EXPLICIT, need_lexicon=True) if e[0] is not Category.EMPLOYER]
    if out:
        org = _org(m.group("org")) if re.search(r"\b(?:at|for)\s+" + re.escape(m.group("org")), m.group(0)) and m.group("org").lower() != "home" else None
        if org:
            out.append((Category.EMPLOYER, f"works at {org[0]}", org[1]))
    return out


@_rule("work_at", "work working", r"(?:\b(?P<subj>i|i'm|im|i\s+am)\s+" + ADV + r"|(?P<and>\band\s+))(?:work|working)\s+(?:(?:remotely|part[- ]time|full[- ]time|freelance|mostly)\s+)?(?:at|for)\s+")
def _h_work_at(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    if m.group("and") is not None:
        # "I teach yoga and work at a bank": only when the sentence is plainly about the speaker
        before = ctx.sentence[: m.start()]
        if not re.match(r"\s*(?:i|i'm|im)\s", before, re.I) or re.search(r"\b(?:he|she|they|we|you|my|his|her|their)\b", before, re.I):
            return []
    org = _org(_cut(rest))
    if org is None:
        return []
    name, conf = org
    if name.lower() in {"myself", "home", "a living"}:
        return []
    return [(Category.EMPLOYER, f"works at {name}", conf if m.group("and") is None else min(conf, INDIRECT))]


@_rule("work_in", "work", r"\bi\s+" + ADV + r"work\s+in\s+(?=[a-z]|[A-Z]{2,4}\b)")
def _h_work_in(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=4)
    if obj is None or obj.split()[0].lower() in {"a", "an", "the", "their"}:
        return []
    if obj[:1].isupper() and not (obj.isupper() and len(obj) <= 4):
        return []
    return [(Category.OCCUPATION, f"works in {obj}", WEAK)]


@_rule("teach", "teach", r"\bi\s+" + ADV + r"teach\s+")
def _h_teach(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    if not text:
        return []
    parts = re.split(r"\s+(?:at|in)\s+", text, maxsplit=1)
    subject = parts[0]
    words = subject.split()
    if not words or len(words) > 4 or words[0].lower() in _BAD_OBJECT_START | {"my", "them", "people", "kids", "myself"}:
        return []
    if re.search(r"\b(?:my|their|to|how)\b", subject, re.I) or _YOU_RE.search(subject):
        return []
    out: list[Emit] = [(Category.OCCUPATION, f"teaches {subject}", EXPLICIT)]
    if len(parts) == 2 and re.search(r"\bat\s", text):
        org = _org(parts[1])
        if org is not None:
            out.append((Category.EMPLOYER, f"works at {org[0]}", org[1]))
    return out


@_rule("run_business", "own run manage", r"\bi\s+" + ADV + r"(?P<verb>own|run|manage)\s+(?P<det>a|an|my\s+own|my|the)\s+")
def _h_run_business(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_PURPOSE_SPLIT_RE.split(_cut(rest), maxsplit=1)[0], trim_time=True)
    text = re.split(r"\s+in\s+", text, maxsplit=1)[0]
    words = text.split()
    if not words or len(words) > 4:
        return []
    if words[-1].lower() not in _BUSINESS_NOUNS and " ".join(words[-2:]).lower() not in _BUSINESS_NOUNS:
        return []
    det = _swap_pronouns(m.group("det").lower())
    return [(Category.OCCUPATION, f"{_third_person(m.group('verb'))} {det} {text}", EXPLICIT)]


@_rule("opened_business", "opened started launched founded", r"\bi\s+" + ADV + r"(?:opened|started|launched|founded)\s+(?P<det>a|an|my\s+own|my)\s+")
def _h_opened_business(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    text = _tidy(_cut(rest), trim_time=True)
    words = text.split()
    if not words or len(words) > 5 or _YOU_RE.search(text):
        return []
    if words[-1].lower() not in _BUSINESS_NOUNS - {"practice", "label", "brand"}:
        return []
    det = _swap_pronouns(m.group("det").lower())
    if det in {"a", "an"}:
        det = _article(text)
    return [(Category.OCCUPATION, f"runs {det} {text}", INDIRECT)]


@_rule(
    "new_job",
    "job",
    r"\b(?:(?P<got>i\s+" + ADV + r"(?:got|landed|accepted|took|started))|(?P<starting>(?:i'm|im|i\s+am)\s+" + ADV
    + r"starting))\s+(?:a|the|my)\s+(?:new\s+)?job\s+(?P<prep>as|at)\s+",
)
def _h_new_job(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    conf = EXPLICIT if m.group("got") else INDIRECT
    out: list[Emit] = []
    if m.group("prep").lower() == "as":
        out.extend(_job_and_org(rest, conf, need_lexicon=False))
    else:
        org = _org(_cut(rest))
        if org:
            out.append((Category.EMPLOYER, f"works at {org[0]}", min(conf, org[1])))
    if m.group("starting") and out:
        obj = _free_object(m.group(0)[m.group(0).lower().index("starting") + 9 :] + rest, trim_time=False, max_words=14)
        if obj:
            out.append((Category.PLAN, f"is starting {obj}", EXPLICIT))
    return out


@_rule(
    "status",
    "retired unemployed self-employed employed freelancing freelancer retiree jobs work",
    IM + r"(?:\d{1,3}\s+and\s+)?(?P<status>retired|unemployed|self-employed|self employed|freelancing|"
    r"a\s+freelancer|a\s+retiree|between\s+jobs|out\s+of\s+work)\b(?!\s+(?:from|as)\b)",
)
def _h_status(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    status = _norm_space(m.group("status").lower())
    status = {
        "self employed": "self-employed",
        "a retiree": "retired",
        "freelancing": "a freelancer",
        "between jobs": "unemployed",
        "out of work": "unemployed",
    }.get(status, status)
    return [(Category.OCCUPATION, f"is {status}", EXPLICIT)]


@_rule(
    "lost_job",
    "job laid fired redundant let",
    r"(?:(?P<lost>(?:\bi\s+" + ADV + r"|^)(?:lost|quit|left)\s+my\s+job)|(?P<laid>i\s+" + ADV
    + r"(?:got|was|been)\s+(?:laid\s+off|let\s+go|fired|made\s+redundant))|(?P<leaving>(?:i'm|im|i\s+am)\s+"
    + ADV + r"(?:leaving|quitting)\s+my\s+job))\b",
)
def _h_lost_job(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    # One clause, one fact: "lost my job as a banker at Chase" -> "lost their job as a banker at
    # Chase" (not three facts: lost a job, used to be a banker, used to work at Chase).
    if m.group("lost"):
        said = m.group("lost").lower()
        verb = "quit" if "quit" in said else "left" if "left" in said else "lost"
        am = re.match(r"\s+(?:as\s+(?P<as>(?:a|an)\s+.*)|at\s+(?P<at>.*))", rest, re.I)
        if am and am.group("as"):
            job: str | None = None
            org: tuple[str, float] | None = None
            for cat, fact, _ in _job_and_org(am.group("as"), EXPLICIT, need_lexicon=True, past=True):
                if cat is Category.OCCUPATION and fact.startswith(("used to work as ", "used to be ")):
                    job = fact.removeprefix("used to work as ").removeprefix("used to be ")
                elif cat is Category.EMPLOYER and fact.startswith("used to work at "):
                    org = (fact.removeprefix("used to work at "), EXPLICIT)
            if job is not None and org is not None:
                return [(Category.EMPLOYER, f"{verb} their job as {job} at {org[0]}", EXPLICIT)]
            if job is not None:
                return [(Category.OCCUPATION, f"{verb} their job as {job}", EXPLICIT)]
        elif am and am.group("at"):
            org = _org(_cut(am.group("at")))
            if org:
                return [(Category.EMPLOYER, f"{verb} their job at {org[0]}", min(EXPLICIT, org[1]))]
        return [(Category.OTHER, f"{verb} their job", EXPLICIT)]
    if m.group("laid"):
        am = re.match(r"\s+(?:from|at|by)\s+(.*)", rest, re.I)
        if am:
            org = _org(_cut(am.group(1)))
            if org and org[0][:1].isupper():
                return [(Category.EMPLOYER, f"lost their job at {org[0]}", org[1])]
        return [(Category.OTHER, "lost their job", EXPLICIT)]
    return [(Category.PLAN, "is leaving their job", EXPLICIT)]
