"""The layout is a contract: the layers of pyproject.toml's [tool.importlinter] hold, and no source
file grows past what a reader takes in at once (lexicon data excepted)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "whisper_assets"
MAX_LINES = 500
# Modules that hold only word lists and pattern tables may be longer.
LEXICON_DATA = {"lexicons.py"}


def test_no_layer_imports_upward_and_the_core_knows_no_dagster_or_store(capsys):
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert status == 0, capsys.readouterr().out


def test_the_contract_catches_an_upward_import(tmp_path, monkeypatch, capsys):
    # The same contract over a tiny package with one upward import must fail: the check is live.
    pkg = tmp_path / "layered"
    for layer in ("top", "bottom"):
        (pkg / layer).mkdir(parents=True)
        (pkg / layer / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "bottom" / "low.py").write_text("from layered.top import __name__ as _up\n")
    config = tmp_path / "contract.toml"
    config.write_text(textwrap.dedent("""
        [tool.importlinter]
        root_package = "layered"
        [[tool.importlinter.contracts]]
        name = "layers"
        type = "layers"
        layers = ["layered.top", "layered.bottom"]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 1
    assert "layered.bottom.low -> layered.top" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_source_files_stay_readable(path):
    if path.name in LEXICON_DATA:
        return
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (> {MAX_LINES}): split it by concern"
