"""Fact consolidation (core/enrichment/consolidation.py, stores/repository/consolidation.py):

    .venv/bin/python benchmarks/consolidation.py [--repeat 5] [--out benchmarks/results/consolidation.json]

1. one_user: one user with 5,000 observations (two years of a synthetic life: homes, jobs, pets,
   partners, hobbies said in several wordings, endings), consolidated by the pure function with
   the vectors of its texts given (as the recompute finds them cached in the user's rows).
   Target: <= 200 ms. The cold case (every distinct text embedded first) is shown beside it.
2. day_partition: the recompute a day partition of 100 users triggers, in PostgreSQL: each user
   has 60 days of earlier observations (rows and cached vectors in place, as left by earlier runs)
   and 5 new ones today, 2 of them in wordings new to the user (embedded now). Timed from the lock
   to the last insert, rolled back after each repetition. Target: <= 2 s.

Synthetic texts only (our own templates); prints JSON, medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402

from scratch import scratch_workspace  # noqa: E402
from whisper_assets.core.embedding import get_embedder  # noqa: E402
from whisper_assets.core.enrichment.consolidation import ObservedFact, consolidate, needs_vectors  # noqa: E402
from whisper_assets.core.enrichment.models import FactObservation  # noqa: E402
from whisper_assets.core.settings import load_settings  # noqa: E402
from whisper_assets.stores.postgres import get_engine  # noqa: E402
from whisper_assets.stores.repository import consolidation as repo, enrichment  # noqa: E402

UTC = timezone.utc
START = datetime(2024, 1, 1, 9, tzinfo=UTC)
CITIES = ["Lisbon", "Porto", "Braga", "Coimbra", "Faro", "Evora", "Aveiro", "Leiria"]
ORGS = ["Halvorsen Logistics", "Brightmoor Bakery", "Keswick Labs", "Orla Studio", "Tamsin Foods"]
JOBS = ["dispatcher", "baker", "data analyst", "nurse", "carpenter"]
NAMES = ["Ana", "Rui", "Ines", "Tomas", "Mara"]
HOBBIES = ["hiking", "chess", "pottery", "swimming", "cycling", "painting", "gardening", "climbing", "knitting",
           "surfing", "baking bread", "birdwatching", "running", "yoga", "photography", "the guitar"]
FOODS = ["ramen", "pasta", "tacos", "curry", "sushi", "paella"]


def life(rng: random.Random, n: int, start: datetime = START, days: int = 730) -> list[tuple[datetime, str, str]]:
    """n (time, category, fact) statements of one synthetic user, in a few wordings each."""
    out = []
    for _ in range(n):
        t = start + timedelta(minutes=rng.randrange(days * 24 * 60))
        phase = int((t - start).days / max(days, 1) * 8)  # life changes every quarter
        kind = rng.random()
        if kind < 0.15:
            out.append((t, "location", rng.choice(["lives in {}", "is living in {}", "resides in {}"])
                        .format(CITIES[phase % len(CITIES)])))
        elif kind < 0.27:
            out.append((t, "employer", rng.choice(["works at {}", "works for {}"]).format(ORGS[phase % len(ORGS)])))
        elif kind < 0.35:
            out.append((t, "occupation", rng.choice(["works as a {}", "is a {}"]).format(JOBS[phase % len(JOBS)])))
        elif kind < 0.42:
            out.append((t, "pet", rng.choice(["has {} dogs", "has {} cats"]).format(1 + phase % 3)))
        elif kind < 0.48:
            name = NAMES[phase // 2 % len(NAMES)]
            out.append((t, "family", rng.choice([f"has a girlfriend named {name}", f"is engaged to {name}",
                                                 f"is married to {name}"])))
        elif kind < 0.62:
            when = t - timedelta(days=rng.randrange(1, 60))
            out.append((t, "travel", rng.choice(["visited {} in {:%B %Y}", "went to {} in {:%B %Y}"])
                        .format(rng.choice(CITIES), when)))
        elif kind < 0.80:
            h = rng.choice(HOBBIES)
            out.append((t, "hobby", rng.choice([f"enjoys {h}", f"likes {h}", f"loves {h}", f"is into {h}"])))
        elif kind < 0.92:
            out.append((t, "preference", rng.choice(["loves {}", "really likes {}", "favourite food is {}"])
                        .format(rng.choice(FOODS))))
        elif kind < 0.96:
            out.append((t, "other", rng.choice(["lost their job", "quit their job"])))
        else:
            out.append((t, "pet", rng.choice(["no longer has a cat", "doesn't have a dog anymore"])))
    return out


def observed(statements, user: str) -> list[ObservedFact]:
    return [ObservedFact(c, f, 0.6 + (i % 4) / 10, (f"{user}-{i}",), t, t.date(), "bench", "v1")
            for i, (t, c, f) in enumerate(statements)]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def bench_one_user(repeat: int, embedder) -> dict:
    obs = observed(life(random.Random(1), 5000), "u")
    texts = needs_vectors(obs)
    t = time.perf_counter()
    vectors = dict(zip(texts, embedder.encode(texts)))
    embed_s = time.perf_counter() - t
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        rows = consolidate(obs, vectors)
        runs.append(time.perf_counter() - t)
    return {"observations": len(obs), "distinct_texts": len({o.fact for o in obs}), "rows": len(rows),
            "current_rows": sum(r.status == "current" for r in rows),
            "consolidate_ms_median": ms(statistics.median(runs)), "consolidate_ms_max": ms(max(runs)),
            "cold_embed_ms": ms(embed_s), "target_ms": 200,
            "meets_target": statistics.median(runs) <= 0.2}


def bench_partition(repeat: int, embedder) -> dict:
    bot, today = "bench", date(2024, 3, 1)
    with scratch_workspace("consolidation-bench-") as (url, data_dir):
        engine = get_engine(load_settings(data_dir=data_dir, database_url=url))
        rng = random.Random(2)
        users = [f"user-{i:03d}" for i in range(100)]
        spec = enrichment.TABLES["extracted_facts"]
        by_day: dict[date, list[FactObservation]] = {}
        for u in users:
            for i, (t, c, f) in enumerate(life(rng, 65, START, 60)):
                by_day.setdefault(t.date(), []).append(FactObservation(
                    bot, t.date(), u, c, f, 0.8, (f"00000000-0000-4000-8000-{rng.randrange(10**12):012d}",), t,
                    "bench", "v1"))
            novel = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
            for k, fact in enumerate([f"enjoys {rng.choice(HOBBIES)} a lot", f"lives in {rng.choice(CITIES)}",
                                      f"has been learning Danish {u}", "works at Orla Studio",
                                      f"plans to visit {rng.choice(CITIES)} with {u}"]):
                by_day.setdefault(today, []).append(FactObservation(
                    bot, today, u, ["hobby", "location", "hobby", "employer", "plan"][k], fact, 0.9,
                    (f"00000000-0000-4000-9000-{rng.randrange(10**12):012d}",), novel, "bench", "v1"))
        with engine.begin() as conn:
            for day, rows in by_day.items():
                enrichment.replace_partitions(conn, spec, [(bot, day)], rows)
            conn.execute(sa.text("DELETE FROM fact_observations WHERE day = :d"), {"d": today})
            repo.recompute(conn, {bot: users}, embedder)  # earlier runs: rows and cached vectors in place
            enrichment.replace_partitions(conn, spec, [(bot, today)], by_day[today])
        runs, report, phases = [], None, []
        for _ in range(repeat):
            with engine.connect() as conn:
                tx = conn.begin()
                t = time.perf_counter()
                report = repo.recompute(conn, {bot: users}, embedder)
                runs.append(time.perf_counter() - t)
                phases.append(report.timings_ms)
                tx.rollback()
        with engine.connect() as conn:
            n_obs = conn.execute(sa.text("SELECT count(*) FROM fact_observations")).scalar_one()
        engine.dispose()
    return {"users": len(users), "observations": n_obs, "new_today_per_user": 5, "rows": report.rows,
            "counts_today": report.for_partition(bot, today), "rows_written": report.rows_written,
            "texts_embedded": report.texts_embedded,
            "phase_ms_median": {k: round(statistics.median(p[k] for p in phases), 1) for k in phases[0]},
            "recompute_ms_median": ms(statistics.median(runs)), "recompute_ms_max": ms(max(runs)),
            "target_ms": 2000, "meets_target": statistics.median(runs) <= 2.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    embedder = get_embedder()
    embedder.encode(["warm up"])
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "embedder": embedder.backend},
        "one_user_5000_observations": bench_one_user(args.repeat, embedder),
        "day_partition_100_users": bench_partition(args.repeat, embedder),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
