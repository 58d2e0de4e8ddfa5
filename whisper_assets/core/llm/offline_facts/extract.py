"""The entry point: runs the rules over each sentence of each user turn, applies the guards and
hedges, and merges the facts of a batch (one per user and text, redundant ones dropped)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from whisper_assets.core.llm.backend import Fact
from whisper_assets.core.llm.offline_facts import inflection
from whisper_assets.core.llm.offline_facts import (
    commitments, education, endings, events, family, health, hobbies, pastimes, personal, pets, places, plans,
    preferences, work,
)
from whisper_assets.core.llm.guard import injection_reason
from whisper_assets.core.llm.offline_facts.checks import garbled_reason, without_vague_quantity
from whisper_assets.core.llm.offline_facts.guards import (
    _CLAUSE_SPLIT_RE, _GUARD_WINDOW, _NEGATION_RE, _guard, _hedge_cap,
)
from whisper_assets.core.llm.offline_facts.names import name_for
from whisper_assets.core.llm.offline_facts.objects import _cut
from whisper_assets.core.llm.offline_facts.registry import _Ctx, _Rule, Emit
from whisper_assets.core.llm.offline_facts.text import (
    _TOKEN_RE, _TRANSLATE, _norm_space, _restore, _sentences,
)
from whisper_assets.core.llm.schemas import Category, MAX_FACT_CHARS


@dataclass(frozen=True)
class Turn:
    """One user turn: the message id, who said it and what they said."""

    message_id: str
    user_id: str
    content: str


_MAX_MATCHES_PER_RULE = 12

# Every rule, in the order a sentence's candidate rules are tried.
_RULES: list[_Rule] = [
    *work.RULES, *education.RULES, *places.RULES, *plans.RULES, *pets.RULES, *family.RULES,
    *hobbies.RULES, *preferences.RULES, *health.RULES, *personal.RULES, *events.RULES, *pastimes.RULES,
    *commitments.RULES, *endings.RULES,
]
_ENDING_RULES = frozenset(r.name for r in endings.RULES)
_RULE_INDEX: dict[str, tuple[int, ...]] = {}
for _no, _r in enumerate(_RULES):
    for _w in _r.words:
        _RULE_INDEX[_w] = (*_RULE_INDEX.get(_w, ()), _no)
del _no, _r, _w

_NEGATION_IN_LEAD_OK = frozenset({"dont_like", "fan_of", "person_type", "love_like"})
_GATE_RE = re.compile(
    r"\b(?:i|i'm|im|i've|ive|i'd|i'll|my|we|we're|we've|our|me|born|grew|went|goal|used|just|je|j'habite|also|landed|back|been|lost)\b",
    re.I,
)


def _facts_in_message(text: str) -> list[Emit]:
    if not text or not isinstance(text, str):
        return []
    text = text.translate(_TRANSLATE)
    # Instructions to the system are no statements about the user: the one detector (llm/guard.py).
    if not _GATE_RE.search(text) or injection_reason(text, paraphrases=False):
        return []
    found: dict[tuple[Category, str], float] = {}
    sentences = _sentences(text)
    message_lower = " ".join(sentences).lower()
    for s_no, sentence in enumerate(sentences):
        if not _GATE_RE.search(sentence):
            continue
        tokens = _TOKEN_RE.findall(sentence.lower())
        candidates: set[int] = set()
        for tok in tokens:
            hit = _RULE_INDEX.get(tok)
            if hit:
                candidates.update(hit)
        in_sentence: dict[tuple[Category, str], float] = {}
        ended: set[Category] = set()
        for rule_no in sorted(candidates):
            rule = _RULES[rule_no]
            for m_no, m in enumerate(rule.regex.finditer(sentence)):
                if m_no >= _MAX_MATCHES_PER_RULE:
                    break
                prefix = sentence[: m.start()]
                guard_cap = _guard(prefix) if rule.check_context else 1.0
                if guard_cap is None:
                    continue
                if _NEGATION_RE.search(m.group(0)) and rule.name not in _NEGATION_IN_LEAD_OK | _ENDING_RULES:
                    continue
                rest = sentence[m.end() : m.end() + 240]
                ctx = _Ctx(sentence=sentence, message=message_lower)
                try:
                    emitted = list(rule.handler(m, rest, ctx))
                except (ValueError, IndexError, KeyError):  # defensive: a rule bug must not kill a run
                    emitted = []
                if not emitted:
                    continue
                scope = _CLAUSE_SPLIT_RE.split(prefix[-_GUARD_WINDOW:])[-1] + m.group(0) + _cut(rest)
                cap = min(guard_cap, _hedge_cap(scope))
                for category, fact, conf in emitted:
                    if category in (Category.PET, Category.FAMILY):
                        nxt = sentences[s_no + 1] if s_no + 1 < len(sentences) else None
                        fact = name_for(fact, rest, nxt) or fact
                    fact = without_vague_quantity(_restore(_norm_space(fact)).strip(" ,.;:!?"))
                    if len(fact) < 3 or len(fact) > MAX_FACT_CHARS or garbled_reason(fact):
                        continue
                    conf = round(min(conf, cap), 2)
                    key = (category, fact)
                    if conf > in_sentence.get(key, -1.0):
                        in_sentence[key] = conf
                    if rule.name in _ENDING_RULES:
                        ended.add(category)
        for (category, fact), conf in in_sentence.items():
            # The sentence that ends something states nothing current of that kind ("My girlfriend
            # and I broke up": no "has a girlfriend").
            if category in ended and not _is_ending(fact):
                continue
            if conf > found.get((category, fact), -1.0):
                found[(category, fact)] = conf
    return [(c, f, conf) for (c, f), conf in found.items()]


_ENDING_FACT_RE = re.compile(r"^(?:no longer|is no longer|broke up|moved out of|stopped|lost their|quit their|left their)\b")


def _is_ending(fact: str) -> bool:
    return bool(_ENDING_FACT_RE.match(fact))


_SPECIFIC_RE = re.compile(r"^(has (?:a|an|\w+) [\w\s-]+?) (?:named|who) .+$")
_LIST_FACT_RE = re.compile(r"^has (?!.*\b(?:named|who)\b)((?:a|an|\w+) [\w\s,-]+ and (?:a|an|\w+) [\w\s-]+)$")
_LIST_SPLIT_RE = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_WANT_PLAN_RE = re.compile(r"^wants to (\w+) (.+)$")
_COMMITTED_PLAN_RE = re.compile(r"^(?:is (\w+ing)|plans to (\w+)) (.+)$")


def _plan_forms(verb: str) -> set[str]:
    """The forms a committed plan can use for `verb`: "plans to open" or "is opening"."""
    v = verb.lower()
    forms = {v, v + "ing", v + v[-1:] + "ing"}
    if v.endswith("e") and not v.endswith(("ee", "ye", "oe")):
        forms.add(v[:-1] + "ing")
    return forms


_THEIR_RE = re.compile(r"\btheir (?:own |little |older |younger )?([a-z-]+)\b")
_BARE_HAS_RE = re.compile(r"^has (?:a |an |two |three |four )?(?:little |older |younger )?([a-z-]+)$")
_SUBSUME_STOP = frozenset("a an the to of their and named called who is are with for in at on".split())


def _content(fact: str) -> tuple[str, frozenset[str]]:
    words = fact.lower().replace(",", " ").split()
    return words[0], frozenset(inflection.singular(w) for w in words[1:] if w not in _SUBSUME_STOP)


def _subsumed(keys: list[tuple[str, Category, str]]) -> set[tuple[str, Category, str]]:
    """Facts another fact of the same user and category says more precisely: same leading verb and
    a strict superset of its content words ("has dogs" beside "has three dogs", "likes to paint"
    beside "likes to paint landscapes")."""
    groups: dict[tuple[str, Category], list[tuple[tuple[str, Category, str], str, frozenset[str]]]] = {}
    for key in keys:
        verb, words = _content(key[2])
        groups.setdefault((key[0], key[1]), []).append((key, verb, words))
    out: set[tuple[str, Category, str]] = set()
    # "has kids" beside "took their kids to the zoo": the relative or pet is already in a fact.
    mentioned: dict[str, set[str]] = {}
    for user, _, fact in keys:
        for noun in _THEIR_RE.findall(fact):
            mentioned.setdefault(user, set()).add(inflection.singular(noun))
    for key in keys:
        m = _BARE_HAS_RE.match(key[2])
        if m and key[1] in (Category.PET, Category.FAMILY) and inflection.singular(m.group(1)) in mentioned.get(key[0], ()):
            out.add(key)
    # One statement, one fact: "opened an online shop" and "runs an online shop" from one user
    # keep the first (in rule order) of the facts with the same object after the verb.
    by_object: dict[tuple[str, str], tuple[str, Category, str]] = {}
    for key in keys:
        verb, _, obj = key[2].partition(" ")
        if len(obj.split()) >= 3 and verb.endswith(("s", "ed")) and not obj.startswith("to "):
            first = by_object.setdefault((key[0], obj.lower()), key)
            if first is not key:
                out.add(key)
    for items in groups.values():
        if len(items) < 2:
            continue
        for key, verb, words in items:
            if words and any(v == verb and words < w for k, v, w in items if k is not key):
                out.add(key)
    return out


def extract_facts(turns: Sequence[Turn]) -> list[Fact]:
    """Facts stated in first person by the users in `turns` (user turns only; the caller never passes bot turns)."""
    merged: dict[tuple[str, Category, str], list] = {}
    for position, turn in enumerate(turns):
        try:
            emitted = _facts_in_message(turn.content)
        except RecursionError:  # pragma: no cover - defensive
            emitted = []
        for category, fact, conf in emitted:
            key = (turn.user_id, category, fact)
            entry = merged.get(key)
            if entry is None:
                merged[key] = [position, conf, {turn.message_id}]
            else:
                entry[1] = max(entry[1], conf)
                entry[2].add(turn.message_id)

    # "has a dog" adds nothing when the same user's "has a dog named Biscuit" is in the batch
    # (likewise "has a sister" next to "has a sister who lives in Lyon").
    specific = {
        (user, cat, m.group(1))
        for (user, cat, fact) in merged
        if cat in (Category.PET, Category.FAMILY) and (m := _SPECIFIC_RE.match(fact))
    }
    # "has a cat" adds nothing next to "has a dog and a cat" either.
    specific.update(
        (user, cat, f"has {item}")
        for (user, cat, fact) in merged
        if cat in (Category.PET, Category.FAMILY) and (m := _LIST_FACT_RE.match(fact))
        for item in _LIST_SPLIT_RE.split(m.group(1))
    )
    # "wants to open a bakery" adds nothing next to "is opening a bakery" or "plans to open a bakery".
    committed = {
        (user, (m.group(1) or m.group(2)).lower(), m.group(3))
        for (user, cat, fact) in merged
        if cat is Category.PLAN and (m := _COMMITTED_PLAN_RE.match(fact))
    }
    specific.update(
        (user, cat, fact)
        for (user, cat, fact) in merged
        if cat is Category.PLAN
        and (m := _WANT_PLAN_RE.match(fact))
        and any((user, form, m.group(2)) in committed for form in _plan_forms(m.group(1)))
    )
    specific.update(_subsumed(list(merged)))
    facts: list[tuple[int, str, str, Fact]] = []
    for (user, category, fact), (position, conf, ids) in merged.items():
        if (user, category, fact) in specific:
            continue
        facts.append(
            (
                position,
                category.value,
                fact,
                Fact(
                    user_id=user,
                    category=category,
                    fact=fact,
                    confidence=conf,
                    source_message_ids=tuple(sorted(ids)),
                ),
            )
        )
    facts.sort(key=lambda item: (item[0], item[1], item[2], item[3].user_id))
    return [item[3] for item in facts]
