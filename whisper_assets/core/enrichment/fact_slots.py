"""What a fact text says, for consolidation: the entities two wordings must share to be one fact,
the single-valued slot it fills (home, employer, job title, ...), and what an ending closes.

Fact texts are the extractor's third-person predicates ("lives in Lisbon", "has two dogs",
"lost their job at Halvorsen"). Only the forms below are recognised; anything else is a
multi-valued fact that accumulates (hobbies, preferences, pets by name, ...).

Single-valued slots (a newer value supersedes the older one):
  home             lives / is living / resides / is based in X, moved / relocated to X
  employer         works / is working / is employed at|for X, got a job at X
  job_title        works as (a) X, is a|an X (occupation), is unemployed / retired / self-employed
  relationship     is married|engaged (to X), got married|engaged, is divorced / single / separated /
                   widowed, has a girlfriend / boyfriend / wife / husband / partner / fiancé (named X),
                   is dating X
  pet_count:<sp>   has a|one|two|3 dog(s) (a count without names; puppy counts as dog, kitten as cat)
  age              is N years old
  name             name is X
  favourite:<kind> favourite colour / food / ... is X

Endings (the contract with the extractor, see `ending_of`): "no longer <predicate>",
"doesn't have X anymore", "used to <verb> ...", "lost / quit / left their job (as X) (at Y)",
"was laid off / fired (from Y)", "broke up (with X)", "moved out of / away from X",
"stopped <doing> X", "is no longer <...>".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GENERIC_VERBS = frozenset("play go like love enjoy do make work live get take want need use".split())
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_NUMBER_RE = re.compile(
    r"\b(?:\d+(?:\.\d+)?|(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")(?:-(?:one|two|three|"
    r"four|five|six|seven|eight|nine))?)\b", re.I)
_COUNT = r"(?P<n>a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+)"

# Words of one class name different things ("sister" is not "brother"): two wordings must use the
# same ones. Values map variants onto one word (a puppy is a dog, kids are children).
_CONTRAST: dict[str, dict[str, str]] = {
    "kin": {w: w for w in "sister brother son daughter mother father aunt uncle cousin niece nephew grandmother "
            "grandfather grandson granddaughter wife husband girlfriend boyfriend partner fiance twin "
            "stepson stepdaughter stepmother stepfather".split()}
    | {"mom": "mother", "mum": "mother", "dad": "father", "grandma": "grandmother", "grandpa": "grandfather",
       "fiancee": "fiance", "kid": "child", "kids": "child", "child": "child", "children": "child",
       "baby": "child", "babies": "child"},
    "species": {w: w for w in "dog cat fish bird parrot hamster rabbit horse turtle tortoise snake lizard "
                "gecko ferret chicken goat pony cow pig mouse rat budgie canary".split()}
    | {"puppy": "dog", "puppies": "dog", "pup": "dog", "kitten": "cat", "kitty": "cat", "bunny": "rabbit",
       "mice": "mouse", "guinea": "guinea pig"},
    "body": {w: w for w in "arm leg ankle knee wrist back shoulder hip foot feet hand finger neck head elbow "
             "toe rib nose jaw spine".split()},
    "diet": {w: w for w in "vegan vegetarian pescatarian keto paleo kosher halal".split()},
    "status": {w: w for w in "married engaged divorced single separated widowed dating".split()},
    "colour": {w: w for w in "red blue green yellow orange purple pink black white grey gray brown".split()},
    "medium": {"movie": "film", "movies": "film", "film": "film", "game": "game", "book": "book", "novel": "book",
               "show": "show", "series": "show", "song": "music", "music": "music", "album": "music",
               "podcast": "podcast", "comic": "comic", "anime": "anime", "cartoon": "cartoon"},
}
_CONTRAST_OF = {w: (cls, v) for cls, words in _CONTRAST.items() for w, v in words.items()}
# A contrast word's canonical form ("kids" -> "child", "puppy" -> "dog"), also for stemmed forms.
CANONICAL = {w: v for words in _CONTRAST.values() for w, v in words.items()}
_NEGATION = re.compile(r"\b(?:not|never|no|none|nor|without)\b|n't\b|\bno longer\b")
_PAST = re.compile(r"\b(?:used to|former(?:ly)?|ex|anymore|any more|no longer|stopped|quit|lost|left|broke up)\b")
_DISLIKE = re.compile(r"\b(?:hates?|dislikes?|detests?|can't stand|cannot stand|afraid|scared|fear)\b")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = frozenset("""a an the their they them theirs is are was were be been being has have had having does do did
doing to of in at on for with and or but by from as it its this that these those some any very really also
just now currently still own""".split())


def norm(text: str) -> str:
    """Lower case, one space, straight apostrophes, no trailing full stop: what exact duplicates share."""
    t = " ".join(text.replace("\u2019", "'").split()).lower()
    return t.rstrip(" .!;")


def _stem(w: str) -> str:
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        return w[:-1] if len(w) > 3 and w[-1] == w[-2] else w
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def terms(text: str) -> frozenset[str]:
    """Stemmed content words (what an ending and the fact it closes share)."""
    return frozenset(_stem(w) for w in _WORD.findall(norm(text)) if w not in _STOP and not w.isdigit()
                     and w not in _NUMBER_WORDS)


def numbers(text: str) -> tuple[float, ...]:
    out = []
    for m in _NUMBER_RE.finditer(text.lower()):
        tok = m.group(0)
        if tok[0].isdigit():
            out.append(float(tok))
        else:
            head, _, tail = tok.partition("-")
            out.append(float(_NUMBER_WORDS[head] + (_NUMBER_WORDS[tail] if tail else 0)))
    return tuple(sorted(out))


def names(text: str) -> frozenset[str]:
    """Capitalised words after the first (fact texts are predicates: "lives in Lisbon")."""
    tokens = re.findall(r"[A-Za-zÀ-ÿ][\w'-]*", text)
    return frozenset(t.lower() for t in tokens[1:] if t[0].isupper())


@dataclass(frozen=True)
class Entities:
    """What two wordings of one fact must agree on, whatever their embedding says."""

    numbers: tuple[float, ...]
    names: frozenset[str]
    markers: frozenset[str]  # negation, past, dislike
    contrast: frozenset[tuple[str, str]]  # (class, word): kin, species, body part, diet, status, colour


def entities(text: str) -> Entities:
    t = norm(text)
    markers = {name for name, rx in (("neg", _NEGATION), ("past", _PAST), ("dislike", _DISLIKE)) if rx.search(t)}
    contrast = {_CONTRAST_OF[w] for w in (_stem(x) if _stem(x) in _CONTRAST_OF else x for x in _WORD.findall(t))
                if w in _CONTRAST_OF}
    return Entities(numbers(t), names(text), frozenset(markers), frozenset(contrast))


# -- slots -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    key: str  # "home", "employer", "pet_count:dog", ...
    value: str  # normalised; compared for equality
    who: str = ""  # relationship: the partner's name when said

    def compatible(self, other: Slot) -> bool:
        """The same value, or the same relationship with the partner named on one side only; "has a
        partner" is compatible with any ongoing relationship (a husband is a partner)."""
        if self.key != other.key:
            return False
        same = self.value == other.value or (self.key == "relationship" and "partner" in (self.value, other.value)
                                            and {self.value, other.value} <= _ONGOING)
        return same and (self.who == other.who or not self.who or not other.who)

    @property
    def specificity(self) -> int:
        """Which of two compatible wordings to keep: the partner named, then a status over "partner"."""
        return 2 * len(self.who) + (self.value != "partner")


