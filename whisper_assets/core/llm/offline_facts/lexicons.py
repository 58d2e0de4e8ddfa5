"""Word lists, tables and compiled word-list patterns the rules test objects against.

The word lists are data files in `data/` (one entry a line, `#` comments; `relatives.json` for the
relation table), shipped in the wheel with the package and read once at import. Entries are
written from general knowledge of English, never taken from evaluation conversations;
test_offline_facts_lexicons.py fails on a duplicate entry. Regex-shaped vocabularies (adjective
slots, conditions, hedges) stay here next to the patterns that use them.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from whisper_assets.core.llm.schemas import Category

_DATA = resources.files("whisper_assets.core.llm.offline_facts") / "data"


def entries(name: str) -> list[str]:
    """The entries of `data/<name>.txt` in file order (blank lines and `#` comments skipped)."""
    text = (_DATA / f"{name}.txt").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            out.append(entry)
    return out


def words(name: str) -> frozenset[str]:
    """`data/<name>.txt` as a set of lower-case entries."""
    return frozenset(e.lower() for e in entries(name))


def table(name: str) -> Any:
    """`data/<name>.json`, parsed."""
    return json.loads((_DATA / f"{name}.json").read_text(encoding="utf-8"))


def alternation(items: list[str]) -> str:
    """A regex alternation of literal `items`, longest first (so "guinea pigs" wins over "pigs")."""
    return "|".join(re.escape(i) for i in sorted(set(items), key=len, reverse=True))

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a couple of|a few|several"
)

_JOB_HEADS = words("job_heads")
# Two-word job titles whose head alone is ambiguous or missing from the lexicon.
_JOB_COMPOUNDS = words("job_compounds")
# "I'm a writer/painter/dancer ..." is as often a hobby as a job: only accepted after "work as".
_AMBIGUOUS_JOB_HEADS = words("ambiguous_job_heads")
_STATUS_HEADS = {  # "I'm a student" -> education, not "works as a student"
    "student": Category.EDUCATION,
    "undergrad": Category.EDUCATION,
    "undergraduate": Category.EDUCATION,
    "postgrad": Category.EDUCATION,
    "grad": Category.EDUCATION,
    "major": Category.EDUCATION,
    "freshman": Category.EDUCATION,
    "sophomore": Category.EDUCATION,
    "intern": Category.OCCUPATION,
    "apprentice": Category.OCCUPATION,
    "freelancer": Category.OCCUPATION,
    "retiree": Category.OCCUPATION,
    "homemaker": Category.OCCUPATION,
}
_HOBBY_PERSON_HEADS = words("hobby_person_heads")
_BAD_JOB_ADJ = words("bad_job_adjectives")
_ORG_NOUNS = words("org_nouns")
_BUSINESS_NOUNS = words("business_nouns")

_SPECIES = alternation(entries("species"))
_PET_NOT_FOLLOWED = words("pet_not_followed")
_HOUSEHOLD_PETS = re.compile(r"^(?:" + alternation(entries("household_pets")) + r")$")

_RELATIVES = table("relatives")
# relation -> the pronoun that refers back to it (None when either fits)
_REL_SINGULAR: dict[str, str | None] = dict(_RELATIVES["singular"])
_REL_PLURAL = frozenset(_RELATIVES["plural"])
# Everyone has parents: "has a mom" is not worth storing unless something else is said.
_REL_TRIVIAL = words("trivial_relatives")
_REL_ALT = "|".join(
    sorted((re.escape(r) for r in list(_REL_SINGULAR) + list(_REL_PLURAL)), key=len, reverse=True)
).replace("\\-in\\-law", "[- ]in[- ]law")
_REL_ADJ = (
    r"(?:(?:late|older|younger|little|big|baby|twin|eldest|oldest|youngest|middle|two|three|four|"
    r"lovely|amazing|wonderful|beautiful|new|own|dear|sweet|awesome|adult|teenage|teenaged|"
    r"\d+[- ]year[- ]old)\s+)*"
)
_REL_KEEP_ADJ = frozenset("late older younger little big twin eldest oldest youngest middle".split())

_DIETS = (
    r"vegetarian|vegan|pescatarian|pescetarian|flexitarian|teetotal|teetotaler|gluten[- ]free|"
    r"dairy[- ]free|keto|kosher|halal|sober|plant[- ]based"
)
_CONDITIONS = (
    r"asthma|diabetes|type (?:1|2|one|two) diabetes|adhd|add|autism|ocd|ptsd|anxiety|depression|"
    r"arthritis|migraines|celiac disease|coeliac disease|crohn'?s(?: disease)?|ibs|epilepsy|"
    r"lupus|eczema|psoriasis|insomnia|sleep apnea|sleep apnoea|high blood pressure|hypertension|"
    r"a bad back|a bad knee|long covid|cancer|pcos|endometriosis|tinnitus|scoliosis|"
    r"a heart condition|fibromyalgia|chronic fatigue|chronic pain|hay fever|hayfever|"
    r"an? (?:\w+ )?allergy|allergies|dyslexia|a concussion|a broken \w+|a sprained \w+|"
    r"a torn \w+|tendinitis|tendonitis|plantar fasciitis|shin splints|a cold|the flu|covid"
)
_HEALTH_ADJ = (
    r"diabetic|celiac|coeliac|asthmatic|epileptic|anemic|anaemic|deaf|hard of hearing|blind|"
    r"colou?rblind|colou?r[- ]blind|dyslexic|autistic|immunocompromised|pregnant|"
    r"(?:lactose|gluten|fructose|histamine) intolerant"
)
_LANGUAGES = words("languages")

_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_NOT_NAMES = words("not_names") | frozenset((_MONTHS + " " + _DAYS).split())

# A compact gazetteer (countries, US states, well-known cities). Only used where a capitalised
# object could also be a person ("I visited Porto" vs "I visited Sarah").
_GAZETTEER = words("places")

# An object that names a school: "going to Yale" is education, not a trip or a plan.
_SCHOOL_RE = re.compile(r"\b(?:university|college|school|institute|academy|polytechnic|uni)\b|^(?:MIT|UCLA|NYU|USC|Harvard|Yale|Stanford|Princeton|Oxford|Cambridge|Berkeley)$", re.I)

# Words that make "went to X" or "going to X" a trip.
_TRAVEL_WORDS_RE = re.compile(
    r"\b(?:trip|travel\w*|flight|flew|fly|flying|vacation|holiday|honeymoon|abroad|tour|touring|"
    r"backpacking|sightseeing|visa|passport|jet ?lag)\b",
    re.I,
)

# Verbs after "I want to" or "I love to" that state no goal or hobby ("I want to thank you").
_WANT_SKIP = words("want_skip_verbs")

# Adjectives allowed between "my" and a pet's species ("my old rescue dog").
_PET_ADJ = r"(?:(?:own|old|new|little|sweet|senior|baby|rescue|pet|beloved|lovely|crazy|silly|fat|lazy|big|tiny|adorable|grumpy|\d+[- ]year[- ]old|two|three|four)\s+)*"
# Words that say a pet or relative has died.
_DEAD_RE = re.compile(r"\b(?:died|passed|put down|put to sleep|lost (?:my|our)|rip|rest in peace|miss (?:my|our)|late)\b", re.I)
# A child spoken of before it is born: expected, not had.
_UNBORN_RE = re.compile(r"\b(?:to be born|being born|is born|is due|due (?:date|in|on|any)|on the way|expecting|pregnant)\b", re.I)

# Words in -ing that are not gerunds, or too common to name an activity.
_GERUND_NOT = words("gerund_not")

# Gerunds that name a hobby.
_HOBBY_GERUNDS = words("hobby_gerunds")
