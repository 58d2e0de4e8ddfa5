"""Object capture and cleaning: the text after a lead cut at clause boundaries and tidied into the
object of a fact (free phrase, place, name), plus the small grammar helpers the rules share."""

from __future__ import annotations

import re

from whisper_assets.core.llm.offline_facts import inflection
from whisper_assets.core.llm.offline_facts.lexicons import _DAYS, _GAZETTEER, _GERUND_NOT, _MONTHS, _NOT_NAMES
from whisper_assets.core.llm.offline_facts.text import _norm_space

_CUT_RE = re.compile(
    r"\s*(?:[,;:!?()\[\]\"]|\.(?=\s|$)|\.\.+|\s-+\s"
    r"|\s(?:but|because|cause|'cause|coz|cuz|so|which|who|whom|whose|when|whenever|while|whilst|"
    r"though|although|if|unless|until|till|since|as|where|whereas|lol|lmao|lmfao|rofl|haha\w*|"
    r"hehe\w*|tbh|btw|imo|imho|honestly|rn|idk|plus|then|like|cos|bc|b/c|and then|anyway|"
    r"ok|okay|yeah|yay|omg|which|that's|thats|it's|its|what)\b"
    r"|\s(?:and|&|or|n)\s(?!(?!I\b|I'|Im\b)[A-Z])"
    r"|$)"
)
_CAPITALISED = r"[A-Z][\w'.\u2024-]+(?:\s+[A-Z][\w'.\u2024-]+)?"  # one or two capitalised words
_MORE_NAMES_RE = re.compile(r"\s*(?:,\s*(?:(?:and|or|&)\s+)?|\s(?:and|or|&)\s+)(?-i:(?!I\b|I'|Im\b)"
                            + _CAPITALISED + ")")
