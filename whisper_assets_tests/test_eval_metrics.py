"""The pure metric functions of the LoCoMo evaluation, on tiny hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from whisper_assets.interfaces.evaluation import metrics
from whisper_assets.interfaces.evaluation.metrics import HitCounts, Match, PRCounts
from whisper_assets.memory import locomo_format


# -- dia ids (read by the LoCoMo format module) ----------------------------------------------------------

@pytest.mark.parametrize("evidence, expected", [
    (["D1:3"], ["D1:3"]),
    ("D1:3", ["D1:3"]),  # a bare string, not a list
    (["D8:6; D9:17"], ["D8:6", "D9:17"]),  # two ids packed into one string
    (["D22:21, D22:23", "D3:1"], ["D22:21", "D22:23", "D3:1"]),
    (["D4:1 D4:2"], ["D4:1", "D4:2"]),  # space-separated
    ([["D15:3", "D15:5"]], ["D15:3", "D15:5"]),  # nested list (observation evidence)
    (["D30:05"], ["D30:5"]),  # leading zero
    (["D2:1", "D2:1", "D2:01"], ["D2:1"]),  # duplicates
    ([], []),
    (["D", "D:11:26", ""], []),  # junk yields nothing
    (None, []),
    ([7, None, "D1:1"], ["D1:1"]),  # non-strings are ignored
])
def test_extract_dia_ids(evidence, expected):
    assert locomo_format.extract_dia_ids(evidence) == expected


def test_split_evidence_separates_ids_that_do_not_exist():
    known = {"D1:1", "D1:2", "D8:6"}
    assert locomo_format.split_evidence(["D8:6; D9:17"], known) == (["D8:6"], ["D9:17"])
    assert locomo_format.split_evidence([], known) == ([], [])
    assert locomo_format.split_evidence(["D99:1"], known) == ([], ["D99:1"])


def test_dia_session_and_order():
    assert locomo_format.dia_session("D12:3") == 12
    with pytest.raises(ValueError):
        locomo_format.dia_session("D12")
    assert sorted(["D10:1", "D2:11", "D2:3"], key=locomo_format.dia_order) == ["D2:3", "D2:11", "D10:1"]
    with pytest.raises(ValueError):
        locomo_format.dia_order("D2")


# -- matching --------------------------------------------------------------------------------------------

def test_greedy_match_takes_the_most_similar_pair_first_and_is_one_to_one():
    # Row order would give row 0 -> col 0 (0.7) and row 1 -> col 1 (0.2, below threshold).
    # Highest first: (0, 1) = 0.95, then (1, 0) = 0.9.
    sim = np.array([[0.70, 0.95],
                    [0.90, 0.20]])
    assert metrics.greedy_match(sim, 0.5) == [Match(0, 1, 0.95), Match(1, 0, 0.9)]


def test_greedy_match_leaves_the_loser_of_a_shared_best_unmatched():
    # Both predictions are closest to gold 0; the weaker one has nothing else above the threshold.
    sim = np.array([[0.90, 0.10],
                    [0.85, 0.40]])
    matches = metrics.greedy_match(sim, 0.5)
    assert matches == [Match(0, 0, 0.9)]
    assert metrics.match_counts(2, 2, matches) == PRCounts(2, 1, 2, 1)
    # With a lower threshold the loser falls back to its second choice.
    assert metrics.greedy_match(sim, 0.4) == [Match(0, 0, 0.9), Match(1, 1, 0.4)]


def test_greedy_match_threshold_is_inclusive_and_ties_are_deterministic():
    sim = np.array([[0.65, 0.65],
                    [0.65, 0.64]])
    assert metrics.greedy_match(sim, 0.65) == [Match(0, 0, 0.65)]  # 0.64 is below; ties: lower row, lower column
    assert metrics.greedy_match(sim, 0.60) == [Match(0, 0, 0.65), Match(1, 1, 0.64)]


def test_greedy_match_empty_sides():
    assert metrics.greedy_match(np.zeros((0, 3)), 0.5) == []
    assert metrics.greedy_match(np.zeros((2, 0)), 0.5) == []


def test_cosine_matrix():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[1.0, 1.0], [3.0, 0.0]])
    np.testing.assert_allclose(metrics.cosine_matrix(a, b), [[2 ** -0.5, 1.0], [2 ** -0.5, 0.0]])
    assert metrics.cosine_matrix(np.zeros((0, 2)), b).shape == (0, 2)
    assert metrics.cosine(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(0.0)


# -- precision / recall ------------------------------------------------------------------------------

def test_precision_recall_and_micro_average():
    a = PRCounts(predicted=4, matched_predicted=2, gold=10, matched_gold=2)
    b = PRCounts(predicted=1, matched_predicted=1, gold=2, matched_gold=1)
    assert (a.precision, a.recall) == (0.5, 0.2)
    total = a + b
    assert total == PRCounts(5, 3, 12, 3)
    assert total.precision == pytest.approx(3 / 5)  # micro, not the mean of 0.5 and 1.0
    assert total.recall == pytest.approx(3 / 12)
    assert total.f1 == pytest.approx(2 * 0.6 * 0.25 / 0.85)


def test_precision_is_undefined_without_predictions():
    empty = PRCounts(predicted=0, matched_predicted=0, gold=3, matched_gold=0)
    assert empty.precision is None and empty.recall == 0.0 and empty.f1 is None
    assert PRCounts().as_dict()["recall"] is None
    assert metrics.ratio(1, 0) is None


# -- summaries ---------------------------------------------------------------------------------------

def test_rouge_l_on_a_known_pair():
    # LCS("the cat sat on the mat", "the cat was on the mat") = "the cat on the mat": 5 of 6 tokens.
    assert metrics.rouge_l_f1("the cat sat on the mat", "the cat was on the mat") == pytest.approx(5 / 6)
    # Stemming: "running dogs" and "run dog" are the same stems.
    assert metrics.rouge_l_f1("Running dogs", "run dog") == pytest.approx(1.0)
    assert metrics.rouge_l_f1("completely different words", "nothing shared here") == 0.0
    assert metrics.rouge_l_f1("", "the reference") == 0.0


# -- retrieval ----------------------------------------------------------------------------------------

def test_evidence_hit_at_k():
    ranked = [{"D5:1"}, set(), {"D2:3", "D2:4"}, {"D1:1"}]
    assert not metrics.evidence_hit_at_k(ranked, ["D2:4"], 2)
    assert metrics.evidence_hit_at_k(ranked, ["D2:4"], 3)
    assert metrics.evidence_hit_at_k(ranked, ["D9:9", "D1:1"], 10)  # one of several evidence turns is enough
    assert not metrics.evidence_hit_at_k(ranked, [], 10)
    assert metrics.first_hit_rank(ranked, ["D1:1", "D2:3"]) == 3
    assert metrics.first_hit_rank(ranked, ["D7:7"]) is None
    with pytest.raises(ValueError):
        metrics.evidence_hit_at_k(ranked, ["D1:1"], 0)


def test_hit_counts_recall_at_k():
    counts = HitCounts((5, 10))
    for rank in (1, 5, 6, 10, 11, None):
        counts.add(rank)
    assert counts.evaluated == 6
    assert counts.hits == {5: 2, 10: 4}
    assert counts.recall(5) == pytest.approx(2 / 6) and counts.recall(10) == pytest.approx(4 / 6)
    assert HitCounts((10,)).recall(10) is None


def test_merge_by_rank_interleaves_and_drops_repeats():
    assert metrics.merge_by_rank([["a1", "a2", "a3"], ["b1"], []]) == ["a1", "b1", "a2", "a3"]
    assert metrics.merge_by_rank([["x", "y"], ["x", "z"]]) == ["x", "y", "z"]
    assert metrics.merge_by_rank([[("u1", 1), ("u1", 2)], [("u2", 1)]], key=lambda i: i[1]) == [("u1", 1), ("u1", 2)]
    assert metrics.merge_by_rank([]) == []


@pytest.mark.parametrize("question, expected", [
    ("What does Ann do for work?", ["Ann"]),
    ("What is Ann's favourite food?", ["Ann"]),  # possessive
    ("When did Ann and Ben go hiking together?", ["Ann", "Ben"]),
    ("Which city have both Anne and Benn visited?", []),  # misspelt names: neither speaker
    ("what did ANN say?", ["Ann"]),
    ("Did Annabel come?", []),  # whole words only
])
def test_named_speakers(question, expected):
    assert metrics.named_speakers(question, ["Ann", "Ben"]) == expected
