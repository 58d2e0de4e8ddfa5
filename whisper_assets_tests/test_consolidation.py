"""Fact consolidation as plain functions (core/enrichment/consolidation.py): near-duplicates,
slots with history, endings, order independence, users kept apart. Multi-week conversations of our
own, as the observations an extractor makes of them; vectors from the real MiniLM embedder."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.enrichment.consolidation import (
    MERGE_THRESHOLD, ObservedFact, consolidate, consolidate_users, needs_vectors,
)
from whisper_assets.core.enrichment.fact_slots import ending_of, slot_of

UTC = timezone.utc
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
PAIRS = Path(__file__).parent / "data" / "consolidation_pairs.jsonl"


def obs(week: int, category: str, fact: str, confidence: float = 0.9, msg: str | None = None,
        day_offset: int = 0) -> ObservedFact:
    t = START + timedelta(weeks=week, days=day_offset)
    return ObservedFact(category, fact, confidence, (msg or f"m-{week}-{day_offset}-{fact}",), t, t.date(),
                        "model-a", "v1")


def run(observations: list[ObservedFact]):
    texts = needs_vectors(observations)
    vectors = dict(zip(texts, get_embedder().encode(texts))) if texts else {}
    return {f.fact: f for f in consolidate(observations, vectors)}


def test_the_threshold_on_hand_labelled_pairs_merges_no_different_facts():
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    merged = {True: 0, False: 0}
    for p in pairs:
        rows = run([obs(0, p["category"], p["a"]), obs(1, p["category"], p["b"], 0.8)])
        merged[p["same"]] += len(rows) == 1
    same = sum(p["same"] for p in pairs)
    assert merged[False] == 0, "two different facts merged"
    # 4 paraphrases stay apart at 0.80 (a peanut allergy / allergic to peanuts, ...): a duplicate
    # row is a smaller harm than a wrong merge.
    assert merged[True] >= same - 4, (merged, same)
    assert MERGE_THRESHOLD == 0.80


def test_paraphrases_become_one_fact_with_the_best_confidence_all_sources_and_mentions():
    rows = run([obs(0, "hobby", "enjoys hiking", 0.7, "m1"), obs(2, "hobby", "likes hiking", 0.95, "m2"),
                obs(3, "hobby", "loves going hiking", 0.8, "m3"), obs(3, "hobby", "enjoys hiking", 0.7, "m3")])
    assert list(rows) == ["likes hiking"]
    f = rows["likes hiking"]
    assert f.confidence == 0.95 and f.mention_count == 3 and f.source_message_ids == ("m1", "m2", "m3")
    assert set(f.variants) == {"enjoys hiking", "likes hiking", "loves going hiking"} and f.variants[0] == f.fact
    assert f.first_seen == START and f.status == "current" and len(f.merged_days) == 3


def test_a_move_supersedes_the_old_home_and_moving_back_opens_a_new_period():
    rows = run([obs(0, "location", "lives in Lisbon"), obs(1, "location", "is living in Lisbon"),
                obs(4, "location", "moved to Porto"), obs(5, "location", "lives in Porto"),
                obs(9, "location", "lives in Lisbon"), obs(2, "location", "grew up in Braga")])
    lisbon, porto = rows["lives in Lisbon"], rows["moved to Porto"]
    assert "lives in Porto" not in rows  # the same value of the same slot: one fact
    assert [(p.start, p.end, p.ended_by) for p in lisbon.periods] == [
        (START, START + timedelta(weeks=4), "superseded"), (START + timedelta(weeks=9), None, None)]
    assert porto.status == "superseded" and porto.valid_to == START + timedelta(weeks=9)
    assert rows["grew up in Braga"].status == "current" and rows["grew up in Braga"].slot is None


def test_job_changes_and_a_lost_job():
    rows = run([obs(0, "employer", "works at Halvorsen Logistics"), obs(0, "occupation", "works as a dispatcher"),
                obs(3, "employer", "works for Brightmoor Bakery"), obs(3, "occupation", "is a baker"),
                obs(6, "other", "lost their job"), obs(8, "occupation", "is a barista")])
    assert rows["works at Halvorsen Logistics"].status == "superseded"
    assert rows["works as a dispatcher"].status == "superseded"
    bakery, baker = rows["works for Brightmoor Bakery"], rows["is a baker"]
    assert bakery.status == baker.status == "closed" and bakery.valid_to == START + timedelta(weeks=6)
    assert rows["is a barista"].status == "current"
    # the ending held until the next job
    assert rows["lost their job"].status == "superseded" and rows["lost their job"].valid_to == START + timedelta(weeks=8)


def test_an_ending_names_what_it_ends():
    rows = run([obs(0, "employer", "works at Halvorsen Logistics"), obs(1, "occupation", "is a dispatcher"),
                obs(2, "employer", "lost their job at Brightmoor Bakery")])
    assert rows["works at Halvorsen Logistics"].status == "current"  # another employer's job was lost
    assert rows["is a dispatcher"].status == "closed"


def test_a_relationship_moves_on_and_a_break_up_closes_it():
    rows = run([obs(0, "family", "has a girlfriend named Ana"), obs(3, "family", "is engaged to Ana"),
                obs(4, "family", "got engaged"), obs(7, "family", "is married to Ana"), obs(8, "family", "is married"),
                obs(9, "family", "has a sister named Ines")])
    assert rows["has a girlfriend named Ana"].status == "superseded"
    assert rows["is engaged to Ana"].status == "superseded" and "got engaged" not in rows
    assert rows["is married to Ana"].status == "current" and "is married" not in rows
    assert rows["has a sister named Ines"].status == "current"
    later = run([obs(0, "family", "has a boyfriend named Rui"), obs(2, "family", "broke up with Rui")])
    assert later["has a boyfriend named Rui"].status == "closed"


def test_negations_close_the_matching_facts_only():
    rows = run([obs(0, "pet", "has a cat named Miso"), obs(0, "pet", "has a cat"), obs(1, "pet", "has a dog named Rex"),
                obs(2, "preference", "likes spicy food"), obs(3, "preference", "doesn't like spicy food"),
                obs(4, "pet", "doesn't have a cat anymore"), obs(5, "hobby", "plays tennis"),
                obs(6, "hobby", "stopped playing tennis"), obs(7, "preference", "is vegetarian"),
                obs(8, "preference", "is no longer vegetarian")])
    assert rows["has a cat named Miso"].status == rows["has a cat"].status == "closed"
    assert rows["has a dog named Rex"].status == "current"
    assert rows["likes spicy food"].status == rows["doesn't like spicy food"].status == "current"  # not merged
    assert rows["plays tennis"].status == "closed" and rows["is vegetarian"].status == "closed"
    again = run([obs(0, "pet", "has a cat"), obs(1, "pet", "no longer has a cat"), obs(3, "pet", "has a cat")])
    assert [p.ended_by for p in again["has a cat"].periods] == ["closed", None]


def test_pet_counts_are_one_slot_per_kind():
    rows = run([obs(0, "pet", "has a dog"), obs(1, "pet", "has a puppy"), obs(2, "pet", "has two dogs"),
                obs(4, "pet", "has 3 dogs"), obs(5, "pet", "has three dogs"), obs(5, "pet", "has two cats")])
    assert rows["has a dog"].status == rows["has two dogs"].status == "superseded"
    assert "has a puppy" not in rows and "has three dogs" not in rows  # same count, one fact
    assert rows["has 3 dogs"].status == "current" and rows["has two cats"].status == "current"


def test_the_result_does_not_depend_on_the_order_of_the_observations():
    observations = [obs(w, c, f, conf) for w, c, f, conf in [
        (0, "location", "lives in Lisbon", 0.9), (3, "location", "lives in Porto", 0.8),
        (0, "hobby", "enjoys hiking", 0.7), (2, "hobby", "likes hiking", 0.9), (5, "pet", "has two dogs", 0.9),
        (1, "pet", "has a dog", 0.9), (6, "other", "lost their job", 0.9), (1, "employer", "works at Acme", 0.8),
        (4, "family", "is engaged to Ana", 0.9), (2, "family", "has a girlfriend named Ana", 0.9)]]
    observations += [obs(3, "location", "lives in Porto", 0.85, msg="same-time")]
    texts = needs_vectors(observations)
    vectors = dict(zip(texts, get_embedder().encode(texts)))
    expected = consolidate(observations, vectors)
    for seed in range(5):
        shuffled = observations[:]
        random.Random(seed).shuffle(shuffled)
        assert consolidate(shuffled, vectors) == expected


def test_look_alike_facts_of_two_users_are_never_merged_or_mixed():
    a = [obs(0, "pet", "has a dog named Biscuit", msg="a1"), obs(1, "location", "lives in Lisbon", msg="a2")]
    b = [obs(0, "pet", "has a dog called Biscuit", msg="b1"), obs(2, "location", "lives in Porto", msg="b2"),
         obs(3, "pet", "has a dog named Biscuit", msg="b3")]
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return get_embedder().encode(texts)

    # A vector cached for user a is never used for b: b's texts are embedded for b.
    poisoned = {"u-a": {"has a dog called Biscuit": np.ones(384, dtype=np.float32)}}
    rows, used = consolidate_users({"u-a": a, "u-b": b}, poisoned, embed)
    assert {f.fact for f in rows["u-a"]} == {"has a dog named Biscuit", "lives in Lisbon"}
    assert rows["u-a"][0].source_message_ids == ("a1",)
    assert "lives in Porto" in {f.fact for f in rows["u-b"]}
    assert {i for f in rows["u-b"] for i in f.source_message_ids} == {"b1", "b2", "b3"}
    assert rows["u-b"][0].mention_count == 2  # b's two wordings of one dog
    assert "has a dog called Biscuit" in calls[0] and not np.allclose(used["u-b"]["has a dog called Biscuit"], 1)


@pytest.mark.parametrize(("category", "text", "key", "value"), [
    ("location", "Lives in Lisbon.", "home", "lisbon"), ("employer", "works for the Lisbon Zoo", "employer", "lisbon zoo"),
    ("occupation", "is unemployed", "job_title", "unemployed"), ("pet", "has two kittens", "pet_count:cat", "2"),
    ("other", "is thirty-four years old", "age", "34"), ("preference", "favourite color is teal", "favourite:colour", "teal"),
    ("hobby", "enjoys hiking", None, None), ("occupation", "teaches year five", "job_title", "teaches year five"),
])
def test_slots(category, text, key, value):
    slot = slot_of(category, text)
    assert (slot.key, slot.value) == (key, value) if key else slot is None


@pytest.mark.parametrize(("text", "closes"), [
    ("lost their job", {"employer", "job_title"}), ("was laid off from Acme", {"employer", "job_title"}),
    ("broke up with Ana", {"relationship"}), ("doesn't have a cat anymore", {"pet_count:cat"}),
    ("used to live in Porto", {"home"}), ("moved out of Porto", {"home"}), ("enjoys hiking", None),
    ("no longer plays", None),
])
def test_endings(text, closes):
    ending = ending_of("other", text)
    assert (ending is None) if closes is None else ending.slots == closes


def test_a_job_said_by_what_the_user_does_ends_with_the_job():
    rows = run([obs(0, "occupation", "teaches year five"), obs(2, "other", "lost their job")])
    assert rows["teaches year five"].valid_to is not None and rows["teaches year five"].status != "current"
    rows = run([obs(0, "occupation", "teaches year five"), obs(2, "occupation", "works as a librarian")])
    assert rows["teaches year five"].status == "superseded" and rows["works as a librarian"].status == "current"
