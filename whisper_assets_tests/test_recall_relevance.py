"""recall() keeps its places for what bears on the question: with content words to judge by, only
the facts that match it (a routed category or a shared word); without, the most confident ones."""

from __future__ import annotations

from whisper_assets_tests.test_retrieval import BOT, add_fact, ask, own_engine  # noqa: F401 (fixture)

USER = "user_rel"


def _facts(engine) -> None:
    with engine.begin() as conn:
        add_fact(conn, BOT, USER, "occupation", "works as a pastry chef at a seaside hotel", 0.9)
        add_fact(conn, BOT, USER, "pet", "has a tortoise named Pebble", 0.6)
        add_fact(conn, BOT, USER, "hobby", "plays the cello in a string quartet", 0.8)


def test_a_specific_question_gets_only_the_facts_that_bear_on_it(own_engine):  # noqa: F811
    _facts(own_engine)
    result = ask(own_engine, "what is the name of my tortoise?", user=USER, semantic=False)
    assert [f.fact for f in result.facts] == ["has a tortoise named Pebble"]
    assert "tortois" in result.facts[0].matched[0] and result.facts_held == 3
    routed = ask(own_engine, "what do I do for a living?", user=USER, semantic=False)
    assert [f.fact for f in routed.facts] == ["works as a pastry chef at a seaside hotel"]


def test_a_question_no_fact_bears_on_gets_no_facts(own_engine):  # noqa: F811
    _facts(own_engine)
    result = ask(own_engine, "how did the dentist appointment go?", user=USER, semantic=False)
    context = result.as_context()
    assert result.facts == [] and result.facts_held == 3 and result.is_empty
    assert "Nothing stored bears on this question (3 facts are stored)." in context
    assert "Nothing is known" not in context


def test_a_question_without_content_words_gets_the_most_confident_facts(own_engine):  # noqa: F811
    _facts(own_engine)
    result = ask(own_engine, "what do you know about me?", user=USER, semantic=False)
    assert [f.fact for f in result.facts] == ["works as a pastry chef at a seaside hotel",
                                              "plays the cello in a string quartet", "has a tortoise named Pebble"]
    assert len(ask(own_engine, "what do you know about me?", user=USER, limit=2, semantic=False).facts) == 2
