"""The offline fact extractor alone (no pipeline, no Dagster, no stores) on both development sets,
side by side, printing JSON: a fast loop for working on the extractor.

- LoCoMo dev: `extract_facts` on each session's turns (both speakers in one batch, as one day of
  one bot), scored by the evaluation's own fact metric (`facts.evaluate_facts`: "<speaker> <fact>"
  vs the gold observations, cosine >= 0.65, one-to-one).
- Synthetic-Persona-Chat: a seeded sample of conversations, `spc.offline_predictions` scored by
  `spc.score_spc_facts` (expressed persona sentences; precision a lower bound).

The pipeline's figures (`benchmarks/eval_locomo.py`, `whisper-assets eval all`) are the ones to
report; these differ slightly because the pipeline batches turns per user and day. Figures and
ids only: no evaluation text is printed.

    .venv/bin/python benchmarks/eval_spc.py [--conversations 100] [--seed 13]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whisper_assets.core.embedding import get_embedder  # noqa: E402
from whisper_assets.core.llm.offline_facts import Turn, extract_facts  # noqa: E402
from whisper_assets.interfaces.evaluation import spc  # noqa: E402
from whisper_assets.interfaces.evaluation.facts import PredictedFact, evaluate_facts  # noqa: E402
from whisper_assets.interfaces.evaluation.samples import load_samples  # noqa: E402

DEFAULT_LOCOMO = Path(os.environ.get("WHISPER_LOCOMO_FILE", "/work/shared/eval/locomo/locomo_dev.json"))
DEFAULT_SPC = Path(os.environ.get("WHISPER_SPC_FILE", "/work/shared/eval/spc/spc_valid.csv"))


def locomo_predictions(samples) -> dict[str, list[PredictedFact]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[PredictedFact]] = {}
    for sample in samples:
        facts = []
        for session in sample.sessions:
            turns = [Turn(t.dia_id, t.speaker, t.text) for t in session.turns]
            facts += [PredictedFact(f.user_id, session.number, f.category, f.fact, f.confidence,
                                    tuple(f.source_message_ids)) for f in extract_facts(turns)]
        out[sample.sample_id] = facts
    return out


def _round(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument("--spc", type=Path, default=DEFAULT_SPC)
    parser.add_argument("--conversations", type=int, default=spc.DEFAULT_CONVERSATIONS)
    parser.add_argument("--seed", type=int, default=spc.DEFAULT_SEED)
    args = parser.parse_args()

    encode = get_embedder().encode
    t = time.perf_counter()
    samples = load_samples(args.locomo)
    predictions = locomo_predictions(samples)
    extract_s = time.perf_counter() - t
    loco = evaluate_facts(samples, predictions, encode, spc.DEFAULT_THRESHOLD)
    at70 = loco.sensitivity.get(0.70)
    turns = sum(len(s.turns) for s in samples)
    locomo = _round({
        "samples": len(samples), "turns": turns, "predicted_facts": loco.counts.predicted,
        "facts_per_100_turns": 100 * loco.counts.predicted / turns if turns else None,
        "fact_precision": loco.counts.precision, "fact_recall": loco.counts.recall, "fact_f1": loco.counts.f1,
        "fact_precision@0.70": at70.precision if at70 else None, "fact_recall@0.70": at70.recall if at70 else None,
        "extract_s": extract_s, "seconds": time.perf_counter() - t,
    })
    t = time.perf_counter()
    convs = spc.sample_conversations(spc.load_spc(args.spc), args.conversations, args.seed)
    spc_predictions = spc.offline_predictions(convs)
    extract_s = time.perf_counter() - t
    scored = spc.score_spc_facts(convs, spc_predictions, encode)
    persona = _round({**scored.headline(), "extract_s": extract_s, "seconds": time.perf_counter() - t})
    gap = {k: (round(locomo[k] - persona[k], 4) if locomo.get(k) is not None and persona.get(k) is not None
               else None) for k in ("fact_precision", "fact_precision@0.70", "fact_recall", "fact_f1")}
    print(json.dumps({"benchmark": "eval_spc (extractor only)", "seed": args.seed, "locomo_dev": locomo,
                      "spc": persona, "gap_dev_minus_spc": gap}, indent=2))


if __name__ == "__main__":
    main()
