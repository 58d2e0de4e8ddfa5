"""Scoring the windowed summaries against LoCoMo's session summaries: per session, both speakers'
summaries of that day (speaker_a first) against `session_N_summary`, by ROUGE-L F1 and cosine."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Sequence

import numpy as np

from whisper_assets.interfaces.evaluation import metrics
from whisper_assets.memory.locomo_format import LocomoSample


@dataclass
class SummaryRow:
    sample: str
    session: int
    day: date  # the first day of the session's turns
    predicted: str  # our summaries of that day, "" when there are none
    gold: str
    rouge_l_f1: float = 0.0
    cosine: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"sample": self.sample, "session": self.session, "day": self.day.isoformat(),
                "predicted": self.predicted, "gold": self.gold, "rouge_l_f1": self.rouge_l_f1, "cosine": self.cosine}


@dataclass
class SummaryEval:
    samples: list[str]
    rows: list[SummaryRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": _block(self.rows),
            "by_sample": {s: _block([r for r in self.rows if r.sample == s]) for s in self.samples},
            "sessions": [r.as_dict() for r in self.rows],
        }


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _block(rows: list[SummaryRow]) -> dict[str, Any]:
    return {"sessions": len(rows), "missing": sum(not r.predicted for r in rows),
            "rouge_l_f1": _mean([r.rouge_l_f1 for r in rows]), "cosine": _mean([r.cosine for r in rows]),
            "predicted_words": _mean([len(r.predicted.split()) for r in rows]),
            "gold_words": _mean([len(r.gold.split()) for r in rows])}


def evaluate_summaries(
    engine: Any, samples: Sequence[LocomoSample], encode: Callable[[list[str]], np.ndarray],
) -> SummaryEval:
    from whisper_assets.stores.repository.memories import list_summaries

    rows = []
    for sample in samples:
        by_day: dict[tuple[str, date], list[str]] = defaultdict(list)
        with engine.connect() as conn:
            for speaker in sample.speakers:
                for s in list_summaries(conn, sample.sample_id, speaker, limit=10_000):
                    by_day[(speaker, s.day)].append(s.text)
        for session in sample.sessions:
            if not session.summary:
                continue
            # The day(s) of the session's turns (a session that starts just before midnight spans two).
            days = sorted({t.timestamp.date() for t in session.turns} or {session.date_time.date()})
            ours = " ".join(t for speaker in sample.speakers for day in days for t in by_day.get((speaker, day), []))
            rows.append(SummaryRow(sample.sample_id, session.number, days[0], ours, session.summary))
    if rows:
        vectors = encode([r.predicted or " " for r in rows] + [r.gold for r in rows])
    for i, r in enumerate(rows):
        if r.predicted:
            r.rouge_l_f1 = metrics.rouge_l_f1(r.predicted, r.gold)
            r.cosine = metrics.cosine(vectors[i], vectors[len(rows) + i])
    return SummaryEval([s.sample_id for s in samples], rows)
