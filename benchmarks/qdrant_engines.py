"""Benchmark the two embedded Qdrant engines on chat-message shaped data.

Engines:
  * ``qdrant_edge``  - ``qdrant_edge.EdgeShard`` (package qdrant-edge-py), in process;
  * ``qdrant_local`` - ``qdrant_client.QdrantClient(path=...)`` local mode.

Data: N points with 384-d random, normalised float32 vectors and a chat-message
payload (message_id, bot_name [5 bots], user_id [20 per bot], role, content,
timestamp, ts, day [100 days], enrichment_status [1% "pending"]).  Keyword
indexes on bot_name, user_id, day, enrichment_status and an integer index on ts
are created before loading (local mode ignores them).  The data are generated
from a fixed seed, so every engine gets the same points.

Measured per engine and N:
  * bulk upsert throughput, batches of 256 points (data generation excluded);
  * open time of the existing storage: close, then reopen; median of 3;
  * filtered scroll of one bot-day (bot_name AND day, every point of that
    day, payload, no vectors): p50 / p99 over 50 different bot-days;
  * exact filtered count of the pending points of one bot: p50.

Local mode upserts ~1k points/s and scans every point per query, so for
N above the smallest one it only runs when the estimate from the smaller run is
under ``--local-max-minutes``; otherwise it is recorded as "skipped" with the
extrapolated figures.

Run (from the repository root):
    python benchmarks/qdrant_engines.py                     # N = 100k and 1M
    python benchmarks/qdrant_engines.py --points 10000      # quick version
One JSON object goes to stdout, progress to stderr.  Storage lives in a temp
directory under /tmp that is removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from importlib import metadata

import numpy as np

DIM = 384
BATCH = 256
N_BOTS = 5
USERS_PER_BOT = 20
N_DAYS = 100
PENDING_FRACTION = 0.01
SCROLL_QUERIES = 50
SCROLL_PAGE = 10_000  # qdrant_edge's ScrollRequest defaults to limit=10, so always set it
COUNT_REPEATS = 20
OPEN_REPEATS = 3
SEED = 20240601
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
BOTS = [f"bot_{i}" for i in range(N_BOTS)]
WORDS = (
    "hello there how was your day i went to the market and bought some fresh bread "
    "we talked about music movies travel plans the weather work and my sister's new dog "
    "remember that i like coffee in the morning tea at night and long walks by the river"
).split()
KEYWORD_FIELDS = ("bot_name", "user_id", "day", "enrichment_status")
INTEGER_FIELDS = ("ts",)
COLLECTION = "messages"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


def batches(n: int):
    """Yield (ids, vectors as lists, payloads) in batches of BATCH; same seed every call."""
    rng = np.random.default_rng(SEED)
    prng = random.Random(SEED)
    span_ms = N_DAYS * 86_400_000
    start_ms = int(START.timestamp() * 1000)
    for lo in range(0, n, BATCH):
        m = min(BATCH, n - lo)
        vec = rng.standard_normal((m, DIM), dtype=np.float32)
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        ids, payloads = [], []
        for i in range(m):
            mid = str(uuid.UUID(int=prng.getrandbits(128), version=4))
            bot = BOTS[prng.randrange(N_BOTS)]
            ts = start_ms + prng.randrange(span_ms)
            when = dt.datetime.fromtimestamp(ts / 1000, tz=dt.timezone.utc)
            words = []
            while sum(len(w) + 1 for w in words) < 60:
                words.append(prng.choice(WORDS))
            ids.append(mid)
            payloads.append(
                {
                    "message_id": mid,
                    "bot_name": bot,
                    "user_id": f"{bot}-user-{prng.randrange(USERS_PER_BOT):02d}",
                    "role": "user" if (lo + i) % 2 == 0 else "bot",
                    "content": " ".join(words)[:60],
                    "timestamp": when.isoformat(),
                    "ts": ts,
                    "day": when.strftime("%Y-%m-%d"),
                    "enrichment_status": "pending" if prng.random() < PENDING_FRACTION else "completed",
                }
            )
        yield ids, vec.tolist(), payloads


def query_plan() -> tuple[list[tuple[str, str]], list[str]]:
    """50 distinct (bot, day) pairs and the bots for the pending counts, fixed by seed."""
    prng = random.Random(SEED + 1)
    days = [(START + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(N_DAYS)]
    bot_days = prng.sample([(b, d) for b in BOTS for d in days], SCROLL_QUERIES)
    count_bots = [BOTS[i % N_BOTS] for i in range(COUNT_REPEATS)]
    return bot_days, count_bots


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def disk_mb(path: str) -> tuple[float, float]:
    """(allocated MB like `du`, apparent MB) - qdrant_edge preallocates sparse mmap files."""
    used = apparent = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                st = os.stat(os.path.join(root, f))
            except OSError:
                continue
            used += st.st_blocks * 512
            apparent += st.st_size
    return round(used / 2**20, 1), round(apparent / 2**20, 1)


# --------------------------------------------------------------------------- engines


class EdgeEngine:
    name = "qdrant_edge"

    def __init__(self, path: str):
        import qdrant_edge as qe

        self.qe = qe
        self.path = path
        self.config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine))
        self.shard = None

    def create(self) -> None:
        qe = self.qe
        self.shard = qe.EdgeShard.create(self.path, self.config)
        for f in KEYWORD_FIELDS:
            self.shard.update(qe.UpdateOperation.create_field_index(f, qe.PayloadSchemaType.Keyword))
        for f in INTEGER_FIELDS:
            self.shard.update(qe.UpdateOperation.create_field_index(f, qe.PayloadSchemaType.Integer))

    def upsert(self, ids, vectors, payloads) -> None:
        qe = self.qe
        pts = [qe.Point(i, v, p) for i, v, p in zip(ids, vectors, payloads)]
        self.shard.update(qe.UpdateOperation.upsert_points(pts))

    def flush(self) -> None:
        self.shard.flush()

    def close(self) -> None:
        self.shard.close()
        self.shard = None

    def open(self) -> None:
        self.shard = self.qe.EdgeShard.load(self.path, self.config)
        self.shard.info()

    def _filter(self, **match):
        qe = self.qe
        return qe.Filter(must=[qe.FieldCondition(key=k, match=qe.MatchValue(v)) for k, v in match.items()])

    def scroll_bot_day(self, bot: str, day: str) -> int:
        qe = self.qe
        flt = self._filter(bot_name=bot, day=day)
        n, offset = 0, None
        while True:
            recs, offset = self.shard.scroll(
                qe.ScrollRequest(offset=offset, limit=SCROLL_PAGE, filter=flt, with_payload=True, with_vector=False)
            )
            n += len(recs)
            if offset is None:
                return n

    def count_pending(self, bot: str) -> int:
        qe = self.qe
        return self.shard.count(qe.CountRequest(exact=True, filter=self._filter(bot_name=bot, enrichment_status="pending")))

    def extra(self) -> dict:
        info = self.shard.info()
        return {
            "segments_count": info.segments_count,
            "indexed_vectors_count": info.indexed_vectors_count,
            "payload_index_points": {k: v.points for k, v in sorted(info.payload_schema.items())},
        }


class LocalEngine:
    name = "qdrant_local"

    def __init__(self, path: str):
        import warnings

        from qdrant_client import QdrantClient, models

        # Emitted on every upsert/open above 20k points; the benchmark knows.
        warnings.filterwarnings("ignore", message="Local mode is not recommended")
        self.QdrantClient = QdrantClient
        self.models = models
        self.path = path
        self.client = None

    def create(self) -> None:
        import warnings

        m = self.models
        self.client = self.QdrantClient(path=self.path)
        self.client.create_collection(COLLECTION, vectors_config=m.VectorParams(size=DIM, distance=m.Distance.COSINE))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Payload indexes have no effect in the local Qdrant"
            for f in KEYWORD_FIELDS:
                self.client.create_payload_index(COLLECTION, f, m.PayloadSchemaType.KEYWORD)
            for f in INTEGER_FIELDS:
                self.client.create_payload_index(COLLECTION, f, m.PayloadSchemaType.INTEGER)

    def upsert(self, ids, vectors, payloads) -> None:
        m = self.models
        pts = [m.PointStruct(id=i, vector=v, payload=p) for i, v, p in zip(ids, vectors, payloads)]
        self.client.upsert(COLLECTION, points=pts, wait=True)

    def flush(self) -> None:  # every upsert is already committed to SQLite
        pass

    def close(self) -> None:
        self.client.close()
        self.client = None

    def open(self) -> None:
        self.client = self.QdrantClient(path=self.path)
        self.client.get_collection(COLLECTION)

    def _filter(self, **match):
        m = self.models
        return m.Filter(must=[m.FieldCondition(key=k, match=m.MatchValue(value=v)) for k, v in match.items()])

    def scroll_bot_day(self, bot: str, day: str) -> int:
        flt = self._filter(bot_name=bot, day=day)
        n, offset = 0, None
        while True:
            recs, offset = self.client.scroll(
                COLLECTION, scroll_filter=flt, limit=SCROLL_PAGE, offset=offset, with_payload=True, with_vectors=False
            )
            n += len(recs)
            if offset is None:
                return n

    def count_pending(self, bot: str) -> int:
        flt = self._filter(bot_name=bot, enrichment_status="pending")
        return self.client.count(COLLECTION, count_filter=flt, exact=True).count

    def extra(self) -> dict:
        return {}


ENGINES = {"qdrant_edge": EdgeEngine, "qdrant_local": LocalEngine}


# --------------------------------------------------------------------------- measurement


def run(engine_name: str, n: int, root: str) -> dict:
    path = tempfile.mkdtemp(prefix=f"{engine_name}_{n}_", dir=root)
    eng = ENGINES[engine_name](path)
    res: dict = {"engine": engine_name, "points": n, "status": "ok"}
    try:
        log(f"{engine_name} N={n}: create + indexes")
        eng.create()

        upsert_s, gen_start, done = 0.0, time.perf_counter(), 0
        for ids, vectors, payloads in batches(n):
            t0 = time.perf_counter()
            eng.upsert(ids, vectors, payloads)
            upsert_s += time.perf_counter() - t0
            done += len(ids)
            if done % (BATCH * 400) < BATCH:
                log(f"  upserted {done}/{n} ({done / upsert_s:.0f} points/s)")
        wall_s = time.perf_counter() - gen_start
        t0 = time.perf_counter()
        eng.flush()
        flush_s = time.perf_counter() - t0
        res["upsert_points_per_s"] = round(n / upsert_s, 1)
        res["upsert_s"] = round(upsert_s, 2)
        res["flush_s"] = round(flush_s, 3)
        res["load_wall_s_incl_data_generation"] = round(wall_s, 2)
        log(f"  upsert {res['upsert_points_per_s']} points/s, flush {flush_s:.3f}s")

        open_times = []
        for _ in range(OPEN_REPEATS):
            eng.close()
            t0 = time.perf_counter()
            eng.open()
            open_times.append(time.perf_counter() - t0)
        res["open_ms_p50"] = ms(statistics.median(open_times))
        res["open_ms_all"] = [ms(t) for t in open_times]
        log(f"  open median {res['open_ms_p50']} ms")

        bot_days, count_bots = query_plan()
        scroll_times, returned = [], []
        for bot, day in bot_days:
            t0 = time.perf_counter()
            returned.append(eng.scroll_bot_day(bot, day))
            scroll_times.append(time.perf_counter() - t0)
        res["scroll_bot_day_ms_p50"] = ms(pct(scroll_times, 50))
        res["scroll_bot_day_ms_p99"] = ms(pct(scroll_times, 99))
        res["scroll_bot_day_first_after_open_ms"] = ms(scroll_times[0])
        res["scroll_bot_day_points_mean"] = round(statistics.mean(returned), 1)
        res["scroll_bot_day_points_total"] = sum(returned)
        log(f"  scroll p50 {res['scroll_bot_day_ms_p50']} ms p99 {res['scroll_bot_day_ms_p99']} ms")

        count_times, counts = [], {}
        for bot in count_bots:
            t0 = time.perf_counter()
            counts[bot] = eng.count_pending(bot)
            count_times.append(time.perf_counter() - t0)
        res["count_pending_bot_ms_p50"] = ms(pct(count_times, 50))
        res["count_pending_per_bot"] = counts
        log(f"  count p50 {res['count_pending_bot_ms_p50']} ms")

        res.update(eng.extra())
        eng.flush()
        res["storage_mb"], res["storage_apparent_mb"] = disk_mb(path)
    except Exception as exc:  # keep the other runs' figures
        res["status"] = "error"
        res["error"] = f"{type(exc).__name__}: {exc}"
        log(f"  ERROR {res['error']}")
    finally:
        try:
            if (getattr(eng, "shard", None) or getattr(eng, "client", None)) is not None:
                eng.close()
        except Exception:
            pass
        shutil.rmtree(path, ignore_errors=True)
    return res


def estimate_local_seconds(small: dict, n: int) -> dict:
    """Extrapolate a local-mode run to n points from a finished smaller run (linear in N)."""
    k = n / small["points"]
    upsert = n / small["upsert_points_per_s"]
    opens = OPEN_REPEATS * small["open_ms_p50"] / 1000 * k
    scrolls = SCROLL_QUERIES * small["scroll_bot_day_ms_p50"] / 1000 * k
    counts = COUNT_REPEATS * small["count_pending_bot_ms_p50"] / 1000 * k
    return {
        "estimated_total_minutes": round((upsert + opens + scrolls + counts) / 60, 1),
        "estimated_upsert_minutes": round(upsert / 60, 1),
        "estimated_open_ms": round(small["open_ms_p50"] * k, 1),
        "estimated_scroll_bot_day_ms_p50": round(small["scroll_bot_day_ms_p50"] * k, 1),
        "estimated_count_pending_bot_ms_p50": round(small["count_pending_bot_ms_p50"] * k, 1),
        "extrapolated_from_points": small["points"],
    }


def machine_info() -> dict:
    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    info = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {p: version(p) for p in ("qdrant-edge-py", "qdrant-client", "numpy")},
    }
    if hasattr(os, "getloadavg"):
        info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    try:
        with open("/proc/meminfo") as fh:
            info["mem_total_gb"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", default="100000,1000000", help="comma separated N values (default: 100000,1000000)")
    ap.add_argument("--engines", default="qdrant_edge,qdrant_local", help="comma separated subset of: " + ",".join(ENGINES))
    ap.add_argument(
        "--local-max-minutes",
        type=float,
        default=25.0,
        help="run local mode at a larger N only if extrapolated to finish within this (default 25)",
    )
    args = ap.parse_args()
    sizes = sorted({int(x.replace("_", "")) for x in args.points.split(",") if x.strip()})
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINES:
            ap.error(f"unknown engine {e!r}")

    out = {"machine": machine_info(), "results": []}
    started = time.perf_counter()
    root = tempfile.mkdtemp(prefix="qdrant_engines_bench_", dir="/tmp")
    try:
        last_local: dict | None = None
        for n in sizes:
            for engine in engines:
                if engine == "qdrant_local" and n != sizes[0]:
                    if last_local is None or last_local.get("status") != "ok":
                        out["results"].append(
                            {"engine": engine, "points": n, "status": "skipped",
                             "reason": "smaller local-mode run did not complete"}
                        )
                        continue
                    est = estimate_local_seconds(last_local, n)
                    if est["estimated_total_minutes"] > args.local_max_minutes:
                        reason = (
                            f"extrapolated run time {est['estimated_total_minutes']} min exceeds "
                            f"{args.local_max_minutes} min (local mode upserts row by row into SQLite "
                            "and scans every point per query, so costs grow linearly with N)"
                        )
                        log(f"{engine} N={n}: skipped, {reason}")
                        out["results"].append({"engine": engine, "points": n, "status": "skipped", "reason": reason, **est})
                        continue
                res = run(engine, n, root)
                out["results"].append(res)
                if engine == "qdrant_local":
                    last_local = res
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out["total_runtime_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
