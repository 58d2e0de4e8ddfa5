"""Rules for hobbies and likes ("I love hiking", "I don't like jazz", learning, playing, joining,
fandom), plus what is said the same way: nationality, personality, fears, "a morning person",
getting accepted into a programme."""

from __future__ import annotations

import re
from typing import Iterable

from whisper_assets.core.llm.offline_facts.guards import EXPLICIT, INDIRECT
from whisper_assets.core.llm.offline_facts.lexicons import _HOBBY_GERUNDS, _NOT_NAMES, _SCHOOL_RE, _WANT_SKIP
from whisper_assets.core.llm.offline_facts.objects import (
    _PURPOSE_SPLIT_RE, _article, _free_object, _is_gerund, _third_person,
)
from whisper_assets.core.llm.offline_facts.registry import (
    ADV, IM, IVE, IWE, _Ctx, _Rule, Emit, _subj_conf, rule_registrar,
)
from whisper_assets.core.llm.offline_facts.text import _norm_space
from whisper_assets.core.llm.schemas import Category

RULES: list[_Rule] = []
_rule = rule_registrar(RULES)


_HOBBY_GERUND_OK = frozenset("reading learning watching making listening working".split())


@_rule(
    "love_like",
    "love loves adore enjoy like prefer hate dislike detest loathe stand live",
    r"\b(?P<subj>i|we)\s+" + ADV + r"(?P<verb>love|loves|adore|enjoy|like|prefer|hate|dislike|detest|loathe|"
    r"can't\s+stand|cannot\s+stand|can't\s+live\s+without)\s+(?!(?:it|that|this|you|how|what|when|"
    r"seeing|hearing|having|getting|being|knowing|talking|chatting|sharing)\b)",
)
def _h_love_like(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = _norm_space(m.group("verb").lower())
    conf = _subj_conf(m)
    if verb in {"like", "prefer"}:
        conf = min(conf, INDIRECT) if verb == "prefer" else conf
    stripped = rest.lstrip()
    if re.match(r"to\s+\w", stripped, re.I):
        if verb not in {"love", "like", "enjoy", "adore", "hate"}:
            return []
        obj = _free_object(stripped[3:], max_words=6)
        if obj is None:
            return []
        ow = obj.split()
        if ow[0].lower() in _WANT_SKIP and not (ow[0].lower() == "go" and len(ow) > 1 and ow[1].lower() in _HOBBY_GERUNDS):
            return []
        if ow[0].lower() == "go":
            obj = re.split(r"\s+(?:in|on|at|with|every)\s+", obj, maxsplit=1)[0]
        return [(Category.HOBBY if verb != "hate" else Category.PREFERENCE, f"{_third_person(verb)} to {obj}", conf)]
    obj = _free_object(rest, max_words=7)
    if obj is None:
        return []
    words = obj.split()
    first = words[0].lower()
    if first in {"the", "a", "an"} and len(words) > 1 and not words[1][:1].isupper():
        return []  # "I love the colours" -- about something in the chat, not a lasting preference
    if first in {"their", "them"} and len(words) == 1:
        return []
    if first in {"their"} and words[-1].lower() in {"job", "family", "life", "kids", "work", "friends", "husband", "wife", "team", "students", "fam"}:
        return []  # true but not worth a memory slot
    if _is_gerund(first) or first in _HOBBY_GERUND_OK and len(words) > 1:
        if verb in {"love", "enjoy", "adore", "like"}:
            if first in {"working", "living", "being"}:
                return []
            return [(Category.HOBBY, f"enjoys {obj}", conf)]
        lead = {"can't stand": "can't stand", "cannot stand": "can't stand"}.get(verb, _third_person(verb))
        return [(Category.PREFERENCE, f"{lead} {obj}", conf)]
    lead = {
        "love": "loves",
        "adore": "loves",
        "enjoy": "enjoys",
        "like": "likes",
        "prefer": "prefers",
        "hate": "hates",
        "dislike": "dislikes",
        "detest": "hates",
        "loathe": "hates",
        "can't stand": "can't stand",
        "cannot stand": "can't stand",
        "can't live without": "can't live without",
    }[verb]
    return [(Category.PREFERENCE, f"{lead} {obj}", conf)]


@_rule("dont_like", "don't dont not never", r"\bi\s+(?P<neg>don't|dont|do\s+not|never)\s+(?:really\s+)?(?P<verb>eat|drink|like|enjoy|smoke)\b\s*", check_context=True)
def _h_dont_like(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = m.group("verb").lower()
    never = m.group("neg").lower() == "never"
    if verb in {"drink", "smoke"} and re.match(r"\s*(?:[.,!;]|$|alcohol|anymore|at all)", rest, re.I):
        what = "" if not re.match(r"\s*alcohol", rest, re.I) else " alcohol"
        return [(Category.PREFERENCE, f"{'never ' if never else 'does not '}{verb if not never else _third_person(verb)}{what}".replace("does not drink", "doesn't drink").replace("does not smoke", "doesn't smoke"), EXPLICIT)]
    obj = _free_object(rest, max_words=5)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an", "much", "that", "it", "to"}:
        return []
    if never:
        return [(Category.PREFERENCE, f"never {_third_person(verb)} {obj}", EXPLICIT)]
    return [(Category.PREFERENCE, f"doesn't {verb} {obj}", EXPLICIT)]


@_rule(
    "learning",
    "learning practicing practising getting taking",
    r"\b(?:i'm|im|i\s+am|i've\s+been|ive\s+been|i\s+have\s+been)\s+" + ADV + r"(?P<verb>learning|practicing|practising|getting\s+into|taking)\s+",
)
def _h_learning(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = _norm_space(m.group("verb").lower())
    obj = _free_object(_PURPOSE_SPLIT_RE.split(rest, maxsplit=1)[0], max_words=6)
    if obj is None:
        return []
    first = obj.split()[0].lower()
    if first in {"a", "an"} and verb != "taking" or first in {"so", "lots", "more", "from", "about", "care", "it", "time", "the"} and len(obj.split()) == 1:
        return []
    if re.match(r"(?:a\s+lot|lots|so\s+much|more|new\s+things|from|about|that|how\s+to\s+deal)", obj, re.I):
        return []
    if verb == "taking":
        if not re.search(r"\b(?:lessons?|class(?:es)?|courses?)$", obj, re.I):
            return []
        return [(Category.HOBBY, f"is taking {obj}", EXPLICIT)]
    if verb == "getting into":
        return [(Category.HOBBY, f"is getting into {obj}", EXPLICIT)]
    if verb in {"practicing", "practising"}:
        return [(Category.HOBBY, f"practises {obj}", EXPLICIT)]
    return [(Category.HOBBY, f"is learning {obj}", EXPLICIT)]


@_rule("into", "into", r"\b(?:i'm|im|i\s+am|i've\s+been|ive\s+been|i\s+have\s+been)\s+" + ADV + r"(?:really\s+|super\s+|so\s+|very\s+|big\s+|heavily\s+|deep\s+|totally\s+)?into\s+")
def _h_into(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=5)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an", "their", "them"}:
        return []
    return [(Category.HOBBY, f"is into {obj}", EXPLICIT)]


_HOBBY_VERBS_TRANSITIVE = "play|bake|knit|crochet|sew|paint|draw|sketch|shoot|collect|brew|write|sing|do|practice|practise|volunteer"
_HOBBY_DO_OBJECTS = frozenset(
    """
    yoga pilates pottery crossfit karate judo jiu-jitsu jujitsu taekwondo boxing kickboxing
    archery fencing ballet salsa tai chi parkour calligraphy origami woodworking photography
    martial arts gymnastics triathlons marathons improv standup stand-up theatre theater
    """.split()
)


@_rule("hobby_verb", "play playing bake knit crochet sew paint draw sketch shoot collect brew write sing do practice practise volunteer",
       r"\bi(?:\s+|'ve\s+been\s+|\s+have\s+been\s+)" + ADV + r"(?P<verb>" + _HOBBY_VERBS_TRANSITIVE + r"|playing)\s+(?!(?:it|that|this|with|them|you|a\s+lot|too|to|for|my\s+best|well|not|so|what|whatever|the\s+same|things|stuff|some|anything|something|everything|nothing)\b)")
def _h_hobby_verb(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    verb = m.group("verb").lower()
    if verb == "playing":
        verb = "play"
    elif "been" in m.group(0).lower():
        return []
    if verb == "play":
        rest = re.split(r"\s+(?:in|at|with|on|for|every|after|before|since|when|during)\s+", rest, maxsplit=1)[0]
    obj = _free_object(rest, max_words=4)
    if obj is None:
        return []
    words = obj.split()
    first = words[0].lower()
    if first in {"a", "an", "their", "them", "one", "on", "at", "in", "every", "all"}:
        return []
    if verb == "do" and obj.lower() not in _HOBBY_DO_OBJECTS:
        return []
    if verb == "shoot" and not re.match(r"(?:film|photos?|pictures?|portraits?|landscapes?|weddings?|video|street|analog|digital|35mm|medium format)\b", obj, re.I):
        return []
    if verb == "write" and not re.match(r"(?:poetry|poems?|songs?|stories|short stories|fiction|novels?|music|fanfic|code|a blog|blogs?|essays?|screenplays?)\b", obj, re.I):
        return []
    if verb == "sing" and not re.match(r"(?:in\s+a\s+choir|in\s+a\s+band|karaoke|opera|jazz)\b", obj, re.I):
        return []
    if verb in {"volunteer"}:
        if not re.match(r"(?:at|with|for)\s", rest.lstrip(), re.I):
            return []
    if verb == "play":
        obj = re.split(r"\s+(?:in|at|with|on|for|every|after|before|since)\s+", obj, maxsplit=1)[0]
        words = obj.split()
        if len(words) > 3:
            return []
    if verb == "paint" and first in {"the"}:
        return []
    category = Category.HOBBY
    if re.search(r"\b(?:for a living|professionally|for work)$", obj, re.I):
        category = Category.OCCUPATION
    return [(category, f"{_third_person(verb if verb != 'practise' else 'practice')} {obj}", EXPLICIT)]


@_rule("volunteer", "volunteer volunteering", r"(?:\bi\s+" + ADV + r"volunteer|" + IVE + r"been\s+volunteering)\s+(?P<prep>at|with|for)\s+")
def _h_volunteer(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None:
        return []
    return [(Category.HOBBY, f"volunteers {m.group('prep').lower()} {obj}", EXPLICIT)]


@_rule("go_gerund", "go", r"\b(?P<subj>i|we)\s+" + ADV + r"go\s+(?P<g>(?:fishing|hiking|running|camping|climbing|bouldering|swimming|surfing|skiing|snowboarding|dancing|bowling|sailing|kayaking|canoeing|cycling|biking|skating|jogging|birdwatching|birding|horseback riding|horse riding|diving|scuba diving|snorkeling|snorkelling|rock climbing|hunting|golfing|paddleboarding|rowing|mountain biking|trail running|backpacking|antiquing|thrifting|foraging))\b")
def _h_go_gerund(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    return [(Category.HOBBY, f"goes {m.group('g').lower()}", _subj_conf(m))]


@_rule("took_up", "took taken picked started", r"\bi\s+(?:have\s+|'ve\s+|just\s+|recently\s+|finally\s+)*(?:took|taken|picked)\s+up\s+|\bi\s+(?:just\s+|recently\s+)?started\s+(?=\w+ing\b)")
def _h_took_up(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=4)
    if obj is None:
        return []
    first = obj.split()[0].lower()
    if first in {"a", "an", "the", "their", "them", "on", "after"}:
        return []
    if "started" in m.group(0).lower():
        if first not in _HOBBY_GERUNDS:
            return []
        return [(Category.HOBBY, f"started {obj}", EXPLICIT)]
    return [(Category.HOBBY, f"took up {obj}", EXPLICIT)]


@_rule("joined", "joined", IWE + r"(?:just\s+|recently\s+)?joined\s+(?=(?:a|an|the|my)\s)")
def _h_joined(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=7)
    if obj is None:
        return []
    words = obj.split()
    if not any(w.lower() in {"club", "team", "group", "program", "programme", "choir", "band", "league", "gym", "class", "orchestra", "society", "crew", "troupe", "circle", "association"} for w in words[1:]):
        return []
    return [(Category.HOBBY, f"joined {obj}", _subj_conf(m))]


@_rule("hobbies_are", "hobby hobbies", r"\b(?:my|our)\s+(?:main\s+|favou?rite\s+|big\s+)?hobb(?:y|ies)\s+(?:is|are|include|includes)\s+")
def _h_hobbies(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None:
        return []
    return [(Category.HOBBY, f"enjoys {obj}", EXPLICIT)]


@_rule("fan_of", "fan", IM + r"(?P<neg>not\s+)?(?:a|an)\s+(?:big\s+|huge\s+|massive\s+|giant\s+|die[- ]hard\s+|lifelong\s+|long[- ]time\s+|total\s+)?fan\s+of\s+", check_context=True)
def _h_fan_of(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None:
        return []
    first = obj.split()[0].lower()
    if first in {"the", "a", "an", "their"} and len(obj.split()) > 1 and not obj.split()[1][:1].isupper():
        if first != "the" or obj.split()[1].lower() not in {"outdoors"}:
            return []
    if first in {"both", "all", "their"}:
        return []
    return [(Category.PREFERENCE, f"is {'not ' if m.group('neg') else ''}a fan of {obj}", EXPLICIT)]


@_rule("passionate", "passionate obsessed", IM + r"(?:really\s+|super\s+|so\s+|very\s+|deeply\s+|truly\s+)?(?P<what>passionate\s+about|obsessed\s+with)\s+")
def _h_passionate(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=6)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an", "their", "them"} and len(obj.split()) < 3:
        return []
    if obj.split()[0].lower() in {"the", "their"} and not obj.split()[1][:1].isupper():
        return []
    what = _norm_space(m.group("what").lower())
    return [(Category.PREFERENCE, f"is {what} {obj}", EXPLICIT)]


@_rule("got_accepted", "accepted admitted", r"\bi\s+" + ADV + r"(?:got|was|have\s+been|'ve\s+been)\s+(?:accepted|admitted)\s+(?P<prep>to|into|for|at)\s+")
def _h_got_accepted(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=7)
    if obj is None:
        return []
    if _SCHOOL_RE.search(obj) or re.search(r"\b(?:program(?:me)?|course|degree|phd|master'?s|mba)\b", obj, re.I):
        category = Category.EDUCATION
    elif re.search(r"\b(?:internship|job|position|role|residency|apprenticeship|fellowship)\b", obj, re.I):
        category = Category.OCCUPATION
    else:
        return []
    return [(category, f"got accepted {m.group('prep').lower()} {obj}", EXPLICIT)]


@_rule("x_fan", "fan", IM + r"(?:a|an)\s+(?:big\s+|huge\s+|massive\s+|giant\s+|die[- ]hard\s+|lifelong\s+|long[- ]time\s+|total\s+)?(?P<what>(?-i:[A-Z][\w'.&-]*)(?:\s+(?-i:[A-Z][\w'.&-]*)){0,3})\s+fan\b")
def _h_x_fan(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = m.group("what")
    if what.split()[0].lower() in _NOT_NAMES:
        return []
    return [(Category.PREFERENCE, f"is a fan of {what}", EXPLICIT)]


_NATIONALITIES = (
    "american canadian mexican brazilian argentinian argentine chilean colombian peruvian venezuelan "
    "cuban jamaican british english scottish welsh irish french german italian spanish portuguese dutch "
    "belgian swiss austrian swedish norwegian danish finnish icelandic polish czech slovak hungarian "
    "romanian bulgarian greek turkish russian ukrainian lebanese syrian israeli egyptian moroccan "
    "nigerian ghanaian kenyan ethiopian south african indian pakistani bangladeshi sri lankan nepali "
    "chinese japanese korean taiwanese vietnamese thai filipino indonesian malaysian singaporean "
    "australian kiwi iranian iraqi saudi emirati"
)


@_rule("nationality", _NATIONALITIES, IM + r"(?:half\s+)?(?P<nat>" + "|".join(_NATIONALITIES.split()) + r")(?:[- ](?P<nat2>" + "|".join(_NATIONALITIES.split()) + r"))?\b(?=\s*(?:[,.!;]|$|and\b|but\b|so\b|by\b|originally\b|too\b|lol\b|haha\b|though\b|myself\b))")
def _h_nationality(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    nat = m.group("nat").capitalize()
    if m.group("nat2"):
        nat = f"{nat}-{m.group('nat2').capitalize()}"
    half = "half " if re.search(r"\bhalf\s", m.group(0), re.I) else ""
    return [(Category.OTHER, f"is {half}{nat}", EXPLICIT)]


@_rule("personality", "introvert extrovert ambivert homebody introverted extroverted", IM + r"(?:a\s+|an\s+)?(?:total\s+|big\s+|huge\s+|complete\s+)?(?P<what>introvert|extrovert|ambivert|homebody|introverted|extroverted)\b")
def _h_personality(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    what = m.group("what").lower()
    if what.endswith("ed"):
        return [(Category.OTHER, f"is {what}", EXPLICIT)]
    return [(Category.OTHER, f"is {_article(what)} {what}", EXPLICIT)]


@_rule("afraid_of", "scared afraid terrified phobia", IM + r"(?:really\s+|so\s+|very\s+|super\s+|deathly\s+)?(?P<what>scared|afraid|terrified)\s+of\s+")
def _h_afraid_of(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    obj = _free_object(rest, max_words=4)
    if obj is None or obj.split()[0].lower() in {"the", "a", "an", "their", "them", "what", "how", "being", "getting", "losing", "messing"}:
        return []
    return [(Category.PREFERENCE, f"is afraid of {obj}", EXPLICIT)]


@_rule("person_type", "person people", IM + r"(?P<neg>not\s+)?(?:really\s+)?(?:a|an)\s+(?:big\s+)?(?P<kind>morning|night|cat|dog|people|coffee|tea|beach|mountain|city|outdoors|indoor|outdoor|winter|summer|early)\s+(?:person|people)\b")
def _h_person_type(m: re.Match[str], rest: str, ctx: _Ctx) -> Iterable[Emit]:
    kind = m.group("kind").lower()
    return [(Category.PREFERENCE, f"is {'not ' if m.group('neg') else ''}{_article(kind)} {kind} person", EXPLICIT)]
