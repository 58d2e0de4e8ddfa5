"""The Synthetic-Persona-Chat fact metric (interfaces/evaluation/spc.py) on a tiny CSV written here.

No SPC data: every persona sentence and turn below was written for this test.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from whisper_assets.interfaces.evaluation import spc
from whisper_assets.interfaces.evaluation.samples import EvalError

HEADER = ["user 1 personas", "user 2 personas", "Best Generated Conversation"]
ROWS = [
    [
        "I keep three goats.\nI am a baker.\nI have never seen the sea.",
        "I play the cello.\nMy sister lives in Oslo.",
        "User 1: Morning! I am a baker, so I was up at four.\n"
        "User 2: Wow. What do you bake?\n"
        "* * *\n"
        "User 1: Mostly rye bread. Also I keep three goats behind the bakery.\n"
        "Recipe: flour, water, salt.\n"
        "*User 2:* Nice. I play the cello in a small band. I work as a plumber.\n",
    ],
    ["I like tea.", "", "[They wave.]\n"],  # no turn: left out
    [
        "I fix old radios.",
        "I grow tomatoes.",
        "User 2: Do you fix old radios?\nUser 1: Not today.\n",
    ],
]


def write_csv(path, rows=ROWS, header=HEADER):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_load_spc_parses_turns_personas_and_continuations(tmp_path):
    convs = spc.load_spc(write_csv(tmp_path / "spc.csv"))
    assert [c.conversation_id for c in convs] == ["spc-0000", "spc-0002"]  # row 1 has no turn
    first = convs[0]
    assert first.personas["User 1"] == ("I keep three goats.", "I am a baker.", "I have never seen the sea.")
    assert [s for s, _ in first.turns] == ["User 1", "User 2", "User 1", "User 2"]
    assert first.turns[2][1].endswith("behind the bakery.\nRecipe: flour, water, salt.")  # continuation kept
    assert first.turns[3] == ("User 2", "Nice. I play the cello in a small band. I work as a plumber.")  # "*User 2:*" opens a turn
    assert first.dropped_lines == 1  # "* * *"
    sample = spc.to_locomo_sample(first)
    assert sample.sample_id == "spc-0000" and sample.speakers == spc.SPEAKERS
    assert [t.dia_id for t in sample.sessions[0].turns] == ["D1:1", "D1:2", "D1:3", "D1:4"]
    assert len({t.timestamp.date() for t in sample.sessions[0].turns}) == 1


def test_sampling_is_seeded_and_in_row_order(tmp_path):
    convs = [spc.SpcConversation(i, {}, (("User 1", "hi"),)) for i in range(50)]
    a, b = spc.sample_conversations(convs, 10, seed=3), spc.sample_conversations(convs, 10, seed=3)
    assert a == b and [c.index for c in a] == sorted(c.index for c in a) and len(a) == 10
    assert spc.sample_conversations(convs, 10, seed=4) != a
    assert spc.sample_conversations(convs, None) == convs


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("a,b,c\n1,2,3\n", "not a Synthetic-Persona-Chat CSV (missing column"),
    ('"user 1 personas","user 2 personas","Best Generated Conversation"\n"x","y","no turns here"\n',
     "no conversation with a 'User 1:' or 'User 2:' turn"),
])
def test_load_spc_bad_files_give_one_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(EvalError, match=re.escape(message)) as info:
        spc.load_spc(path)
    assert "\n" not in str(info.value)


def test_first_person_and_statements():
    assert spc.first_person("works as a nurse") == "I work as a nurse"
    assert spc.first_person("has a dog named Rex") == "I have a dog named Rex"
    assert spc.first_person("is a vegetarian") == "I am a vegetarian"
    assert spc.first_person("lives with their parents") == "I live with my parents"
    assert spc.first_person("studies law") == "I study law"
    assert spc.first_person("watches films") == "I watch films"
    assert spc.statements("I bake. Do you? Sure!") == ["I bake.", "Sure!"]


class WordEncoder:
    """Bag-of-words vectors: cosine 1 for the same words, low otherwise (no model needed)."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def encode(self, texts):
        rows = []
        for t in texts:
            words = [w.strip(".,!?").lower() for w in t.split()]
            for w in words:
                self.vocab.setdefault(w, len(self.vocab))
            rows.append(words)
        out = np.zeros((len(texts), 512))
        for i, words in enumerate(rows):
            for w in words:
                out[i, self.vocab[w]] += 1
        return out


def test_score_counts_expressed_recall_and_lower_bound_precision(tmp_path):
    convs = spc.load_spc(write_csv(tmp_path / "spc.csv"))
    predictions = {
        "spc-0000": [("User 1", "keeps three goats"), ("User 1", "bakes rye bread"), ("User 2", "plays the cello")],
        # asked as a question only: not expressed, so a fact of it counts for precision but not recall
        "spc-0002": [("User 2", "grows tomatoes")],
    }
    result = spc.score_spc_facts(convs, predictions, WordEncoder().encode, threshold=0.65, expressed_threshold=0.6)
    h = result.headline()
    # Expressed: "I keep three goats." and "I am a baker." (User 1), "I play the cello." (User 2);
    # not: the sea (never said), Oslo (never said), radios (only asked as a question, by the other user).
    assert (h["persona_sentences"], h["expressed_persona_sentences"]) == (7, 3)
    assert h["predicted_facts"] == 4 and h["turns"] == 6
    # goats and cello match; rye bread has no persona; tomatoes matches a persona sentence that is not expressed.
    assert result.precision_counts[0.65].matched_predicted == 3
    assert h["fact_precision"] == pytest.approx(3 / 4)
    assert h["fact_recall"] == pytest.approx(2 / 3)
    assert [f.fact for f in result.unmatched] == ["bakes rye bread"]
    assert "unmatched_examples" not in result.as_dict(examples=False)


def test_expressed_needs_a_statement_of_the_speaker_not_a_question():
    conv = spc.SpcConversation(0, {"User 1": ("I fix old radios.",), "User 2": ()},
                               (("User 1", "Do I fix old radios?"), ("User 2", "I fix old radios.")))
    result = spc.score_spc_facts([conv], {}, WordEncoder().encode)
    assert result.expressed == 0 and result.personas == 1


def test_eval_spc_end_to_end(tmp_path, monkeypatch, database_url):
    """The tiny CSV through `whisper-assets eval spc`: hot path, Dagster partitions (one bot per
    conversation, one day), offline backend, scored against the personas."""
    import json

    from typer.testing import CliRunner

    from whisper_assets.interfaces.cli.app import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["eval", "spc", str(write_csv(tmp_path / "spc.csv")), "--conversations", "5",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "recall of expressed persona sentences" in result.output
    report = json.loads((out / "spc.json").read_text())
    assert report["dataset"]["conversations"] == ["spc-0000", "spc-0002"]
    assert report["run"]["stored"] == 6 and report["run"]["partitions"] == 2
    h = report["facts"]["overall"]
    assert h["turns"] == 6 and h["persona_sentences"] == 7
    assert h["predicted_facts"] >= 1 and 0 < h["fact_precision"] <= 1  # "I am a baker" at least
    # each unmatched fact shows the turns it was drawn from, for the hand check of the lower bound
    unmatched = report["facts"]["unmatched_examples"]
    assert unmatched and all(e["source"] for e in unmatched), unmatched
    assert (out / "spc.md").read_text().startswith("# Synthetic-Persona-Chat evaluation")
