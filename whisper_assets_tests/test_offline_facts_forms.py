"""Forms the offline extractor used to garble, found by hand-counting facts (sentences written for
these tests): titles kept as written, no dangling "together", goals that read
after a name, a child not yet born, a mixed breed, a list of names that is no "City, State"."""

from __future__ import annotations

import pytest

from whisper_assets_tests.test_offline_facts import facts_of


def texts(message: str) -> set[str]:
    return {fact for _, fact in facts_of(message)}


@pytest.mark.parametrize("message, expected", [
    ("I really like My Brilliant Friend by Elena Ferrante.", "likes My Brilliant Friend by Elena Ferrante"),
    ("I like Sleepless In Seattle Again.", "likes Sleepless In Seattle Again"),
    ("I visited Lisbon, Porto, and Faro last summer.", "visited Porto"),
    ("I grew up in Austin, Texas, and moved away at twenty.", "grew up in Austin, Texas"),
    ("I love Tame Impala, Khruangbin, and Bonobo.", "loves Tame Impala"),  # a list is no "City, State"
    ("My goal is to run a half marathon before I turn forty.", "aims to run a half marathon before they turn forty"),
    ("I have a beagle mix named Biscuit.", "has a beagle mix named Biscuit"),
    ("I have two Bernese Mountain dogs.", "has two Bernese Mountain dogs"),
    ("I don't like olives either.", "doesn't like olives"),
])
def test_kept_as_said(message: str, expected: str) -> None:
    assert expected in texts(message), texts(message)


@pytest.mark.parametrize("message, unwanted", [
    ("We love baking bread together on Sundays.", "together"),
    ("My partner and I enjoy hiking together.", "together"),
    ("I like Sleepless In Seattle Again.", "likes Sleepless In Seattle"),  # never cut inside a title
    ("I can't wait for my baby to be born in March!", "has a baby"),
    ("We are counting the days until my son is born.", "has a son"),
    ("My old pickup truck? It's my baby.", "has a baby"),
    ("That guitar is really my baby.", "has a baby"),
    ("I love Tame Impala, Khruangbin, and Bonobo.", "loves Tame Impala, Khruangbin"),
    ("I visited Lisbon, Porto, and Faro last summer.", "visited Lisbon, Porto"),
])
def test_never_garbled(message: str, unwanted: str) -> None:
    found = texts(message)
    if unwanted in {"together"}:
        assert not any(f.endswith(unwanted) for f in found), found
    else:
        assert unwanted not in found, found


@pytest.mark.parametrize("message, expected", [
    ("I'm organizing a book swap at the library.", "is organizing a book swap at the library"),
    ("I'm writing a novel about my grandmother.", "is writing a novel about their grandmother"),
    ("I've been volunteering at the animal shelter.", "volunteers at the animal shelter"),
    ("I built a new website for my bakery.", "built a new website for their bakery"),
])
def test_projects_of_the_users_own(message: str, expected: str) -> None:
    assert expected in texts(message), texts(message)


@pytest.mark.parametrize("message", [
    "I'm organizing my closet.", "I'm writing an email to my boss.", "I'm putting together the crib tonight.",
    "I made a new friend at the gym.",
])
def test_chores_are_no_projects(message: str) -> None:
    assert texts(message) == set()


@pytest.mark.parametrize("message, expected", [
    ("I enjoy all kinds of cheese, but my favorite is brie.", "favourite cheese is brie"),
    ("I enjoy all sorts of food and my favorite has to be sushi.", "favourite food is sushi"),
    ("I collect all kinds of stamps but my favorite one is the Penny Black.", "favourite stamp is the Penny Black"),
])
def test_the_favourite_after_all_kinds_of_things(message: str, expected: str) -> None:
    assert expected in texts(message), texts(message)
