"""Loading LoCoMo samples from a file for the evaluation (the format itself: `memory.locomo_format`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

from whisper_assets.memory.locomo_format import LocomoFormatError, LocomoSample, parse_sample


class EvalError(RuntimeError):
    """The evaluation could not run (a failed enrichment run, no scratch database)."""


class EvalInputError(EvalError):
    """The evaluation was asked something it cannot do: an unreadable or malformed file, an unknown
    sample id, a bad option (the CLI exits 2, as for every bad input)."""


def read_locomo(path: Path) -> list[Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalInputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: not JSON ({exc})") from None
    return data if isinstance(data, list) else [data]


def load_samples(path: Path, sample_ids: Sequence[str] | None = None) -> list[LocomoSample]:
    """The samples of a LoCoMo-format file (all, or those named, in the order named)."""
    raw = read_locomo(path)
    by_id: dict[str, Any] = {}
    for i, r in enumerate(raw):
        if not isinstance(r, dict) or "sample_id" not in r:
            raise EvalInputError(f"{path}: element {i} is not a LoCoMo sample (no sample_id)")
        by_id[str(r["sample_id"])] = r
    if sample_ids:
        missing = [s for s in sample_ids if s not in by_id]
        if missing:
            raise EvalInputError(f"{path}: no sample {', '.join(missing)} (has: {', '.join(by_id)})")
        chosen = [by_id[s] for s in dict.fromkeys(sample_ids)]
    else:
        chosen = list(by_id.values())
    try:
        return [parse_sample(r) for r in chosen]
    except LocomoFormatError as exc:
        raise EvalInputError(str(exc)) from None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dataset_report(path: Path, samples: Sequence[LocomoSample]) -> dict[str, Any]:
    """The report's `dataset` block: which file (by hash) and what each sample holds."""
    return {
        "file": str(Path(path).resolve()), "sha256": file_sha256(path),
        "samples": [{"sample_id": s.sample_id, "speakers": list(s.speakers), "sessions": len(s.sessions),
                     "turns": sum(len(x.turns) for x in s.sessions),
                     "gold_facts": sum(len(v) for x in s.sessions for v in x.observations.values()),
                     "qa": len(s.qa), "problems": s.problems} for s in samples],
        "license": "LoCoMo is CC BY-NC 4.0: evaluation only, never redistributed with the package",
    }
