"""Strict evidence (evidence.py), the chance baselines (baselines.py) and the eval CLI's one-line
errors. Every sentence here was written for this test."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from typer.testing import CliRunner

from whisper_assets.interfaces.cli.app import app
from whisper_assets.interfaces.evaluation import baselines, evidence, metrics

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
TURN = "I finally adopted a grey kitten from the shelter on Maple Street."
TURNS = {"D1:3": TURN, "D1:4": "The weather was awful all week."}


def test_content_words_are_stemmed_and_skip_stop_words():
    assert evidence.content_words("I adopted two kittens and we were hiking") == {"adopt", "kitten", "hike"}
    assert evidence.content_words("and the of we") == set()


def test_a_summary_holds_a_turn_only_when_its_text_says_it():
    told = "Ann adopted a grey kitten from a shelter; she also talked about the weather."
    vague = "Ann talked about her week, the weather and her plans."
    assert evidence.holds(told, TURN)  # adopt, grey, kitten, shelter: 4 of the sentence's 7 content words
    detail = evidence.holds_detail(vague, TURN)
    assert not detail.holds and detail.shared == frozenset() and "kitten" in detail.missing
    # One sentence of a long turn is enough: greetings and asides around the point do not count.
    chatty = ("Hey Sam, long time no talk, how are the twins and the new garden doing these days? "
              "Our choir booked the old theatre downtown for a winter concert. Anyway, what about you?")
    held = evidence.holds_detail("Ann's choir booked a theatre downtown for its winter concert.", chatty)
    assert held.holds and held.sentence == 1
    # Sentences of fewer than three content words never count alone.
    assert not evidence.holds("Ann thanked Sam.", "Thanks, Sam! Sure.")


def test_strict_and_loose_disagree_on_a_day_summary_that_only_cites_the_turn():
    evidence_ids = ["D1:3"]
    ranked = [
        ("recent", "Ann talked about her week, the weather and her plans.", {"D1:1", "D1:2", "D1:3", "D1:4"}),
        ("fact", "has a dog", {"D1:1"}),
        ("message", "The weather was awful all week.", {"D1:4"}),
        ("related", "Ann adopted a grey kitten from a shelter.", {"D1:3"}),
        ("message", TURN, {"D1:3"}),
    ]
    assert metrics.first_hit_rank([c for _, _, c in ranked], evidence_ids) == 1  # loose: any citation
    assert evidence.first_strict_rank(ranked, evidence_ids, TURNS) == 4  # the summary that says it
    assert evidence.first_strict_rank(ranked[:3] + ranked[4:], evidence_ids, TURNS) == 4  # the message itself
    # A fact counts when it cites the turn (a fact is drawn from the turns it cites).
    assert evidence.strict_hit("fact", "adopted a kitten", {"D1:3"}, evidence_ids, TURNS)
    assert not evidence.strict_hit("fact", "adopted a kitten", {"D1:4"}, evidence_ids, TURNS)


def pools() -> baselines.Pools:
    p = baselines.Pools()
    for user in ("ann", "ben"):
        for day in range(5):
            at = T0 + timedelta(days=day)
            p.items[(user, "summary")].append(baselines.PoolItem("summary", user, f"{user} day {day}",
                                                                 frozenset({f"D{day + 1}:1"}), at))
            p.items[(user, "message")].append(baselines.PoolItem("message", user, f"{user} said {day}",
                                                                 frozenset({f"D{day + 1}:2"}), at))
        p.items[(user, "fact")].append(baselines.PoolItem("fact", user, "likes tea", frozenset({"D1:2"}), T0))
    return p


def test_latest_summaries_ignore_the_question_and_never_look_past_now():
    now = T0 + timedelta(days=2, hours=1)
    items = baselines.latest_summaries(pools(), ["ann", "ben"], now, k=4)
    assert [i.text for i in items] == ["ann day 2", "ben day 2", "ann day 1", "ben day 1"]
    assert all(i.known_at <= now for i in baselines.latest_summaries(pools(), ["ann"], now, k=10))


def test_random_items_have_the_kinds_of_recalls_own_list_and_are_seeded():
    now = T0 + timedelta(days=3, hours=1)
    top = [("ann", "fact"), ("ann", "message"), ("ann", "message"), ("ben", "recent"), ("ben", "related")]
    a = baselines.random_like(pools(), top, now, random.Random(7))
    assert a == baselines.random_like(pools(), top, now, random.Random(7))
    kinds = sorted((i.user, i.kind) for i in a)
    assert kinds == [("ann", "fact"), ("ann", "message"), ("ann", "message"), ("ben", "summary"), ("ben", "summary")]
    assert all(i.known_at <= now for i in a) and len({i.text for i in a}) == len(a)  # without replacement
    # A pool that runs out gives fewer items, never a later one.
    early = baselines.random_like(pools(), [("ann", "recent")] * 3, T0 + timedelta(hours=1), random.Random(1))
    assert [i.text for i in early] == ["ann day 0"]


def test_eval_commands_say_what_is_wrong_with_a_file_in_one_line(tmp_path):
    runner = CliRunner()
    missing = tmp_path / "nothing.csv"
    result = runner.invoke(app, ["eval", "spc", str(missing), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "nothing.csv: no such file" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1

    bad = tmp_path / "bad.csv"
    bad.write_text("name,age\nx,3\n")
    result = runner.invoke(app, ["eval", "spc", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "not a Synthetic-Persona-Chat CSV" in result.output
    assert len(result.output.strip().splitlines()) == 1

    locomo = tmp_path / "locomo.json"
    locomo.write_text("[]")
    result = runner.invoke(app, ["eval", "all", "--locomo", str(locomo), "--spc", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not a Synthetic-Persona-Chat CSV" in result.output  # before any LoCoMo run
    result = runner.invoke(app, ["eval", "all", "--locomo", str(tmp_path / "no.json"), "--spc", str(bad),
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no.json: no such file" in result.output
    result = runner.invoke(app, ["eval", "spc", str(bad), "--backend", "gpt", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown backend" in result.output