_REL_STATUS = {"married": "married", "engaged": "engaged", "wife": "married", "husband": "married",
               "girlfriend": "dating", "boyfriend": "dating", "partner": "partner", "fiance": "engaged",
               "fiancee": "engaged", "fiancé": "engaged", "fiancée": "engaged"}
_ONGOING = {"married", "engaged", "dating", "partner"}
_SPECIES_ALT = "|".join(sorted(_CONTRAST["species"], key=len, reverse=True))
_S = re.compile

# (categories, pattern, slot key); `v` is the value, `who` a partner, `n`/`sp` a count of a species.
_SLOT_RULES: list[tuple[frozenset[str], re.Pattern[str], str]] = [
    (frozenset({"location"}), _S(r"^(?:now )?(?:lives|is living|resides|is based|is residing|has moved|moved|"
                                 r"relocated|is moving) (?:now )?(?:in|to) (?P<v>.+)$"), "home"),
    (frozenset({"employer", "occupation"}), _S(r"^(?:now )?(?:works|is working|is employed|is now working) "
                                               r"(?:at|for) (?P<v>.+)$"), "employer"),
    (frozenset({"employer", "occupation"}), _S(r"^(?:got a (?:new )?job|started (?:a new job|working)|"
                                               r"has a (?:new )?job) (?:at|with) (?P<v>.+)$"), "employer"),
    (frozenset({"occupation"}), _S(r"^(?:now )?(?:works|is working) as (?:an? )?(?P<v>.+)$"), "job_title"),
    (frozenset({"occupation"}), _S(r"^is (?P<v>unemployed|retired|self-employed)$"), "job_title"),
    (frozenset({"occupation"}), _S(r"^is (?:now )?(?:an? )(?P<v>.+)$"), "job_title"),
    # A job said by what the user does for a living ("teaches chemistry"): the same slot, so a new job
    # supersedes it and losing the job closes it.
    (frozenset({"occupation"}), _S(r"^(?:now )?(?P<v>(?:teaches|coaches|tutors|nurses|manages|drives|"
                                   r"designs|edits|repairs|fixes|cleans|cooks|bakes|sells) .+)$"), "job_title"),
    (frozenset({"family", "other"}), _S(r"^(?:is|got) (?P<v>married|engaged)(?: to (?P<who>.+))?$"), "relationship"),
    (frozenset({"family", "other"}), _S(r"^is (?:now )?(?P<v>divorced|single|separated|widowed)$"), "relationship"),
    (frozenset({"family"}), _S(r"^(?:has|is dating) (?:a |an )?(?:new )?(?P<v>girlfriend|boyfriend|wife|husband|"
                               r"partner|fianc[eé]e?)(?: (?:named|called) (?P<who>.+))?$"), "relationship"),
    (frozenset({"family"}), _S(r"^is (?:now )?(?P<v>dating) (?P<who>.+)$"), "relationship"),
    (frozenset({"pet"}), _S(rf"^(?:has|owns) {_COUNT} (?P<sp>{_SPECIES_ALT})(?:s|es)?$"), "pet_count"),
    (frozenset({"other"}), _S(r"^is (?P<v>\d+|[a-z]+(?:-[a-z]+)?) years? old$"), "age"),
    (frozenset({"other"}), _S(r"^name is (?P<v>.+)$"), "name"),
    (frozenset({"preference"}), _S(r"^favou?rite (?P<kind>[a-z ]{2,30}?) is (?P<v>.+)$"), "favourite"),
]


