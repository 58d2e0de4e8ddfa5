"""Time one LoCoMo conversation through `whisper-assets eval locomo` (offline backend), printing JSON.

The whole evaluation runs as the CLI runs it: a temporary workspace (embedded Qdrant; a scratch
database on DATABASE_URL's server, or an embedded PostgreSQL when it is unset), ingest through the
hot path, one Dagster run per bot-day, facts/summaries/retrieval measured, report written.
Target: <= 60 s for one conversation on this 2-core machine. The clock covers everything after
the Python imports, including loading the embedding model; the load average is recorded because
other processes on a shared machine slow every phase.

Only numbers are printed: no LoCoMo text (CC BY-NC) ends up in the results file.

    .venv/bin/python benchmarks/eval_locomo.py [--file locomo_dev.json] [--sample conv-26] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whisper_assets.core.embedding import get_embedder  # noqa: E402
from whisper_assets.interfaces.evaluation.locomo import evaluate  # noqa: E402
from whisper_assets.interfaces.evaluation.report import headline, write_report  # noqa: E402
from whisper_assets.interfaces.evaluation.samples import load_samples  # noqa: E402
from whisper_assets.core.settings import load_settings  # noqa: E402

DEFAULT_FILE = Path(os.environ.get("WHISPER_LOCOMO_FILE", "/work/shared/eval/locomo/locomo_dev.json"))
TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--sample", default="conv-26")
    parser.add_argument("--out", type=Path, default=None, help="report directory (default: a temporary one)")
    args = parser.parse_args()

    sample = load_samples(args.file, [args.sample])[0]
    load_before = os.getloadavg()
    out = args.out or Path(tempfile.mkdtemp(prefix="eval-locomo-bench-"))
    t = time.perf_counter()
    settings = load_settings()
    get_embedder(settings.torch_threads)
    model_load_s = time.perf_counter() - t
    result = evaluate(args.file, [args.sample], settings=settings, backend="offline")
    write_report(result, out)
    total = time.perf_counter() - t
    h = headline(result)
    print(json.dumps({
        "benchmark": "eval_locomo",
        "sample": args.sample,
        "sessions": len(sample.sessions),
        "turns": sum(len(s.turns) for s in sample.sessions),
        "qa_evaluated": h["questions"],
        "backend": "offline",
        "postgres": "scratch database on DATABASE_URL's server" if settings.database_url else "embedded",
        "seconds": round(total, 2),
        "target_seconds": TARGET_S,
        "within_target": total <= TARGET_S,
        "phases_s": result["run"]["timings_s"],
        "dagster_runs": result["run"]["dagster_runs"],
        "model_load_s": round(model_load_s, 2),
        "metrics": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items() if k != "seconds"},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m_before": round(load_before[0], 2), "load_avg_1m_after": round(os.getloadavg()[0], 2)},
    }, indent=2))


if __name__ == "__main__":
    main()
