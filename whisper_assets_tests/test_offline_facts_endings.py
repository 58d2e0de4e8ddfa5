"""The offline extractor states endings in the forms consolidation closes facts with: a multi-week
conversation of our own goes from sentences to facts (offline_facts) to validity periods
(core/enrichment/consolidation.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.enrichment.consolidation import ObservedFact, consolidate, needs_vectors
from whisper_assets.core.enrichment.fact_slots import ending_of
from whisper_assets.core.llm.offline_facts import Turn, extract_facts

START = datetime(2026, 2, 2, 18, tzinfo=timezone.utc)


def facts_of(text: str) -> set[tuple[str, str]]:
    return {(f.category.value, f.fact) for f in extract_facts([Turn(str(uuid.uuid4()), "u1", text)])}


@pytest.mark.parametrize("text, expected", [
    ("Honestly I don't have a hamster anymore.", ("pet", "no longer has a hamster")),
    ("Sad news, our old rabbit died on Sunday.", ("pet", "no longer has a rabbit")),
    ("Tomas and I split up in the spring.", ("family", "broke up")),
    ("My boyfriend and I broke up after five years.", ("family", "broke up with their boyfriend")),
    ("We broke up last weekend.", ("family", "broke up")),
    ("I got divorced from my husband.", ("family", "broke up with their husband")),
    ("I no longer live in Galway.", ("location", "no longer lives in Galway")),
    ("We moved away from Dundee when the lease ran out.", ("location", "moved out of Dundee")),
    ("I left my job at the print shop.", ("employer", "left their job at the print shop")),
    ("I stopped climbing after my knee surgery.", ("hobby", "stopped climbing")),
    ("I'm no longer vegan.", ("other", "is no longer vegan")),
])
def test_endings_are_stated_in_the_consolidation_forms(text, expected):
    found = facts_of(text)
    assert expected in found, found
    assert ending_of(*expected) is not None


@pytest.mark.parametrize("text", [
    "I don't have a hamster.",  # never had one: no ending
    "I stopped by the bakery on the way home.",
    "I don't live in Galway.",
])
def test_plain_negations_are_not_endings(text):
    assert not any(f.startswith(("no longer", "stopped", "moved out")) for _, f in facts_of(text))


def test_a_pet_that_died_is_an_ending_never_a_pet_the_user_has():
    assert facts_of("my dog passed away last year") == {("pet", "no longer has a dog")}


def test_the_sentence_of_a_break_up_states_no_current_partner():
    assert ("family", "has a girlfriend") not in facts_of("My girlfriend and I broke up yesterday.")


def test_a_conversation_over_weeks_ends_up_with_what_holds_now():
    said = [
        (0, "I live in Galway and I have a hamster named Biscuit."),
        (0, "My girlfriend Ines is visiting this weekend."),
        (1, "I work at the print shop on the quay."),
        (3, "Honestly I don't have a hamster anymore."),
        (4, "My girlfriend and I broke up."),
        (5, "I left my job at the print shop."),
        (6, "I no longer live in Galway."),
    ]
    observations = []
    for week, text in said:
        at = START + timedelta(weeks=week)
        for f in extract_facts([Turn(str(uuid.uuid4()), "u1", text)]):
            observations.append(ObservedFact(f.category.value, f.fact, f.confidence, f.source_message_ids, at,
                                             at.date(), "offline", "v"))
    texts = needs_vectors(observations)
    vectors = dict(zip(texts, get_embedder().encode(texts))) if texts else {}
    rows = {f.fact: f for f in consolidate(observations, vectors)}
    current = {fact for fact, f in rows.items() if f.status == "current"}
    for ended in ("lives in Galway", "has a hamster named Biscuit", "has a girlfriend named Ines",
                  "works at the print shop"):
        assert ended in rows, sorted(rows)
        assert rows[ended].status != "current" and rows[ended].valid_to is not None, (ended, rows[ended].periods)
    assert not current & {"lives in Galway", "has a hamster named Biscuit", "has a girlfriend named Ines"}
