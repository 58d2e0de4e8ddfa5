"""Benchmark a year's backfill of one bot through Dagster, printing JSON.

One bot x 365 days x 200 messages a day (73,000 messages: user turn + bot reply pairs from 20
users, realistic chat lines) are stored through the hot path (`MessageWriter.store_messages`,
batches of 512, the real embedding model), then all 365 days are materialized with the offline
backend through `runs.materialize_days` (in-process runs of <= 31 days, the assets'
BackfillPolicy). Ingest and backfill are timed separately. Target: backfill <= 5 minutes.
Needs the PostgreSQL at 127.0.0.1:5432 (a scratch database is created and dropped).

    .venv/bin/python benchmarks/backfill.py [--days 365] [--per-day 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg  # noqa: E402

from whisper_assets.defs.resources import LLMResource, StoresResource  # noqa: E402
from whisper_assets.core.embedding import get_embedder  # noqa: E402
from whisper_assets.memory.hot_path import MessageIn, message_writer  # noqa: E402
from whisper_assets.defs.partitions import bots_partitions  # noqa: E402
from whisper_assets.core.run_plan import plan_runs  # noqa: E402
from whisper_assets.defs.runs import materialize_days  # noqa: E402
from whisper_assets.core.settings import load_settings  # noqa: E402
from whisper_assets.stores.postgres import get_engine  # noqa: E402
from whisper_assets.stores.qdrant import open_store  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chatgen import BOT, user_line  # noqa: E402
from scratch import scratch_workspace  # noqa: E402

BOT_NAME = "elena"
USERS = 20
FIRST = date(2025, 11, 1)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def generate(days: int, per_day: int, seed: int = 11) -> list[MessageIn]:
    """per_day/2 (user turn, bot reply) pairs a day from USERS users, in short conversations."""
    rng = random.Random(seed)
    out = []
    for d in range(days):
        day = FIRST + timedelta(days=d)
        t = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=7)
        for _ in range(per_day // 2):
            user = f"user_{rng.randrange(USERS)}"
            out.append(MessageIn(BOT_NAME, user, "user", user_line(rng), t))
            out.append(MessageIn(BOT_NAME, user, "bot", rng.choice(BOT), t + timedelta(seconds=20)))
            t += timedelta(seconds=rng.randint(60, 480))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=200)
    args = parser.parse_args()
    n = args.days * args.per_day

    report: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "dagster": metadata.version("dagster"),
                    "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "layout": f"1 bot x {args.days} days x {args.per_day} messages/day ({n:,} messages), {USERS} users, "
                  "user turn + bot reply pairs",
        "storage": {"qdrant": "a temporary directory", "postgres": "127.0.0.1:5432 scratch database"},
    }
    with scratch_workspace("whisper-backfill-") as (url, tmp):
        settings = load_settings(data_dir=tmp, database_url=url)
        t = time.perf_counter()
        get_embedder(settings.torch_threads)
        report["model_load_s"] = round(time.perf_counter() - t, 2)
        messages = generate(args.days, args.per_day)
        assert len(messages) == n
        log(f"ingesting {n:,} messages")
        t = time.perf_counter()
        with message_writer(settings) as writer:
            for i in range(0, n, 512):
                writer.store_messages(messages[i : i + 512])
        ingest_s = time.perf_counter() - t
        report["ingest"] = {"seconds": round(ingest_s, 1), "messages_per_min": round(n / ingest_s * 60),
                            "batch": 512, "path": "MessageWriter.store_messages (embed + upsert, store held open)"}
        log(f"ingest {ingest_s:.1f} s")

        days = [FIRST + timedelta(days=d) for d in range(args.days)]
        stores = StoresResource(data_dir=tmp, database_url=url)
        with dg.DagsterInstance.ephemeral() as instance:
            planned = plan_runs({BOT_NAME: days}, [BOT_NAME])
            log(f"backfilling {len(days)} days in {len(planned)} runs")
            t = time.perf_counter()
            outcomes = materialize_days({BOT_NAME: days}, instance=instance, stores=stores,
                                        llm=LLMResource(backend="offline"))
            backfill_s = time.perf_counter() - t
            run_s = []
            for o in outcomes:
                stats = instance.get_run_stats(o.run_id)
                run_s.append(round(stats.end_time - stats.start_time, 2))
            assert instance.get_dynamic_partitions(bots_partitions.name) == [BOT_NAME]
        failed = [(o.first_day.isoformat(), o.last_day.isoformat(), o.error) for o in outcomes if not o.success]
        log(f"backfill {backfill_s:.1f} s, {len(outcomes)} runs, {len(failed)} failed")

        with get_engine(settings).connect() as conn:
            rows = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("pending_messages", "fact_observations", "user_facts", "conversation_summaries",
                              "summary_embeddings", "enrichment_metadata")}
            days_done = conn.execute(sa.text(
                "SELECT count(DISTINCT day) FROM enrichment_metadata WHERE status = 'success'")).scalar_one()
        with open_store(settings) as store:
            pending_left = store.engine.count(store.messages, {"enrichment_status": "pending"})
            completed = store.engine.count(store.messages, {"enrichment_status": "completed"})
        report["backfill"] = {
            "seconds": round(backfill_s, 1),
            "runs": len(outcomes),
            "days_per_run": [(o.last_day - o.first_day).days + 1 for o in outcomes],
            "run_wall_s": run_s,
            "seconds_per_day": round(backfill_s / args.days, 3),
            "messages_per_min": round(n / backfill_s * 60),
            "failed_runs": failed,
            "days_succeeded": days_done,
            "points_completed": completed,
            "points_pending_after": pending_left,
            "rows": rows,
            "target_backfill<=300s": backfill_s <= 300 and not failed and pending_left == 0,
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
