"""Both development sets through the evaluation (offline backend), side by side, printing JSON:
LoCoMo dev conversations (`whisper-assets eval locomo`) and a seeded sample of
Synthetic-Persona-Chat conversations (`whisper-assets eval spc`), with the gap (LoCoMo dev minus
SPC) of the fact metrics.

Each set runs as the CLI runs it: a temporary workspace (embedded Qdrant; a scratch database on
DATABASE_URL's server, or an embedded PostgreSQL when it is unset), ingest through the hot path,
Dagster runs per bot-day, then the measurements. Target: <= 60 s for one LoCoMo conversation on
this 2-core machine (`locomo.within_target`, only with one sample). The clock covers everything
after the Python imports, including loading the embedding model; the load average is recorded
because other processes on a shared machine slow every phase.

Only numbers and ids are printed: no LoCoMo (CC BY-NC) or SPC (CC BY 4.0) text ends up in the
results file.

    .venv/bin/python benchmarks/eval_locomo.py [--sample conv-26,conv-30] [--conversations 60] \\
        [--results benchmarks/results/eval_locomo.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whisper_assets.core.embedding import get_embedder  # noqa: E402
from whisper_assets.core.settings import load_settings, stores_not_opened  # noqa: E402
from whisper_assets.interfaces.evaluation import spc  # noqa: E402
from whisper_assets.interfaces.evaluation.combined import side_by_side, spc_headline  # noqa: E402
from whisper_assets.interfaces.evaluation.locomo import evaluate  # noqa: E402
from whisper_assets.interfaces.evaluation.report import headline, write_report  # noqa: E402
from whisper_assets.interfaces.evaluation.samples import load_samples  # noqa: E402
from whisper_assets.interfaces.evaluation.spc_run import evaluate_spc  # noqa: E402

DEFAULT_FILE = Path(os.environ.get("WHISPER_LOCOMO_FILE", "/work/shared/eval/locomo/locomo_dev.json"))
DEFAULT_SPC = Path(os.environ.get("WHISPER_SPC_FILE", "/work/shared/eval/spc/spc_valid.csv"))
TARGET_S = 60.0


def _round(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--sample", default="conv-26", help="comma-separated LoCoMo sample ids")
    parser.add_argument("--spc-file", type=Path, default=DEFAULT_SPC)
    parser.add_argument("--conversations", type=int, default=spc.DEFAULT_CONVERSATIONS,
                        help="SPC conversations (0: skip SPC)")
    parser.add_argument("--seed", type=int, default=spc.DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None, help="LoCoMo report directory (default: a temporary one)")
    parser.add_argument("--results", type=Path, default=None, help="also write the JSON to this file")
    args = parser.parse_args()

    ids = [s.strip() for s in args.sample.split(",") if s.strip()]
    samples = load_samples(args.file, ids)
    load_before = os.getloadavg()
    out = args.out or Path(tempfile.mkdtemp(prefix="eval-locomo-bench-"))
    t = time.perf_counter()
    settings = load_settings()
    get_embedder(settings.torch_threads)
    model_load_s = time.perf_counter() - t
    result = evaluate(args.file, ids, settings=settings, backend="offline")
    write_report(result, out)
    locomo_s = time.perf_counter() - t
    h = headline(result)
    report = {
        "benchmark": "eval_locomo",
        "commit": _commit(),
        "backend": "offline",
        "postgres": "scratch database on DATABASE_URL's server" if settings.database_url else "embedded",
        "locomo": {
            "samples": ids,
            "sessions": sum(len(s.sessions) for s in samples),
            "turns": sum(len(s.turns) for s in samples),
            "qa_evaluated": h["questions"],
            "seconds": round(locomo_s, 2),
            "target_seconds": TARGET_S,
            "within_target": locomo_s <= TARGET_S if len(ids) == 1 else None,
            "phases_s": result["run"]["timings_s"],
            "dagster_runs": result["run"]["dagster_runs"],
            "model_load_s": round(model_load_s, 2),
            "metrics": _round({k: v for k, v in h.items() if k != "seconds"}),
        },
    }
    if args.conversations > 0:
        t = time.perf_counter()
        spc_result = evaluate_spc(args.spc_file, args.conversations, settings=settings, seed=args.seed)
        report["spc"] = {
            "conversations": args.conversations, "seed": args.seed, "seconds": round(time.perf_counter() - t, 2),
            "phases_s": spc_result["run"]["timings_s"], "dagster_runs": spc_result["run"]["dagster_runs"],
            "metrics": _round({k: v for k, v in spc_headline(spc_result).items() if k != "seconds"}),
            "threshold_sensitivity": [_round(r) for r in spc_result["facts"]["threshold_sensitivity"]],
            "citation": "Synthetic-Persona-Chat, Jandaghi et al. 2023, CC BY 4.0",
        }
        report["side_by_side"] = {k: _round(v) for k, v in side_by_side(result, spc_result).items()}
    report["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                         "load_avg_1m_before": round(load_before[0], 2),
                         "load_avg_1m_after": round(os.getloadavg()[0], 2)}
    text = json.dumps(report, indent=2)
    if args.results:
        args.results.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    with stores_not_opened():  # temporary workspaces of its own: no notice about the default stores
        main()