_COMMA_PLACE_RE = re.compile(r",\s+(" + _CAPITALISED + r")(?=\s*(?:[,.!?;]|$))")
_TRAIL_FILLER_RE = re.compile(
    r"(?:\s+|^)(?:lol|haha\w*|hehe\w*|lmao|tbh|btw|honestly|actually|really|too|again|anyway|"
    r"anymore|though|now|right now|at the moment|atm|currently|these days|nowadays|lately|"
    r"recently|still|already|mostly|in general|generally|overall|for sure|for real|obviously|"
    r"of course|as well|and stuff|and all|or so|or something|i guess|i think|i reckon|"
    r"i suppose|rn|ok|okay|yay|yeah|though|so much|a lot|very much|big time|tho|lately|finally|"
    r"haha|xd|x|here|there|btw|someday|some day|one day|eventually|at some point|in the future|"
    r"the most|the best|most of all|above all|together|with each other|either)$",
    re.I,
)
# The last two words capitalised: the object ends in a title or a name ("Won't Get Fooled Again"),
# whose last word is never a filler to drop.
_TITLE_END_RE = re.compile(r"(?-i:[A-Z][\w'’-]*)\s+(?-i:[A-Z][\w'’-]*)$")
_TRAIL_TIME_RE = re.compile(
    r"\s+(?:for\s+(?:about\s+|almost\s+|over\s+|nearly\s+|around\s+|like\s+|the\s+(?:past|last)\s+|"
    r"more than\s+)?(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+|a few|a couple of|"
    r"several|many|some|a couple)\s+(?:years?|months?|weeks?|days?|decades?)(?:\s+now)?"
    r"|for\s+(?:years|ages|a while|a long time|so long|decades|life)"
    r"|every\s+(?:single\s+)?(?:day|week|weekend|morning|evening|night|month|year|summer|winter|"
    r"\w+day|other \w+)|on\s+(?:\w+days|weekends|the weekends?|weekdays)|(?:once|twice|three times)"
    r"\s+(?:a|per)\s+(?:week|month|day|year)|at\s+weekends|most\s+(?:days|weekends|mornings|"
    r"evenings|nights)|daily|weekly|regularly|all the time|every now and then|sometimes|often|"
    r"in my (?:free|spare) time|in their (?:free|spare) time|for fun|last\s+(?:year|month|week|"
    r"summer|spring|fall|autumn|winter|weekend|night|time)|(?:in|back in)\s+(?:19|20)\d\d|"
    r"yesterday|today|tonight|this\s+(?:morning|week|year|month|weekend)|"
    r"(?:in|since|back in|last|this past)\s+(?:the\s+)?(?:january|february|march|april|may|june|july|august|"
    r"september|october|november|december|spring|summer|fall|autumn|winter)|"
    r"(?:a\s+)?(?:few|couple of|\d+|two|three)\s+(?:years|months|weeks|days)\s+ago|"
    r"as a (?:kid|child|teen|teenager)|when (?:i|they) was (?:a )?(?:kid|child|younger)|"
    r"since\s+\S+)$",
    re.I,
)
_TRAIL_PAST_RE = re.compile(
    r"\s+(?:yesterday|earlier(?: today| this week)?|last\s+(?:year|month|week|summer|spring|fall|autumn|"
    r"winter|weekend|night|time|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|friday|monday|tuesday|"
    r"wednesday|thursday|saturday|sunday)|"
    r"this past \w+|over the (?:weekend|holidays|summer|break)|"
    r"(?:about\s+|around\s+|almost\s+|over\s+|like\s+|nearly\s+)?(?:a|an|one|two|three|"
    r"four|five|six|seven|eight|nine|ten|\d+|a few|a couple of|a couple|several|many)\s+(?:years?|months?|"
    r"weeks?|weekends?|days?|decades?)\s+ago|(?:not\s+)?(?:so\s+)?long\s+ago|recently|just now)$",
    re.I,
)
_TRAIL_DANGLING_RE = re.compile(
    r"\s+(?:a|an|the|to|of|in|on|at|for|with|and|or|my|their|some|from|by|about|into|your|"
    r"our|is|are|was|were|be|just|very|really|so|that|this|it|not)$",
    re.I,
)
_LEAD_FILLER_RE = re.compile(
    r"^(?:(?:maybe|probably|possibly|perhaps|just|really|also|actually|basically|like|kinda|"
    r"kind of|sort of|definitely|totally|absolutely|so|super|very|all)\s+)+",
    re.I,
)
# First person to third. Lower case only, and "I" only when no capitalised word follows: inside an
# object a capitalised "My" or "I" belongs to a title ("My Brilliant Friend", "I Will Survive").
_PRONOUN_SWAPS = (
    (re.compile(r"\b(?:myself|MYSELF)\b"), "themselves"),
    (re.compile(r"\b(?:ourselves|OURSELVES)\b"), "themselves"),
    (re.compile(r"\b(?:my|MY)\b"), "their"),
    (re.compile(r"\b(?:our|OUR)\b"), "their"),
    (re.compile(r"\b(?:mine|MINE)\b"), "theirs"),
    (re.compile(r"\b(?:me|ME)\b"), "them"),
    (re.compile(r"\bus\b"), "them"),
    (re.compile(r"\bI'm\b(?!\s+[A-Z])"), "they're"),
    (re.compile(r"\bI\b(?!\s+[A-Z])"), "they"),
)
_YOU_RE = re.compile(r"\b(?:you|your|yours|yourself|u|ur|ya|y'all|bot)\b", re.I)
_TIME_NOUNS = (
    r"week|weekend|month|year|morning|afternoon|evening|night|summer|winter|spring|fall|autumn|"
    r"time|semester|term|season|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
_DEICTIC_RE = re.compile(
    r"\b(?:it|these|those|there|here|it's|its)\b|\b(?:this|that)\b(?!\s+(?:coming\s+|past\s+)?(?:"
    + _TIME_NOUNS
    + r")\b)",
    re.I,
)
_BAD_OBJECT_START = frozenset(
    """
    it its it's this that these those them they there here you your how what when where why which
    who whom one ones so such too very some something anything everything nothing him her his he
    she we us lots all both being myself yourself whatever whoever much more most every each any
    sharing hearing seeing knowing talking chatting about feeling the a an to of in
    on at for with is are was be been
    """.split()
)
_ARTICLE_OK_START = frozenset({"the", "a", "an", "to"})
_VAGUE_LAST = frozenset("few lot lots couple bit some things stuff one ones more much many all".split())


def _cut(rest: str, *, keep_place_comma: bool = True) -> str:
    """Text from the start of `rest` to the first clause boundary (a "City, State" comma survives)."""
    pos = 0
    while True:
        m = _CUT_RE.search(rest, pos)
        assert m is not None  # `$` always matches
        if keep_place_comma and rest.startswith(",", m.start() + len(m.group(0)) - 1):
            pm = _COMMA_PLACE_RE.match(rest, m.end() - 1)
            before = rest[: m.start()].split()
            if (
                pm
                and before
                and before[-1][:1].isupper()
                and pm.group(1).split()[0] not in {"I", "I'm", "Im", "But", "And", "So", "The"}
                and pm.group(1).split()[0].lower() not in _NOT_NAMES
            ):
                if not _MORE_NAMES_RE.match(rest, pm.end()):  # "Adele, Sia, and Lorde" is a list
                    return rest[: pm.end()].strip()
        return rest[: m.start()].strip()


def _swap_pronouns(text: str) -> str:
    for rx, repl in _PRONOUN_SWAPS:
        text = rx.sub(repl, text)
    return text


def _tidy(obj: str, *, trim_time: bool) -> str:
    obj = _norm_space(obj).strip(" ,.;:!?-'\"")
    if len(obj) > 160:
        return obj  # far too long to be accepted as an object; every caller rejects it
    obj = _LEAD_FILLER_RE.sub("", obj)
    for _ in range(6):
        before = obj
        if _TITLE_END_RE.search(obj):
            break
        obj = _TRAIL_FILLER_RE.sub("", obj).strip(" ,.;:!?-")
        obj = _TRAIL_PAST_RE.sub("", obj).strip(" ,.;:!?-")
        if trim_time:
            obj = _TRAIL_TIME_RE.sub("", obj).strip(" ,.;:!?-")
        obj = _TRAIL_DANGLING_RE.sub("", obj).strip(" ,.;:!?-")
        if obj == before:
            break
    return obj


def _free_object(
    rest: str, *, trim_time: bool = True, max_words: int = 9, allow_deictic: bool = False
) -> str | None:
    """A short noun/verb phrase object, or None when it is empty, vague or about the bot."""
    raw = _cut(rest, keep_place_comma=True)
    if _SPLIT_ADJECTIVES_RE.match(rest[len(raw) :] if rest.lstrip().startswith(raw) else "") and _ENDS_DET_WORD_RE.search(raw):
        return None  # "a safe, inviting place": the cut fell inside a list of adjectives
    obj = _tidy(raw, trim_time=trim_time)
    if not obj or not any(ch.isalpha() for ch in obj):
        return None
    words = obj.split()
    if len(words) > max_words or len(obj) > 90:
        return None
    first = words[0].lower()
    if first in _BAD_OBJECT_START and first not in _ARTICLE_OK_START:
        return None
    if first in _ARTICLE_OK_START and len(words) == 1:
        return None
    if _YOU_RE.search(obj):
        return None
    if not allow_deictic and _DEICTIC_RE.search(obj):
        return None
    if words[-1].lower() in _VAGUE_LAST:
        return None
    if _OTHERS_RE.search(obj):
        return None  # "I love their music": after the swap it would read as the user's own
    return _swap_pronouns(obj)


# Third persons in the user's own words; "my" becomes "their" only after this test.
_OTHERS_RE = re.compile(r"\b(?:they|them|their|theirs|themselves|he|him|his|she|her|hers)\b", re.I)


_SPLIT_ADJECTIVES_RE = re.compile(r"\s*,\s*(?-i:[a-z])[\w-]+\s+(?-i:[a-z])[\w-]+")
_ENDS_DET_WORD_RE = re.compile(r"\b(?:a|an|the|some|very|so|really|more|most)\s+[\w-]+$", re.I)


_PLACE_CONNECTORS = frozenset("of the de del la le los las du da do upon on am an der di y & and".split())


def _place_object(rest: str, *, allow_article: bool = True) -> str | None:
    """A capitalised place name at the start of `rest` ("Portland, Maine", "the UK", "St. Mary's")."""
    text = _cut(rest, keep_place_comma=True)
    tokens = text.split()
    out: list[str] = []
    i = 0
    if allow_article and tokens and tokens[0].lower() == "the" and len(tokens) > 1 and tokens[1][:1].isupper():
        out.append("the")
        i = 1
    while i < len(tokens):
        tok = tokens[i]
        bare = tok.rstrip(",")
        if bare[:1].isupper() and bare not in {"I", "I'm", "Im", "I've", "I'll", "I'd"}:
            if bare.lower().strip(".") in _NOT_NAMES and not out:
                return None
            if bare.lower() in (_MONTHS + " " + _DAYS).split():
                break
            out.append(tok)
            i += 1
            continue
        if (
            out
            and bare in _PLACE_CONNECTORS
            and i + 1 < len(tokens)
            and tokens[i + 1][:1].isupper()
            and not out[-1].endswith(",")
        ):
            out.append(tok)
            i += 1
            continue
        break
    while out and (out[-1] in _PLACE_CONNECTORS or out[-1] == "the"):
        out.pop()
    if not out or (len(out) == 1 and out[0] == "the"):
        return None
    place = " ".join(out).strip(" ,")
    if len(place.split()) > 6 or place.endswith("'s"):
        return None
    return place


def _is_known_place(place: str) -> bool:
    p = place.lower()
    if p in _GAZETTEER:
        return True
    head = p.split(",")[0].strip()
    if head in _GAZETTEER:
        return True
    words = head.split()
    return any(" ".join(words[:n]) in _GAZETTEER for n in range(1, len(words)))


def _name_at(rest: str) -> str | None:
    """A capitalised personal name (one or two words) at the start of `rest`."""
    m = _NAME_RE.match(rest)
    if not m:
        return None
    name = m.group(1)
    parts = name.split()
    kept: list[str] = []
    for p in parts:
        if p.lower() in _NOT_NAMES or p.isupper() and len(p) > 1:
            break
        kept.append(p)
    if not kept:
        return None
    return " ".join(kept)


_NAME_RE = re.compile(r"\s*,?\s*((?-i:[A-Z][a-zà-ÿ'\-]+)(?:\s+(?-i:[A-Z][a-zà-ÿ'\-]+))?)(?![\w\u2024])")
_NAMES_LIST_RE = re.compile(
    r"\s*,?\s*((?-i:[A-Z][a-zà-ÿ'\-]+))(?:,\s*|\s+)and\s+((?-i:[A-Z][a-zà-ÿ'\-]+))\b"
)


# Articles and verb agreement come from the inflect library (inflection.py), not hand-written rules.
_third_person = inflection.third_person
_article = inflection.article


def _plan_object(rest: str, max_words: int = 12) -> str | None:
    return _free_object(rest, trim_time=False, max_words=max_words)


def _pet_name(rest: str) -> str | None:
    nm = _NAMES_LIST_RE.match(rest)
    if nm:
        a, b = nm.group(1), nm.group(2)
        if a.lower() not in _NOT_NAMES and b.lower() not in _NOT_NAMES:
            return f"{a} and {b}"
    return _name_at(rest)


def _is_gerund(word: str) -> bool:
    w = word.lower().strip(",.!?")
    return len(w) > 4 and w.endswith("ing") and w not in _GERUND_NOT


# Where a purpose or circumstance starts after an object ("learning Spanish for my trip").
_PURPOSE_SPLIT_RE = re.compile(r"\s+(?:for|with|at|in\s+(?:my|the|their)|on\s+(?:my|the)|during|before|after)\s+", re.I)
