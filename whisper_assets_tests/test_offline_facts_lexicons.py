"""The offline extractor's lexicons are data files: each loads, none holds a duplicate entry."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from whisper_assets.core.llm.offline_facts import lexicons

DATA = resources.files("whisper_assets.core.llm.offline_facts") / "data"
TEXT_FILES = sorted(p.name[:-4] for p in DATA.iterdir() if p.name.endswith(".txt"))


def test_every_lexicon_file_is_used_and_the_main_ones_exist() -> None:
    assert {"job_heads", "species", "household_pets", "places", "not_names", "languages"} <= set(TEXT_FILES)
    package = resources.files("whisper_assets.core.llm.offline_facts")
    source = "".join(p.read_text(encoding="utf-8") for p in package.iterdir() if p.name.endswith(".py"))
    assert [n for n in TEXT_FILES if f'"{n}"' not in source] == []


@pytest.mark.parametrize("name", TEXT_FILES)
def test_no_duplicate_entries(name: str) -> None:
    items = [e.lower() for e in lexicons.entries(name)]
    assert items, f"{name}.txt is empty"
    assert [e for e, n in Counter(items).items() if n > 1] == []


def test_relatives_table_has_no_duplicate_keys_or_plurals() -> None:
    def no_dupes(pairs: list[tuple[str, object]]) -> dict:
        keys = [k for k, _ in pairs]
        assert [k for k, n in Counter(keys).items() if n > 1] == []
        return dict(pairs)

    table = json.loads((DATA / "relatives.json").read_text(encoding="utf-8"), object_pairs_hook=no_dupes)
    assert [p for p, n in Counter(table["plural"]).items() if n > 1] == []
    assert set(table["singular"].values()) <= {"he", "she", None}


def test_duplicate_detection_fails_on_a_repeated_entry(tmp_path, monkeypatch) -> None:
    (tmp_path / "pets.txt").write_text("# comment\ndog\ncat  # inline comment\n\nDog\n", encoding="utf-8")
    monkeypatch.setattr(lexicons, "_DATA", tmp_path)
    items = [e.lower() for e in lexicons.entries("pets")]
    assert items == ["dog", "cat", "dog"]
    assert [e for e, n in Counter(items).items() if n > 1] == ["dog"]


def test_household_pets_are_species_and_lookups_work() -> None:
    assert set(lexicons.entries("household_pets")) <= set(lexicons.entries("species"))
    assert lexicons._HOUSEHOLD_PETS.match("guinea pigs") and not lexicons._HOUSEHOLD_PETS.match("horse")
    assert "nurse" in lexicons._JOB_HEADS and "lisbon" in lexicons._GAZETTEER and "monday" in lexicons._NOT_NAMES
