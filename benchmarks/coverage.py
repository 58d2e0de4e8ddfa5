"""Partition coverage as the Dagster UI shows it (issue 14, item 3), printed as JSON.

    .venv/bin/python benchmarks/coverage.py corpus  [--first-day 2026-11-01] [--database-url URL]
    .venv/bin/python benchmarks/coverage.py locomo  [--first-day 2023-01-01] [--file /work/shared/eval/locomo/locomo_dev.json]

On a temporary data dir: `whisper-assets ingest` + `whisper-assets enrich` (offline backend), then
`whisper-assets dev` on a free port; through GraphQL, each bot x day asset's partitionStats
(numMaterialized / numPartitions: the UI's "N partitions, X% filled") and the latency of the
partitions page's queries; then record_empty_days_job (what the 01:00 UTC schedule runs) and the
same figures again. --screenshot PNG saves the asset's partitions page after (Debian chromium).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from screenshots import (  # noqa: E402
    CHROMIUM_FLAGS, FOREIGN, dismiss_community_dialog, free_port, gql, stop, wait_until_served, whisper,
)

ASSETS = ["pending_messages", "extracted_facts", "windowed_summaries", "user_facts", "summary_embeddings",
          "completed_messages"]
STATS = """{ assetNodes { assetKey { path } partitionStats { numMaterialized numPartitions numFailed } } }"""
# What the partitions page asks for (PartitionHealthQuery, reduced): the keys and the status ranges.
HEALTH = """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode {
  partitionKeysByDimension { name partitionKeys }
  assetPartitionStatuses { ... on MultiPartitionStatuses { primaryDimensionName ranges {
    primaryDimStartKey primaryDimEndKey secondaryDim { ... on DefaultPartitionStatuses {
      materializedPartitions failedPartitions materializingPartitions } } } } } } } }"""


def stats(url: str) -> dict[str, dict[str, int]]:
    nodes = gql(url, STATS)["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n["partitionStats"] for n in nodes
            if "/".join(n["assetKey"]["path"]) in ASSETS}


def latency_ms(url: str, repeat: int) -> dict[str, float]:
    out = {}
    for name, query, variables in (("partitionStats_all_assets", STATS, None),
                                    ("partitions_page_extracted_facts", HEALTH, {"path": ["extracted_facts"]})):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            gql(url, query, variables)
            times.append((time.perf_counter() - t) * 1000)
        out[name] = round(statistics.median(times), 1)
    return out


def fill(figures: dict[str, dict[str, int]]) -> dict[str, str]:
    return {a: f"{s['numMaterialized']}/{s['numPartitions']} = {100 * s['numMaterialized'] / s['numPartitions']:.1f}%"
            for a, s in sorted(figures.items())}


def run(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd[2:])} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return round(time.perf_counter() - t, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=["corpus", "locomo"])
    parser.add_argument("--first-day", help="WHISPER_FIRST_DAY (default: the settings' default)")
    parser.add_argument("--file", default="/work/shared/eval/locomo/locomo_dev.json")
    parser.add_argument("--database-url")
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--repeat", type=int, default=5, help="queries per latency figure (the median)")
    parser.add_argument("--skip-record", action="store_true", help="only the figures before (no record_empty_days_job)")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="whisper-coverage-"))
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN and k != "WHISPER_FIRST_DAY"}
    env.update({"WHISPER_DATA_DIR": str(data_dir / "whisper"), "WHISPER_LLM_BACKEND": "offline",
                "DAGSTER_DISABLE_TELEMETRY": "1"})
    if args.first_day:
        env["WHISPER_FIRST_DAY"] = args.first_day
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    source = str(ROOT / "whisper_assets" / "data" / "sample_corpus.jsonl") if args.case == "corpus" else args.file
    report: dict = {"case": args.case, "first_day": args.first_day or "default"}
    dev = None
    try:
        report["ingest_s"] = run(whisper("ingest", source), env)
        report["enrich_s"] = run(whisper("enrich"), env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = data_dir / "dev.log"
        with log_path.open("wb") as sink:
            dev = subprocess.Popen(whisper("dev", "--port", str(port)), env=env, cwd=ROOT, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        wait_until_served(url, dev, log_path)
        dismiss_community_dialog(url)
        gql(url, STATS)  # warm the status cache, as a first page view would
        report["before"] = {"fill": fill(stats(url)), "latency_ms": latency_ms(url, args.repeat)}
        if args.skip_record:
            return
        code = ("from whisper_assets.defs.runs import record_empty_days; o = record_empty_days(); "
                "print(o.success, o.error)")
        report["record_empty_days_s"] = run([sys.executable, "-c", code], env)
        gql(url, STATS)
        report["after"] = {"fill": fill(stats(url)), "latency_ms": latency_ms(url, args.repeat)}
        if args.screenshot:
            chromium = shutil.which("chromium") or shutil.which("chromium-browser")
            page = f"{url}/assets/extracted_facts?view=partitions"
            subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={data_dir / 'profile'}",
                            f"--screenshot={args.screenshot.resolve()}", page], capture_output=True, timeout=180)
            report["screenshot"] = str(args.screenshot)
    finally:
        if dev is not None:
            stop(dev)
        shutil.rmtree(data_dir, ignore_errors=True)
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
