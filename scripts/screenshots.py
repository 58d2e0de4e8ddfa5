"""Screenshots of the Dagster UI for the README (issue 14, item 6): docs/screenshots/*.png.

    .venv/bin/python scripts/screenshots.py            # all four, into docs/screenshots/
    .venv/bin/python scripts/screenshots.py --out DIR  # elsewhere

What it does, on a temporary data dir (nothing of yours is read or written):
1. `whisper-assets demo`: the sample corpus ingested and every bot-day enriched (offline LLM backend;
   embedded PostgreSQL unless --database-url is given), with WHISPER_FIRST_DAY the first of the corpus's
   first month; then record_empty_days_job (what the 01:00 UTC schedule runs), so the partitions page
   shows the coverage of a processed deployment: every day up to yesterday filled; then
   `whisper-assets backfill` of the corpus's days, so that, as in a deployment's steady state, each
   asset's latest materialization is an enrichment run's, whose check results the check page shows
   (checks are not partitioned: after the empty days were recorded they would read "Not evaluated");
2. `whisper-assets dev` on 127.0.0.1 and a free port (webserver, daemon, code server);
3. marks the "Join the Dagster community" dialog as seen through the webserver's own GraphQL
   mutation (`setNuxSeen`, what the dialog's Skip button calls): a fresh instance shows it over
   every page opened from 127.0.0.1;
4. Debian's `chromium` (apt-get install -y chromium; no browser download), headless, screenshots
   the asset lineage, one asset's bot x day partitions, one asset check and one run;
5. stops every process it started and deletes the data dir.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
    "--window-size=1400,900", "--virtual-time-budget=20000",
]
# The developer's variables that would point the processes at other stores.
FOREIGN = ("DAGSTER_HOME", "QDRANT_URL", "QDRANT_API_KEY", "WHISPER_QDRANT_PATH", "DAGSTER_POSTGRES_URL",
           "DATABASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "WHISPER_LLM_BACKEND", "WHISPER_LLM_MODEL")
ASSET, CHECK = "extracted_facts", "FACT_CONFIDENCE"


def log(message: str) -> None:
    print(f"[screenshots] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url + "/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        answer = json.loads(r.read())
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


def whisper(*args: str) -> list[str]:
    return [sys.executable, "-m", "whisper_assets", *args]


def wait_until_served(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = 300) -> str:
    """Wait for the webserver and its code location; the location's name."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"`whisper-assets dev` exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            nodes = gql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
                        )["repositoriesOrError"].get("nodes")
            if nodes:
                return f"{nodes[0]['name']}@{nodes[0]['location']['name']}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, RuntimeError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"`whisper-assets dev` did not serve within {timeout_s:.0f} s:\n{log_path.read_text()[-4000:]}")


def latest_run(url: str) -> str:
    runs = gql(url, """{ runsOrError(filter: {pipelineName: "enrichment_job", statuses: [SUCCESS]}, limit: 1) {
                           ... on Runs { results { runId } } } }""")["runsOrError"]["results"]
    if not runs:
        raise SystemExit("no successful enrichment run to show: did `whisper-assets demo` enrich anything?")
    return runs[0]["runId"]


