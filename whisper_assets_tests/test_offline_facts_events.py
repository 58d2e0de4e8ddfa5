"""Offline extractor: events, commitments, names kept and less trivial output (sentences of our own)."""

from __future__ import annotations

import pytest

from whisper_assets.core.llm.offline_facts import Turn, extract_facts


def facts_of(*texts: str) -> set[tuple[str, str]]:
    return {(f.category.value, f.fact) for f in extract_facts([Turn(f"m{i}", "u1", t) for i, t in enumerate(texts)])}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I went to a jazz festival last weekend and it was loud.", ("other", "went to a jazz festival")),
        ("We attended a woodcarving workshop on Saturday.", ("other", "attended a woodcarving workshop")),
        ("I ran a half marathon yesterday!", ("other", "ran a half marathon")),
        ("I finally finished my first triathlon.", ("other", "finished their first triathlon")),
        ("I painted a lighthouse over the weekend.", ("hobby", "painted a lighthouse")),
        ("I baked some sourdough bread this morning.", ("hobby", "baked some sourdough bread")),
        ("I took my kids to the aquarium yesterday.", ("other", "took their kids to the aquarium")),
        ("I promised to help my neighbour paint the fence.", ("plan", "promised to help their neighbour paint the fence")),
        ("I started a podcast about gardening last month.", ("other", "started a podcast about gardening")),
        ("We opened our own bakery in March!", ("other", "opened their own bakery")),
        ("I opened my own bakery in March!", ("occupation", "runs their own bakery")),
        ("I launched a podcast about birds in the spring.", ("other", "launched a podcast about birds")),
        ("I am training for a marathon in October.", ("plan", "is training for a marathon in October")),
        ("I'm saving up for a new car.", ("plan", "is saving up for a new car")),
        ("We went camping last weekend.", ("hobby", "went camping")),
        ("I went hiking with my dog yesterday.", ("hobby", "went hiking with their dog")),
        ("We went kayaking with my brother a couple of weekends ago.", ("hobby", "went kayaking with their brother")),
        ("I am reading a book about octopuses.", ("hobby", "is reading a book about octopuses")),
        ("I got a promotion at work!", ("other", "got a promotion at work")),
        ("I'm looking for a new apartment.", ("plan", "is looking for a new apartment")),
        ("I just got back from a retreat in the hills.", ("other", "went to a retreat in the hills")),
        ("I volunteered at an animal shelter last week.", ("hobby", "volunteered at an animal shelter")),
        ("I won first prize in a baking contest.", ("other", "won first prize in a baking contest")),
        ("I went to a neighbourhood association meeting about parking.", ("other", "went to a neighbourhood association meeting about parking")),
        ("I painted that harbour scene last year.", ("hobby", "painted a harbour scene")),
        ("I love being a nurse.", ("occupation", "works as a nurse")),
        ("I love being a mom.", ("family", "is a mom")),
        ("I have been painting for ten years.", ("hobby", "has been painting for ten years")),
        ("I have a passion for woodworking.", ("preference", "is passionate about woodworking")),
        ("Photography has always been my passion.", ("preference", "is passionate about photography")),
        ("I just finished reading a novel about whales.", ("hobby", "finished reading a novel about whales")),
        ("I used to play the piano.", ("hobby", "used to play the piano")),
        ("I used to compete in chess tournaments.", ("hobby", "used to compete in chess tournaments")),
        ("I'm moving into a new apartment next week.", ("plan", "is moving into a new apartment next week")),
        ("My partner and I move into our new flat next month.", ("plan", "is moving into a new flat next month")),
        ("I have a job interview tomorrow.", ("plan", "has a job interview tomorrow")),
        ("I'm starting a new job next month.", ("plan", "is starting a new job next month")),
        ("I start college in the fall.", ("plan", "is starting college in the fall")),
        ("I have an exam on Friday.", ("plan", "has an exam on Friday")),
        ("I will be running a half marathon in May.", ("plan", "will be running a half marathon in May")),
        ("I took the kids to the planetarium yesterday.", ("other", "took their kids to the planetarium")),
        ("We took our family fishing at the lake last summer.", ("other", "took their family fishing at the lake")),
        ("I got a part-time job to pay for my classes.", ("other", "got a part-time job")),
        ("I applied to two nursing programs.", ("plan", "applied to two nursing programs")),
        ("I used to go sailing with my aunt as a teenager.", ("hobby", "used to go sailing with their aunt")),
    ],
)
def test_events_and_commitments(text: str, expected: tuple[str, str]) -> None:
    assert expected in facts_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "I went to the store.",  # no event
        "I made a mistake at work.",  # no creation
        "I didn't go to the concert after all.",
        "Did you go to a concert last week?",
        "If I ran a marathon I would sleep for days.",
        "My brother ran a marathon.",  # someone else's event
        "I wrote an email to my landlord.",
        "I opened the door and the cat ran out.",
        "I started my day with coffee.",
        "I got a cold.",
        "I am looking for a way out.",
        "I am reading the news.",
        "I went shopping.",
        "I went to a meeting.",
        "I used to play.",
        "I have a test.",
        "I applied for it.",
        "I took the boys to the park.",
        "We move into the hall.",
        "I start school at eight.",
        "It is my passion.",
        "I love being a good friend.",
        "I painted this after I visited the coast.",
    ],
)
def test_no_event_without_a_concrete_first_person_event(text: str) -> None:
    assert not any(c in {"other", "hobby", "plan"} for c, _ in facts_of(text)), facts_of(text)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("I got a puppy last week! Her name is Pickles.",), ("pet", "has a puppy named Pickles")),
        (("We adopted a kitten, his name is Bramble.",), ("pet", "has a kitten named Bramble")),
        (("I have a cat, Juniper, who sleeps all day.",), ("pet", "has a cat named Juniper")),
        (("I have two cats, Fig and Plum.",), ("pet", "has two cats named Fig and Plum")),
        (("I have a little sister, her name is Odile.",), ("family", "has a little sister named Odile")),
    ],
)
def test_names_are_kept(texts: tuple[str, ...], expected: tuple[str, str]) -> None:
    facts = facts_of(*texts)
    assert expected in facts
    assert (expected[0], expected[1].split(" named ")[0]) not in facts


@pytest.mark.parametrize(
    "text",
    [
        "I have a brother. Her name is Ana.",  # the pronoun does not fit the relative
        "I have a dog, Paris is lovely.",  # a place, not a name
        "I have two cats. His name is Tom.",  # one name for two animals
    ],
)
def test_no_name_when_it_does_not_fit(text: str) -> None:
    assert not any(" named " in f for _, f in facts_of(text)), facts_of(text)


def test_a_less_specific_fact_beside_a_more_specific_one_is_dropped() -> None:
    assert ("pet", "has dogs") in facts_of("My dogs are loud.")
    facts = facts_of("My dogs are loud.", "I have three dogs.", "Also, I like to paint.", "I like to paint seascapes.")
    assert ("pet", "has three dogs") in facts and ("pet", "has dogs") not in facts
    assert ("hobby", "likes to paint seascapes") in facts and ("hobby", "likes to paint") not in facts


def test_other_users_facts_never_subsume() -> None:
    turns = [Turn("m1", "u1", "My dogs are loud."), Turn("m2", "u2", "I have three dogs.")]
    facts = {(f.user_id, f.fact) for f in extract_facts(turns)}
    assert ("u1", "has dogs") in facts and ("u2", "has three dogs") in facts