def slot_of(category: str, text: str) -> Slot | None:
    """The single-valued slot this fact fills, or None (a multi-valued fact)."""
    t = norm(text)
    for cats, rx, key in _SLOT_RULES:
        if category not in cats:
            continue
        m = rx.match(t)
        if not m:
            continue
        g = m.groupdict()
        if key == "pet_count":
            n = g["n"]
            count = 1 if n in ("a", "an") else int(numbers(n)[0]) if numbers(n) else 1
            species = _CONTRAST["species"].get(g["sp"], g["sp"])
            return Slot(f"pet_count:{species}", str(count))
        if key == "favourite":
            return Slot(f"favourite:{g['kind'].strip().replace('color', 'colour')}", g["v"])
        if key == "age":
            nums = numbers(g["v"])
            if not nums:
                continue
            return Slot(key, str(int(nums[0])))
        if key == "relationship":
            return Slot(key, _REL_STATUS.get(g["v"], g["v"]), (g.get("who") or "").strip())
        value = re.sub(r"^(?:the|a|an) ", "", g["v"].strip())
        return Slot(key, value)
    return None


# -- endings -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ending:
    """What an ending fact closes: slots (any value, or only `values[slot]` when given) and, for
    multi-valued facts, those whose content words include all of `match_terms`. For the
    relationship slot the value to match is the partner's name."""

    slots: frozenset[str] = frozenset()
    values: tuple[tuple[str, str], ...] = ()  # (slot, value it must have)
    match_terms: frozenset[str] = frozenset()

    def value_for(self, slot: str) -> str | None:
        return dict(self.values).get(slot)