def a_materialized_partition(url: str, asset: str, run_id: str) -> str:
    """A partition (a 'bot|day' key) the enrichment run `run_id` materialized (not an empty day)."""
    events = gql(url, """query($run: ID!) { runOrError(runId: $run) {
                           ... on Run { assetMaterializations { assetKey { path } partition } } } }""",
                 {"run": run_id})["runOrError"]["assetMaterializations"]
    keys = [e["partition"] for e in events if e["assetKey"]["path"] == [asset] and e["partition"]]
    if not keys:
        raise SystemExit(f"no partition of {asset} materialized by run {run_id} to show")
    return keys[len(keys) // 2]


def corpus_days() -> tuple[date, date]:
    """The first and last day of the sample corpus's messages."""
    corpus = ROOT / "whisper_assets" / "data" / "sample_corpus.jsonl"
    days = [json.loads(line)["timestamp"][:10] for line in corpus.read_text().splitlines() if line.strip()]
    return date.fromisoformat(min(days)), date.fromisoformat(max(days))


def dismiss_community_dialog(url: str) -> None:
    """The dialog shows while the server says `shouldShowNux`; its Skip button calls `setNuxSeen`."""
    gql(url, "mutation { setNuxSeen }")
    if gql(url, "{ shouldShowNux }")["shouldShowNux"]:
        raise SystemExit("the webserver still wants to show the community dialog after setNuxSeen")


def screenshot(chromium: str, page: str, png: Path, profile: Path) -> None:
    png.unlink(missing_ok=True)
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", page],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)
    if done.returncode != 0 or not png.exists():
        raise SystemExit(f"chromium failed on {page} ({done.returncode}):\n{done.stdout[-3000:]}")
    log(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: {png.stat().st_size // 1024} KB  <- {page}")


def stop(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM the whole process group (dagster dev and its children), SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--database-url", help="a PostgreSQL database to use (default: an embedded one in the "
                        "temporary data dir); the demo writes its rows there")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir (printed)")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("chromium not found: apt-get install -y chromium")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    data_dir = Path(tempfile.mkdtemp(prefix="whisper-screenshots-"))
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update({"WHISPER_DATA_DIR": str(data_dir / "whisper"), "WHISPER_LLM_BACKEND": "offline",
                "WHISPER_FIRST_DAY": str(corpus_days()[0].replace(day=1)), "DAGSTER_DISABLE_TELEMETRY": "1",
                "PYTHONUNBUFFERED": "1"})
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    dev: subprocess.Popen | None = None
    dev_log = data_dir / "dev.log"
    try:
        # The demo first: with nothing pending, the sensor of `dev` starts no run of its own.
        log(f"whisper-assets demo on {data_dir}")
        demo = subprocess.run(whisper("demo"), env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=900)
        if demo.returncode != 0:
            raise SystemExit(f"`whisper-assets demo` failed ({demo.returncode}):\n{demo.stdout[-4000:]}")
        log("record_empty_days_job")
        code = "from whisper_assets.defs.runs import record_empty_days; o = record_empty_days(); assert o.success, o.error"
        empty = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=900)
        if empty.returncode != 0:
            raise SystemExit(f"record_empty_days_job failed:\n{empty.stdout[-4000:]}")
        first, last = corpus_days()
        log(f"whisper-assets backfill --from {first} --to {last}")
        again = subprocess.run(whisper("backfill", "--from", str(first), "--to", str(last)), env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
        if again.returncode != 0:
            raise SystemExit(f"`whisper-assets backfill` failed ({again.returncode}):\n{again.stdout[-4000:]}")

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with dev_log.open("wb") as sink:
            dev = subprocess.Popen(whisper("dev", "--port", str(port)), env=env, cwd=ROOT, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        location = wait_until_served(url, dev, dev_log)
        log(f"serving {url} ({location})")
        dismiss_community_dialog(url)
        run_id = latest_run(url)
        partition = urllib.parse.quote(a_materialized_partition(url, ASSET, run_id))
        # The UI's path of a code location: its name alone when the repository is the default one.
        repo, _, place = location.partition("@")
        location_path = urllib.parse.quote(place if repo == "__repository__" else location)

        pages = {
            "lineage": f"{url}/locations/{location_path}/asset-groups/enrichment",
            "partitions": f"{url}/assets/{ASSET}?view=partitions&partition={partition}",
            "check": f"{url}/assets/{ASSET}?view=checks&checkDetail={CHECK}",
            "run": f"{url}/runs/{run_id}",
        }
        profile = data_dir / "chromium-profile"
        for name, page in pages.items():
            screenshot(chromium, page, out / f"{name}.png", profile)
    finally:
        if dev is not None:
            stop(dev)
        if args.keep:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
