"""Job titles and employers as objects: the job-phrase and organisation checks, and the
occupation/employer facts of "<job> at <org>", which the work, education and family rules share."""

from __future__ import annotations

import re
from typing import Iterator

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT
from whisper_assets.core.llm.offline_facts.lexicons import (
    _BAD_JOB_ADJ, _JOB_COMPOUNDS, _JOB_HEADS, _NOT_NAMES, _ORG_NOUNS, _STATUS_HEADS,
)
from whisper_assets.core.llm.offline_facts.objects import (
    _ARTICLE_OK_START, _BAD_OBJECT_START, _DEICTIC_RE, _YOU_RE, _article, _cut, _swap_pronouns, _tidy,
)
from whisper_assets.core.llm.offline_facts.registry import Emit
from whisper_assets.core.llm.schemas import Category

_JOB_SPLIT_RE = re.compile(r"\s+(at|for|with|in|on)\s+(?=\S)", re.I)


def _job_phrase(phrase: str, *, need_lexicon: bool) -> str | None:
    words = phrase.split()
    if not words or len(words) > 6:
        return None
    if words[0].lower() not in {"a", "an", "the"}:
        words = [_article(phrase), *words]
    if any(w.lower() in _BAD_JOB_ADJ for w in words[1:]):
        return None
    head = words[-1].lower().strip(".,")
    compound = " ".join(w.lower() for w in words[-2:])
    if need_lexicon and head not in _JOB_HEADS and head not in _STATUS_HEADS and compound not in _JOB_COMPOUNDS:
        return None
    if _YOU_RE.search(phrase) or _DEICTIC_RE.search(phrase):
        return None
    if any(w.lower() in _BAD_OBJECT_START - _ARTICLE_OK_START for w in words[1:]):
        return None
    return " ".join(words)


_ORG_TAIL_RE = re.compile(
    r"\s+(?:(?-i:[a-z]+ing)|on|next|this|starting|from|tomorrow|today|tonight|soon|since|for|doing|where|in\s+(?:january|february|march|"
    r"april|may|june|july|august|september|october|november|december|the\s+\w+|\d{4}|\w+\s+(?:years?|months?|"
    r"weeks?)))\b.*$",
    re.I,
)


def _org(text: str) -> tuple[str, float] | None:
    """An employer/school name: a capitalised name, or 'a/the <org noun>' (lower confidence)."""
    text = _ORG_TAIL_RE.split(text, maxsplit=1)[0]
    text = _tidy(text, trim_time=True)
    if not text:
        return None
    words = text.split()
    if len(words) > 6 or _YOU_RE.search(text):
        return None
    if words[0][:1].isupper() and words[0] not in {"I", "I'm"} and words[0].lower() not in _NOT_NAMES:
        return text, EXPLICIT
    if words[0].lower() in {"a", "an", "the"} and words[-1].lower() in _ORG_NOUNS and len(words) <= 4:
        return _swap_pronouns(text), INDIRECT
    return None


def _job_and_org(rest: str, conf: float, *, need_lexicon: bool, past: bool = False) -> Iterator[Emit]:
    text = _tidy(re.split(r"\s+(?:before|after|when|until|till|during)\s+", _cut(rest), maxsplit=1, flags=re.I)[0], trim_time=True)
    if not text:
        return
    parts = _JOB_SPLIT_RE.split(text, maxsplit=1)
    if len(parts) == 3 and parts[1].lower() in {"in", "on"}:
        # "a nurse in Boston" is a place, not an employer; "a PhD student in biology at Duke" has one
        later = re.split(r"\s+(?:at|for)\s+", parts[2], maxsplit=1)
        parts = [parts[0], later[1]] if len(later) == 2 else parts[:1]
    elif len(parts) == 3:
        parts = [parts[0], parts[2]]
    job = _job_phrase(parts[0], need_lexicon=need_lexicon)
    if job is None:
        return
    head = job.split()[-1].lower()
    lead_occ = "used to work as" if past else "works as"
    lead_emp = "used to work at" if past else "works at"
    if head in _STATUS_HEADS:
        yield _STATUS_HEADS[head], ("used to be " if past else "is ") + job, conf
    else:
        yield Category.OCCUPATION, f"{lead_occ} {job}", conf
    if len(parts) == 2:
        org = _org(parts[1])
        if org is not None:
            name, oconf = org
            lead = ("studied at" if past else "studies at") if head in _STATUS_HEADS and _STATUS_HEADS[head] is Category.EDUCATION else lead_emp
            yield Category.EMPLOYER, f"{lead} {name}", min(conf, oconf)
