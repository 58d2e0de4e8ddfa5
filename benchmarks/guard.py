"""The injection guard (core/llm/guard) on the hand-written labelled set: confusion matrices on the
dev half (where prototypes and thresholds were chosen) and the held-out half, and per-message latency.

    .venv/bin/python benchmarks/guard.py [--sweep] [--out benchmarks/results/guard.json]

Latency is measured two ways: as the pipeline calls it (the message's stored vector passed in, so
only disguised texts are embedded) and with no vector (every text embedded, the slow path). Each
call clears the guard's caches (scores, regex results) first. --sweep adds a grid of (hostile_min, margin) on dev.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.llm import guard
from whisper_assets.core.llm.guard import semantic

DATA = Path(__file__).resolve().parents[1] / "whisper_assets_tests" / "data" / "injection_labelled.jsonl"


def load() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def confusion(rows: list[dict], flagged: list[bool]) -> dict:
    flagged = [bool(f) for f in flagged]
    tp = sum(f and r["label"] == "hostile" for r, f in zip(rows, flagged))
    fp = sum(f and r["label"] == "benign" for r, f in zip(rows, flagged))
    fn = sum((not f) and r["label"] == "hostile" for r, f in zip(rows, flagged))
    tn = sum((not f) and r["label"] == "benign" for r, f in zip(rows, flagged))
    return {"n": len(rows), "TP": tp, "FP": fp, "TN": tn, "FN": fn,
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "false_positive_rate": round(fp / (fp + tn), 4) if fp + tn else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--show-errors", action="store_true", help="print misclassified dev rows to stderr")
    args = ap.parse_args()

    rows = load()
    embedder = get_embedder()
    semantic.prototype_matrices()
    vectors = embedder.encode([r["text"] for r in rows])  # what the pipeline has: vectors of the raw text

    results, by_layer, lat_vec, lat_novec = [], {"regex": 0, "paraphrase": 0}, [], []
    for row, vec in zip(rows, vectors):
        guard._cache.clear()
        guard.regex_reason.cache_clear()
        t0 = time.perf_counter()
        reason = guard.injection_reason(row["text"], vec)
        lat_vec.append(time.perf_counter() - t0)
        guard._cache.clear()
        guard.regex_reason.cache_clear()
        t0 = time.perf_counter()
        same = guard.injection_reason(row["text"])
        lat_novec.append(time.perf_counter() - t0)
        assert (reason is None) == (same is None), row
        results.append(reason)
        if reason is not None:
            by_layer["paraphrase" if reason == guard.PARAPHRASE_REASON else "regex"] += 1

    def halves(flags: list[bool]) -> dict:
        out = {}
        for split in ("dev", "heldout"):
            idx = [i for i, r in enumerate(rows) if r["split"] == split]
            out[split] = confusion([rows[i] for i in idx], [flags[i] for i in idx])
        return out

    flags = [r is not None for r in results]
    regex_only = [guard.regex_reason(r["text"]) is not None for r in rows]
    report = {
        "data": str(DATA.relative_to(DATA.parents[2])),
        "counts": {lab: sum(r["label"] == lab for r in rows) for lab in ("benign", "hostile")},
        "thresholds": {"hostile_min": semantic.HOSTILE_MIN, "margin": semantic.MARGIN,
                       "hostile_prototypes": len(semantic.HOSTILE_PROTOTYPES),
                       "benign_prototypes": len(semantic.BENIGN_PROTOTYPES)},
        "guard": halves(flags),
        "regex_layer_only": halves(regex_only),
        "flagged_by_layer": by_layer,
        "latency_ms": {
            "with_vector": {"p50": round(float(np.percentile(lat_vec, 50)) * 1e3, 3),
                            "p99": round(float(np.percentile(lat_vec, 99)) * 1e3, 3)},
            "without_vector": {"p50": round(float(np.percentile(lat_novec, 50)) * 1e3, 3),
                               "p99": round(float(np.percentile(lat_novec, 99)) * 1e3, 3)},
        },
        "embedder": embedder.backend,
        "cpu": platform.processor() or platform.machine(),
    }
    errors = {}
    for split in ("dev", "heldout"):
        errors[split] = sorted(f"{r['label']}/{r['kind']}" for r, f in zip(rows, flags)
                               if r["split"] == split and f != (r["label"] == "hostile"))
    report["misclassified_kinds"] = errors
    if args.show_errors:
        import sys
        for r, f, res in zip(rows, flags, results):
            if r["split"] == "dev" and f != (r["label"] == "hostile"):
                h, b = guard.paraphrase_scores(r["text"]) or (0, 0)
                print(f"{r['label']:7} {res!s:50} h={h:.3f} b={b:.3f} {r['text']!r}", file=sys.stderr)

    if args.sweep:
        scored = [guard.paraphrase_scores(r["text"], v) for r, v in zip(rows, vectors)]
        dev = [i for i, r in enumerate(rows) if r["split"] == "dev"]
        grid = []
        for hmin in np.arange(0.40, 0.71, 0.02):
            for margin in np.arange(-0.04, 0.17, 0.02):
                f = [regex_only[i] or (scored[i] is not None and semantic.is_paraphrase(*scored[i], hmin, margin))
                     for i in dev]
                c = confusion([rows[i] for i in dev], f)
                grid.append({"hostile_min": round(float(hmin), 2), "margin": round(float(margin), 2),
                             **{k: c[k] for k in ("TP", "FP", "FN", "recall", "false_positive_rate")}})
        report["dev_sweep"] = grid

    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