def _clean_value(v: str | None) -> str:
    return re.sub(r"^(?:the|a|an) ", "", (v or "").strip())


_JOB_END = _S(r"^(?:lost|quit|left|resigned from) their (?:old )?job(?: as (?:an? )?(?P<as>.+?))?(?: (?:at|with) (?P<at>.+))?$")
_FIRED = _S(r"^(?:was|got|has been) (?:laid off|fired|let go|made redundant)(?: (?:from|at|by) (?P<at>.+))?$")
_BREAKUP = _S(r"^(?:broke up|split up|separated|is separated)(?: (?:with|from) (?P<who>.+))?$")
_NO_LONGER = _S(r"^(?:is )?no longer (?P<pred>.+)$")
_NOT_ANYMORE = _S(r"^(?:doesn't|does not|don't|do not|isn't|is not) (?P<pred>.+?) (?:anymore|any more|any longer)$")
_USED_TO = _S(r"^used to (?P<pred>.+)$")
_MOVED_OUT = _S(r"^moved (?:out of|away from|from) (?P<v>.+?)(?: to .+)?$")
_STOPPED = _S(r"^stopped (?P<pred>.+)$")


def _present(pred: str) -> str:
    """'have a cat' / 'work at X' / 'live in X' / 'be a nurse' -> the fact form ('has a cat', ...)."""
    first, _, rest = pred.partition(" ")
    verb = {"have": "has", "be": "is", "do": "does", "go": "goes"}.get(first)
    if verb is None:
        verb = first if first.endswith("s") or first in ("is", "has") else first + "s"
    return f"{verb} {rest}".strip()


def ending_of(category: str, text: str) -> Ending | None:
    """What this fact ends, if it is an ending (see the module docstring for the forms)."""
    t = norm(text)
    m = _JOB_END.match(t) or _FIRED.match(t)
    if m:
        at, role = _clean_value(m.groupdict().get("at")), _clean_value(m.groupdict().get("as"))
        values = tuple((s, v) for s, v in (("employer", at), ("job_title", role)) if v)
        return Ending(frozenset({"employer", "job_title"}), values)
    if t in ("is unemployed", "is retired"):
        return Ending(frozenset({"employer"}))
    m = _BREAKUP.match(t)
    if m:
        who = _clean_value(m.group("who"))
        if who.startswith("their "):  # "broke up with their girlfriend": whoever that is, not a name
            who = ""
        return Ending(frozenset({"relationship"}), (("relationship", who),) if who else ())
    m = _MOVED_OUT.match(t)
    if m:
        return Ending(frozenset({"home"}), (("home", _clean_value(m.group("v"))),))
    m = _NO_LONGER.match(t) or _NOT_ANYMORE.match(t) or _USED_TO.match(t) or _STOPPED.match(t)
    if not m:
        return None
    pred = m.group("pred")
    if m.re is _STOPPED:
        present = pred  # "stopped playing tennis": the gerund's stem is the verb's
    elif re.match(r"(?:is|has|lives|works|does|goes)\b", pred):
        present = pred  # "no longer has a cat"
    elif m.re is _NO_LONGER and not re.match(r"[a-z]+s\b", pred):
        present = f"is {pred}"  # "no longer vegetarian", "is no longer married"
    elif m.re is _NOT_ANYMORE and t.startswith(("isn't", "is not")):
        present = f"is {pred}"
    else:
        present = _present(pred)  # "used to live in X", "doesn't have a cat anymore"
    for cat in dict.fromkeys((category, "location", "employer", "occupation", "family", "pet", "other")):
        slot = slot_of(cat, present)
        if slot is None:
            continue
        if slot.key.startswith("pet_count:"):
            return Ending(frozenset({slot.key}), (), frozenset({slot.key.split(":", 1)[1]}))
        if slot.key == "relationship":
            return Ending(frozenset({"relationship"}), (("relationship", slot.who),) if slot.who else ())
        return Ending(frozenset({slot.key}), ((slot.key, slot.value),))
    words = terms(present)
    # "no longer plays" names nothing it ends: a verb alone would close every fact that uses it
    return Ending(match_terms=words) if words - _GENERIC_VERBS else None
