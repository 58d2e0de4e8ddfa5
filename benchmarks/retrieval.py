"""Benchmark `recall()`: latency at 10,000 users, 1,000,000 facts and 300,000 summaries.

What it does, in one run (about 5 minutes on the 2-core box):

1. creates a scratch database on the local PostgreSQL (127.0.0.1:5432, user postgres; override with
   --admin-url), applies the migrations in sql/ (so it measures exactly the shipped indexes), and
   loads with COPY: 10 bots x 1,000 users; 100 facts per user (12 categories, 1-3 source ids);
   30 daily summaries per user on distinct days of the 90 before `now` (3-8 source ids) and a 384-d
   vector per summary. Rows are interleaved across users, as they accumulate in production (a
   user's facts sit on ~100 different heap pages, not one). Summary texts come from a pool of
   1,000 generated texts embedded with the real model; each summary's vector is its text's;
2. loads the same vectors and payloads (as `replace_summary_vectors` writes them) into an embedded
   Qdrant `summaries` collection (qdrant-edge) in /dev/shm;
3. runs >= 1,000 recalls for random users, interleaving the variants so machine noise hits all:
   (a) facts + time-range summaries (`semantic=False`) with questions that name a time or a
       category ("what did we talk about last week?", "what do you know about my job?"...);
   (b) + semantic search with topical questions, query embedding included, searched in Qdrant
       (store held open) and, the default without a store, ranked from Postgres vectors;
   (b') the same (user, question) with a precomputed query vector: (b) without the embedding;
   every timing covers `recall(...)` and `result.as_context()`;
4. reports p50/p90/p99/max, the embedding alone, the cost of embedding a user's 100 fact texts per
   query (why facts are routed by category and words instead), EXPLAIN of each statement and the
   indexes in use; drops the database and the Qdrant directory.

Run from the repository root:
    .venv/bin/python benchmarks/retrieval.py > benchmarks/results/retrieval.json
    .venv/bin/python benchmarks/retrieval.py --users 1000 --queries 200      # quick
JSON goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import io
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
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whisper_assets.embedding import EMBEDDING_MODEL, get_embedder  # noqa: E402
from whisper_assets.llm.schemas import Category  # noqa: E402
from whisper_assets.messages import epoch_ms  # noqa: E402
from whisper_assets.retrieval import embed_query, recall  # noqa: E402
from whisper_assets.settings import load_settings  # noqa: E402
from whisper_assets.stores.postgres import get_engine, upgrade  # noqa: E402
from whisper_assets.stores.qdrant import open_store  # noqa: E402

UTC = timezone.utc
NOW = datetime(2025, 11, 12, 15, 0, tzinfo=UTC)
TARGET_A_P99_MS = 20.0
TARGET_B_P99_MS = 30.0
POOL = 1000
BOTS = 10
FACTS_PER_USER = 100
SUMMARIES_PER_USER = 30
HISTORY_DAYS = 90

TIME_QUESTIONS = [
    "what did we talk about last week?",
    "what do you know about my job?",
    "what did I tell you yesterday?",
    "tell me about my pets",
    "what did we discuss two weeks ago?",
    "where do I live?",
    "what happened in October?",
    "anything about my family since the 3rd?",
    "what did we talk about this week?",
    "what do you remember from last month?",
    "what did we talk about on Monday?",
    "what are my hobbies?",
]
TOPIC_QUESTIONS = [
    "how is my marathon training going?",
    "did we talk about my new kitten?",
    "what did I say about cooking curry last week?",
    "remind me about the trip to Lisbon",
    "what was the problem with my boss at work?",
    "how is my sister's wedding planning going?",
    "what did I say about learning the guitar?",
    "any updates on my knee injury?",
    "what did we say about moving to a new apartment?",
    "which book was I reading in October?",
    "what did I think of the pottery class?",
    "how did my job interview go yesterday?",
]
TOPICS = [
    "training for a marathon", "a new kitten called Miso", "cooking a Thai curry", "a trip to Lisbon",
    "a conflict with their boss at work", "their sister's wedding plans", "learning the guitar",
    "a knee injury from running", "moving to a new apartment", "a mystery novel they are reading",
    "a pottery class", "a job interview at a hospital", "their dog's vet visit", "planting tomatoes",
    "a broken laptop", "a birthday party for their son", "learning Japanese", "a hiking weekend",
    "their grandmother's health", "saving money for a car", "a chess tournament", "a noisy neighbour",
    "a new vegan diet", "a concert they went to", "their night shifts as a nurse", "a camping trip",
    "painting the kitchen", "a podcast about history", "a cold they caught", "a promotion at work",
]
DETAILS = [
    "and felt optimistic", "and asked for advice", "and were worried about the cost", "and made a plan",
    "and joked about it", "and seemed tired", "and wanted to try again next week", "and shared photos",
]
FACT_TEMPLATES = {
    Category.OCCUPATION: "works as a {w}", Category.EMPLOYER: "works at {W} Corp",
    Category.EDUCATION: "studied {w} at university", Category.LOCATION: "lives in {W}ville",
    Category.TRAVEL: "visited {W} last year", Category.PET: "has a pet named {W}",
    Category.FAMILY: "has a cousin called {W}", Category.HOBBY: "enjoys {w} on weekends",
    Category.PREFERENCE: "favourite food is {w}", Category.HEALTH: "is allergic to {w}",
    Category.PLAN: "plans to learn {w}", Category.OTHER: "owns a {w} collection",
}
WORDS = ["nursing", "pottery", "ramen", "chess", "cello", "tango", "sushi", "kayaking", "peanuts", "gardening",
         "painting", "coding", "baking", "surfing", "violin", "origami", "hiking", "climbing", "tennis", "jazz"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float]) -> dict[str, float]:
    v = sorted(values)
    q = lambda p: v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]  # noqa: E731
    return {"n": len(v), "p50_ms": round(q(50), 3), "p90_ms": round(q(90), 3), "p99_ms": round(q(99), 3),
            "mean_ms": round(statistics.fmean(v), 3), "max_ms": round(v[-1], 3)}


def fake_uuid(a: int, b: int) -> str:
    return f"{a & 0xffffffff:08x}-{(a >> 32) & 0xffff:04x}-4{b & 0xfff:03x}-8000-{b:012x}"


def users(n_users: int) -> list[tuple[str, str]]:
    return [(f"bot{i % BOTS}", f"user_{i:05d}") for i in range(n_users)]


# -- loading -------------------------------------------------------------------------------------------

def copy(engine: sa.Engine, table: str, columns: str, chunks) -> int:
    raw = engine.raw_connection()
    total = 0
    try:
        cur = raw.cursor()
        for chunk in chunks:
            buf = io.StringIO("".join(chunk))
            cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)
            total += len(chunk)
        raw.commit()
    finally:
        raw.close()
    return total


def fact_chunks(pairs: list[tuple[str, str]], rng: random.Random, chunk: int = 100_000):
    cats = list(Category)
    rows: list[str] = []
    n = 0
    for k in range(FACTS_PER_USER):  # interleaved: fact k of every user, then fact k+1...
        for u, (bot, user) in enumerate(pairs):
            cat = cats[(u + k) % len(cats)] if k < 24 else rng.choice(cats)
            word = WORDS[(u * 7 + k) % len(WORDS)]
            text = FACT_TEMPLATES[cat].format(w=word, W=word.capitalize()) + f" (#{k})"
            last = NOW - timedelta(hours=rng.randint(1, 24 * HISTORY_DAYS))
            first = last - timedelta(hours=rng.randint(0, 24 * 30))
            ids = ",".join(fake_uuid(n, j) for j in range(rng.randint(1, 3)))
            rows.append(
                f"{user}\t{bot}\t{text}\t{cat.value}\t{rng.uniform(0.5, 1.0):.3f}\t{rng.randint(1, 5)}\t"
                f"{first.isoformat()}\t{last.isoformat()}\t{{{ids}}}\tbench-model\tv-bench\n"
            )
            n += 1
            if len(rows) == chunk:
                yield rows
                rows = []
    if rows:
        yield rows


def summary_days(rng: random.Random) -> list[date]:
    return sorted(NOW.date() - timedelta(days=d) for d in rng.sample(range(0, HISTORY_DAYS), SUMMARIES_PER_USER))


def summary_chunks(pairs, days_of, texts, chunk: int = 50_000):
    rows: list[str] = []
    sid = 0
    for j in range(SUMMARIES_PER_USER):
        for bot, user in pairs:
            sid += 1
            day = days_of[user][j]
            start = datetime.combine(day, dtime(0), tzinfo=UTC)
            ids = ",".join(fake_uuid(10**9 + sid, k) for k in range(3 + sid % 6))
            rows.append(
                f"{sid}\t{user}\t{bot}\t{day.isoformat()}\t{start.isoformat()}\t"
                f"{(start + timedelta(days=1)).isoformat()}\t{texts[sid % POOL]}\t{{chat}}\t{2 * (3 + sid % 6)}\t"
                f"{{{ids}}}\tbench-model\tv-bench\n"
            )
            if len(rows) == chunk:
                yield rows
                rows = []
    if rows:
        yield rows


def pool_texts(rng: random.Random) -> list[str]:
    out = []
    for i in range(POOL):
        a, b = rng.sample(TOPICS, 2)
        out.append(f"The user talked about {a} and {b}, {rng.choice(DETAILS)}. (variant {i})")
    return out


def load_postgres(engine, pairs, rng, texts, vectors) -> dict:
    timings = {}
    t = time.perf_counter()
    n_facts = copy(engine, "user_facts", "user_id, bot_name, fact_content, category, confidence, mention_count,"
                   " first_seen, last_seen, source_message_ids, model, prompt_version", fact_chunks(pairs, rng))
    timings["facts_copy_s"] = round(time.perf_counter() - t, 1)
    log(f"facts: {n_facts:,} rows in {timings['facts_copy_s']} s")

    days_of = {user: summary_days(rng) for _, user in pairs}
    t = time.perf_counter()
    n_sum = copy(engine, "conversation_summaries", "id, user_id, bot_name, day, start_timestamp, end_timestamp,"
                 " summary_text, topics, message_count, source_message_ids, model, prompt_version",
                 summary_chunks(pairs, days_of, texts))
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT setval('conversation_summaries_id_seq', :n)"), {"n": n_sum})
    timings["summaries_copy_s"] = round(time.perf_counter() - t, 1)
    log(f"summaries: {n_sum:,} rows in {timings['summaries_copy_s']} s")

    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE bench_pool (id int PRIMARY KEY, embedding real[])"))
        raw = conn.connection.dbapi_connection
        buf = io.StringIO("".join(
            f"{i}\t{{{','.join(f'{x:.7g}' for x in vectors[i])}}}\n" for i in range(POOL)
        ))
        raw.cursor().copy_expert("COPY bench_pool (id, embedding) FROM STDIN", buf)
        conn.execute(sa.text(
            "INSERT INTO summary_embeddings (user_id, bot_name, day, start_timestamp, end_timestamp, embedding, model)"
            " SELECT s.user_id, s.bot_name, s.day, s.start_timestamp, s.end_timestamp, p.embedding, :model"
            " FROM conversation_summaries s JOIN bench_pool p ON p.id = s.id % :pool ORDER BY s.id"
        ), {"model": EMBEDDING_MODEL, "pool": POOL})
    timings["embeddings_insert_s"] = round(time.perf_counter() - t, 1)
    log(f"summary_embeddings in {timings['embeddings_insert_s']} s")

    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE user_facts, conversation_summaries, summary_embeddings"))
    timings["vacuum_analyze_s"] = round(time.perf_counter() - t, 1)
    return {"facts": n_facts, "summaries": n_sum, "timings": timings, "days_of": days_of}


def load_qdrant(settings, pairs, days_of, texts, vectors) -> dict:
    t = time.perf_counter()
    n = 0
    with open_store(settings) as store:
        ids, vecs, payloads = [], [], []
        sid = 0
        for j in range(SUMMARIES_PER_USER):
            for bot, user in pairs:
                sid += 1
                day = days_of[user][j]
                start = datetime.combine(day, dtime(0), tzinfo=UTC)
                end = start + timedelta(days=1)
                ids.append(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{bot}/{user}/{day}")))
                vecs.append(sid % POOL)
                payloads.append({
                    "bot_name": bot, "user_id": user, "day": day.isoformat(), "start_ts": epoch_ms(start),
                    "end_ts": epoch_ms(end), "window_start": start.isoformat(), "window_end": end.isoformat(),
                    "summary_text": texts[sid % POOL], "topics": ["chat"],
                })
                if len(ids) == 2000:
                    store.engine.upsert(store.summaries, ids, vectors[vecs], payloads)
                    n += len(ids)
                    ids, vecs, payloads = [], [], []
        if ids:
            store.engine.upsert(store.summaries, ids, vectors[vecs], payloads)
            n += len(ids)
        count = store.engine.count(store.summaries, {})
    return {"points": count, "upserted": n, "load_s": round(time.perf_counter() - t, 1)}


# -- measuring -----------------------------------------------------------------------------------------

def explain(engine, bot: str, user: str) -> dict[str, list[str]]:
    from whisper_assets import retrieval as r

    day = NOW.date() - timedelta(days=7)
    statements = {
        "facts": (r._FACTS_SQL, {"bot": bot, "user": user, "cat": None, "cap": r.MAX_FACTS_SCANNED, "now": NOW}),
        "time_range": (r._RANGE_SQL, {"bot": bot, "user": user, "limit": 7,
                                      "start": datetime.combine(day, dtime(0), tzinfo=UTC),
                                      "end": datetime.combine(day + timedelta(days=7), dtime(0), tzinfo=UTC)}),
        "postgres_vectors": (r._VECTORS_SQL, {"bot": bot, "user": user, "now": NOW}),
        "summaries_by_start": (r._BY_START_SQL, {"bot": bot, "user": user,
                                                 "starts": [datetime.combine(day, dtime(0), tzinfo=UTC)]}),
    }
    out = {}
    with engine.connect() as conn:
        for name, (stmt, params) in statements.items():
            text = stmt.text
            rows = conn.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + text), params).all()
            out[name] = [row[0] for row in rows]
    return out


def measure(engine, store, embedder, pairs, n_queries: int, rng: random.Random) -> dict:
    qvec = {q: embedder.encode_one(q) for q in TOPIC_QUESTIONS}
    variants = {
        "a_facts_time_range": lambda b, u, q, tq: recall(b, u, tq, now=NOW, engine=engine, semantic=False),
        "b_qdrant": lambda b, u, q, tq: recall(b, u, q, now=NOW, engine=engine, store=store, embedder=embedder),
        "b_qdrant_without_embedding": lambda b, u, q, tq: recall(
            b, u, q, now=NOW, engine=engine, store=store, embedder=embedder, query_vector=qvec[q]),
        "b_postgres": lambda b, u, q, tq: recall(b, u, q, now=NOW, engine=engine, embedder=embedder),
        "b_postgres_without_embedding": lambda b, u, q, tq: recall(
            b, u, q, now=NOW, engine=engine, embedder=embedder, query_vector=qvec[q]),
    }
    names = list(variants)
    times: dict[str, list[float]] = {k: [] for k in names}
    stages: dict[str, list[float]] = {}
    stats = {"facts_returned": [], "summaries_in_range": [], "related_qdrant": [], "related_postgres": [],
             "semantic_modes": {}}
    warmup = max(50, n_queries // 10)
    for i in range(warmup + n_queries):
        bot, user = pairs[rng.randrange(len(pairs))]
        q, tq = rng.choice(TOPIC_QUESTIONS), rng.choice(TIME_QUESTIONS)
        order = names[i % len(names):] + names[: i % len(names)]  # rotate: no variant always first
        for name in order:
            t = time.perf_counter()
            result = variants[name](bot, user, q, tq)
            context = result.as_context()
            elapsed = (time.perf_counter() - t) * 1000
            if i < warmup:
                continue
            times[name].append(elapsed)
            assert context and result.bot == bot and result.user == user
            for k, v in result.timings_ms.items():
                stages.setdefault(f"{name}.{k}", []).append(v)
            if name == "a_facts_time_range":
                stats["facts_returned"].append(len(result.facts))
                stats["summaries_in_range"].append(len(result.summaries))
            elif name == "b_qdrant":
                stats["related_qdrant"].append(len(result.related))
            elif name == "b_postgres":
                stats["related_postgres"].append(len(result.related))
            stats["semantic_modes"][f"{name}:{result.semantic}"] = stats["semantic_modes"].get(
                f"{name}:{result.semantic}", 0) + 1
        if i and i % 250 == 0:
            log(f"  {i} / {warmup + n_queries} rounds")
    out = {name: pct(v) for name, v in times.items()}
    out["stages_p50_p99_ms"] = {k: [pct(v)["p50_ms"], pct(v)["p99_ms"]] for k, v in sorted(stages.items())}
    out["result_sizes_mean"] = {k: round(statistics.fmean(v), 2) for k, v in stats.items() if isinstance(v, list)}
    out["semantic_modes"] = stats["semantic_modes"]
    return out


def embedding_costs(embedder, rng: random.Random, reps: int = 300) -> dict:
    """The query embedding as recall does it (1 torch thread), on the process's threads, and the
    cost of embedding a user's 100 fact texts per query (not done: facts are ranked by category
    routing, word overlap and confidence)."""
    import torch

    query_ms, query_all_threads_ms, facts_ms = [], [], []
    for i in range(reps):
        q = rng.choice(TOPIC_QUESTIONS)
        t = time.perf_counter()
        embed_query(embedder, q)
        query_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        embedder.encode_one(q)
        query_all_threads_ms.append((time.perf_counter() - t) * 1000)
    facts = [FACT_TEMPLATES[c].format(w=w, W=w.capitalize()) for c in Category for w in WORDS[:8]][:100]
    for i in range(10):
        t = time.perf_counter()
        embedder.encode(facts)
        facts_ms.append((time.perf_counter() - t) * 1000)
    return {
        "query_embedding_1_thread (as recall does)": pct(query_ms),
        f"query_embedding_{torch.get_num_threads()}_threads": pct(query_all_threads_ms),
        "embed_100_fact_texts": pct(facts_ms),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--admin-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database (prints its name)")
    args = ap.parse_args()
    rng = random.Random(42)
    started = time.perf_counter()
    loadavg_start = os.getloadavg()

    db = f"whisper_bench_retrieval_{os.getpid()}"
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
    qdir = Path(tempfile.mkdtemp(prefix="whisper-bench-retrieval-", dir=base))
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    url = args.admin_url.rsplit("/", 1)[0] + "/" + db
    settings = load_settings(data_dir=qdir / "data", database_url=url, qdrant_path=qdir / "qdrant")
    engine = get_engine(settings)
    try:
        applied = upgrade(engine)
        log(f"scratch database {db}: migrations {applied}")
        embedder = get_embedder(settings.torch_threads)
        pairs = users(args.users)
        t = time.perf_counter()
        texts = pool_texts(rng)
        vectors = embedder.encode(texts)
        pool_s = round(time.perf_counter() - t, 1)
        log(f"embedded {POOL} summary texts in {pool_s} s")
        loaded = load_postgres(engine, pairs, rng, texts, vectors)
        qdrant = load_qdrant(settings, pairs, loaded.pop("days_of"), texts, vectors)
        log(f"qdrant: {qdrant}")
        with engine.connect() as conn:
            size_mb = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar() / 2**20
            indexes = [
                {"table": r[0], "index": r[1], "definition": r[2], "size_mb": round(r[3] / 2**20, 1)}
                for r in conn.execute(sa.text(
                    "SELECT tablename, indexname, indexdef, pg_relation_size(indexname::regclass) FROM pg_indexes"
                    " WHERE tablename IN ('user_facts', 'conversation_summaries', 'summary_embeddings')"
                    " ORDER BY tablename, indexname"))
            ]
            tables = {
                r[0]: round(r[1] / 2**20, 1) for r in conn.execute(sa.text(
                    "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN"
                    " ('user_facts', 'conversation_summaries', 'summary_embeddings')"))
            }
        log("measuring")
        with open_store(settings) as store:
            results = measure(engine, store, embedder, pairs, args.queries, rng)
            bot, user = pairs[rng.randrange(len(pairs))]
            plans = explain(engine, bot, user)
        costs = embedding_costs(embedder, rng)
        a, bq, bp = results["a_facts_time_range"], results["b_qdrant"], results["b_postgres"]
        report = {
            "benchmark": "retrieval",
            "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                        "loadavg_start": [round(x, 2) for x in loadavg_start],
                        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                        "postgres": "127.0.0.1:5432 (shared_buffers as configured)", "qdrant": f"qdrant-edge in {base}"},
            "data": {
                "bots": BOTS, "users": len(pairs), "facts": loaded["facts"], "summaries": loaded["summaries"],
                "summary_embeddings": loaded["summaries"], "qdrant_points": qdrant["points"],
                "facts_per_user": FACTS_PER_USER, "summaries_per_user": SUMMARIES_PER_USER,
                "database_mb": round(size_mb, 1), "tables_mb": tables,
                "load_s": {**loaded["timings"], "embed_pool_s": pool_s, "qdrant_upsert_s": qdrant["load_s"]},
            },
            "queries_per_variant": args.queries,
            "what_is_timed": "recall(...) + result.as_context(), in process, one connection checkout per recall; "
                             "b embeds the question (minus its time phrase) on a worker thread (1 torch thread) "
                             "while the facts and time-range queries run",
            "indexes_added": "none: every statement is an index scan on indexes of sql/001_core.sql (see explain)",
            "latency": results,
            "embedding": costs,
            "targets": {
                "a_p99_ms<=20": a["p99_ms"] <= TARGET_A_P99_MS,
                "b_qdrant_p99_ms<=30": bq["p99_ms"] <= TARGET_B_P99_MS,
                "b_postgres_p99_ms<=30": bp["p99_ms"] <= TARGET_B_P99_MS,
            },
            "indexes": indexes,
            "explain": plans,
            "total_s": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(report, indent=2))
    finally:
        engine.dispose()
        shutil.rmtree(qdir, ignore_errors=True)
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            log(f"dropped {db}")
        else:
            log(f"kept {db}")
        admin.dispose()


if __name__ == "__main__":
    main()
