"""The garbled-fact check and the inflection helpers of the offline extractor (sentences of our own)."""

from __future__ import annotations

import pytest

from whisper_assets.core.llm.offline_facts import Turn, extract_facts
from whisper_assets.core.llm.offline_facts import checks, inflection
from whisper_assets.core.llm.offline_facts.checks import garbled_reason, without_vague_quantity


@pytest.mark.parametrize(
    ("fact", "reason"),
    [
        ("likes", checks.EMPTY_OBJECT),
        ("has a", checks.EMPTY_OBJECT),
        ("loves spending time with", checks.DANGLING_WORD),
        ("is going to the", checks.DANGLING_WORD),
        ("enjoys riding them", checks.DANGLING_WORD),
        ("likes Nina Simone, J", checks.DANGLING_WORD),
        ("is planning a trip with my", checks.DANGLING_WORD),
        ("loves spending time with him on weekends", checks.UNRESOLVED_PRONOUN),
        ("is proud of her garden", checks.UNRESOLVED_PRONOUN),
        ("likes it a lot more now", checks.UNRESOLVED_PRONOUN),
        ("has a dog named Pickles's", checks.POSSESSIVE_NAME),
        ("has a sister named Ottilie's", checks.POSSESSIVE_NAME),
        ("visited Lisbon's", checks.POSSESSIVE_NAME),
        ("likes the the beach", checks.DOUBLED_WORD),
        ("likes kinds of soup", checks.VAGUE_QUANTITY),
        ("loves lots of things", checks.VAGUE_QUANTITY),
        ("has a dogs", checks.BROKEN_AGREEMENT),
        ("has a kittens named Fig and Plum", checks.BROKEN_AGREEMENT),
        ("has two cat", checks.BROKEN_AGREEMENT),
        ("has three rabbit named Bo, Jo and Mo", checks.BROKEN_AGREEMENT),
        ("has an parrot", checks.BROKEN_AGREEMENT),
        ("is a engineer", checks.BROKEN_AGREEMENT),
        ("ate an university lunch", checks.BROKEN_AGREEMENT),
        ("favourite colors is teal", checks.BROKEN_AGREEMENT),
        ("painted an after they visited the coast", checks.BROKEN_AGREEMENT),
        ("enjoys watching", checks.VERB_WITHOUT_OBJECT),
        ("likes making", checks.VERB_WITHOUT_OBJECT),
    ],
)
def test_garbled_facts_are_named(fact: str, reason: str) -> None:
    assert garbled_reason(fact) == reason


@pytest.mark.parametrize(
    "fact",
    [
        "has a puppy named Pickles",
        "has two cats named Fig and Plum",
        "has three goldfish",
        "has a sister who lives in Lisbon",
        "works at McDonald's",
        "works as an engineer",
        "is an only child",
        "studies at a university",
        "has an 8-year-old son",
        "favourite band is The Who",
        "likes The Who",
        "plays tennis",
        "has a bus pass",
        "has a corgi named Waffle",
        "is taking care of themselves",
        "is training for a marathon in October",
        "went to a jazz concert with their brother",
        "favourite colour is teal",
        "enjoys cooking",
        "likes playing chess",
    ],
)
def test_well_formed_facts_pass(fact: str) -> None:
    assert garbled_reason(fact) is None


def test_vague_quantifiers_are_dropped_when_an_object_follows() -> None:
    assert without_vague_quantity("likes all kinds of board games") == "likes board games"
    assert without_vague_quantity("enjoys baking a lot of different breads") == "enjoys baking breads"
    assert without_vague_quantity("has a cat named Tofu") == "has a cat named Tofu"


def test_inflection_articles_plurals_and_verbs() -> None:
    assert [inflection.article(w) for w in ("hour", "university", "owl", "MBA", "8-year-old", "2-year-old")] == [
        "an", "a", "an", "an", "an", "a"]
    assert inflection.is_plural("puppies") and inflection.is_plural("children") and inflection.is_plural("mice")
    assert not inflection.is_plural("bus") and not inflection.is_plural("tennis") and not inflection.is_plural("dog")
    assert [inflection.third_person(v) for v in ("watch", "try", "have", "go", "play", "quiz")] == [
        "watches", "tries", "has", "goes", "plays", "quizzes"]


def test_extractor_never_emits_a_garbled_fact() -> None:
    turns = [
        Turn("m1", "u1", "I love spending time with him on weekends."),
        Turn("m2", "u1", "I enjoy most sorts of card games, mostly the cooperative ones."),
        Turn("m3", "u1", "I have a ferret named Noodle and I work as an electrician."),
    ]
    facts = {f.fact for f in extract_facts(turns)}
    assert "has a ferret named Noodle" in facts
    assert "works as an electrician" in facts
    assert all(garbled_reason(f) is None for f in facts)
    assert not any("him" in f.split() for f in facts)


def test_initials_do_not_end_a_sentence_and_trailing_superlatives_go() -> None:
    facts = {f.fact for f in extract_facts([Turn("m1", "u1", "I like bluegrass and Irish folk the most."),
                                             Turn("m2", "u1", "My favourite author is C. S. Lewis.")])}
    assert "likes bluegrass and Irish folk" in facts
    assert not any(f.endswith((" C", " S")) for f in facts)


def test_someone_elses_possessive_is_not_read_as_the_users() -> None:
    facts = {f.fact for f in extract_facts([Turn("m1", "u1", "I love their music."), Turn("m2", "u1", "I love my garden.")])}
    assert "loves their garden" in facts
    assert "loves their music" not in facts
