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

    .venv/bin/python benchmarks/consolidation.py --eval [--locomo FILE] [--spc FILE] [--spc-conversations 200]

3. --eval (added to 1 and 2): the offline extractor's facts on real conversations (LoCoMo dev: each speaker's turns,
   session by session, at the session's time; Synthetic-Persona-Chat: a seeded sample of
   conversations, one day each; and our shipped sample corpus), without the pipeline's grounding, before consolidation (the seed:
   one row per exact text) and after: rows, pairs of one user's facts of one category at MiniLM
   cosine >= 0.80 among the facts that hold, single-valued slots holding two values at once, and
   what was merged, superseded, closed. Figures and counts only (no eval text is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from scratch import scratch_workspace  # noqa: E402
from whisper_assets.core.embedding import get_embedder  # noqa: E402
from whisper_assets.core.enrichment.consolidation import (  # noqa: E402
    MERGE_THRESHOLD, ObservedFact, consolidate, needs_vectors,
)
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


SAMPLE_CORPUS = Path(__file__).resolve().parents[1] / "whisper_assets" / "data" / "sample_corpus.jsonl"


def eval_observations(locomo: Path | None, spc: Path | None, n_spc: int) -> dict[str, dict[str, list[ObservedFact]]]:
    """set -> "bot|user" -> observations of the offline extractor (no grounding)."""
    from whisper_assets.core.llm.offline_facts import Turn, extract_facts

    out: dict[str, dict[str, list[ObservedFact]]] = {}
    days: dict[tuple[str, str, str], list[dict]] = {}  # the shipped sample corpus (ours): one day at a time
    for line in SAMPLE_CORPUS.read_text().splitlines():
        m = json.loads(line)
        if m["role"] == "user":
            days.setdefault((m["bot"], m["user"], m["timestamp"][:10]), []).append(m)
    users: dict[str, list[ObservedFact]] = {}
    for (bot, user, _), msgs in sorted(days.items()):
        at = {str(i): datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00")) for i, m in enumerate(msgs)}
        for f in extract_facts([Turn(str(i), user, m["content"]) for i, m in enumerate(msgs)]):
            t = min(at[i] for i in f.source_message_ids)
            users.setdefault(f"{bot}|{user}", []).append(ObservedFact(
                f.category.value, f.fact, f.confidence, tuple(f.source_message_ids), t, t.date(), "offline", ""))
    out["sample_corpus"] = users
    if locomo is not None:
        from whisper_assets.interfaces.evaluation.samples import load_samples

        users: dict[str, list[ObservedFact]] = {}
        for sample in load_samples(locomo):
            for session in sample.sessions:
                at = {t.dia_id: t.timestamp for t in session.turns}
                turns = [Turn(t.dia_id, t.speaker, t.text) for t in session.turns]
                for f in extract_facts(turns):
                    t = min(at[m] for m in f.source_message_ids)
                    users.setdefault(f"{sample.sample_id}|{f.user_id}", []).append(ObservedFact(
                        f.category.value, f.fact, f.confidence, tuple(f.source_message_ids), t, t.date(), "offline", ""))
        out["locomo_dev"] = users
    if spc is not None:
        from whisper_assets.interfaces.evaluation.spc import SPC_DAY, load_spc, sample_conversations

        users = {}
        for conv in sample_conversations(load_spc(spc), n=n_spc, seed=13):
            turns = [Turn(f"{i}", s, t) for i, (s, t) in enumerate(conv.turns)]
            for f in extract_facts(turns):
                t = SPC_DAY + timedelta(seconds=min(int(m) for m in f.source_message_ids))
                users.setdefault(f"{conv.conversation_id}|{f.user_id}", []).append(ObservedFact(
                    f.category.value, f.fact, f.confidence, tuple(f.source_message_ids), t, t.date(), "offline", ""))
        out[f"spc_{n_spc}_conversations"] = users
    return out


def _close_pairs(facts: list[tuple[str, str, str]], vectors: dict[str, np.ndarray], threshold: float = 0.8) -> int:
    """Pairs of (user, category, text) of one user and category at cosine >= threshold."""
    groups: dict[tuple[str, str], list[str]] = {}
    for user, cat, text in facts:
        groups.setdefault((user, cat), []).append(text)
    n = 0
    for texts in groups.values():
        if len(texts) > 1:
            m = np.stack([vectors[t] for t in texts])
            sims = m @ m.T
            n += int((np.triu(sims, 1) >= threshold).sum())
    return n


def bench_eval(sets: dict[str, dict[str, list[ObservedFact]]], embedder) -> dict:
    from whisper_assets.core.enrichment.consolidation import Counts
    from whisper_assets.core.enrichment.fact_slots import slot_of

    result = {}
    for name, users in sets.items():
        texts = sorted({o.fact for obs in users.values() for o in obs})
        vectors = dict(zip(texts, embedder.encode(texts)))
        before, after, counts = [], [], Counts()
        slots_before, slots_after, rows_after = 0, 0, 0
        for user, obs in sorted(users.items()):
            seed: dict[str, ObservedFact] = {}
            for o in sorted(obs, key=lambda o: -o.confidence):
                seed.setdefault(o.fact, o)
            before += [(user, o.category, o.fact) for o in seed.values()]
            values: dict[str, set[str]] = {}
            for o in seed.values():
                if (slot := slot_of(o.category, o.fact)) is not None:
                    values.setdefault(slot.key, set()).add(slot.value)
            slots_before += sum(len(v) > 1 for v in values.values())
            rows = consolidate(obs, {t: vectors[t] for t in needs_vectors(obs)})
            counts.add(rows)
            rows_after += len(rows)
            current = [r for r in rows if r.status == "current"]
            after += [(user, r.category, r.fact) for r in current]
            held: dict[str, int] = {}
            for r in current:
                if r.slot:
                    held[r.slot] = held.get(r.slot, 0) + 1
            slots_after += sum(v > 1 for v in held.values())
        result[name] = {
            "users": len(users), "observations": sum(len(o) for o in users.values()),
            "rows_before": len(before), "rows_after": rows_after, "current_rows_after": len(after),
            "close_pairs_before": _close_pairs(before, vectors), "close_pairs_after": _close_pairs(after, vectors),
            "slots_with_two_values_before": slots_before, "slots_with_two_values_after": slots_after,
            "merged_observations": sum(counts.merged.values()), "superseded": sum(counts.superseded.values()),
            "closed": sum(counts.closed.values()),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--eval", action="store_true", help="also measure on real conversations")
    parser.add_argument("--locomo", type=Path, default=Path("/work/shared/eval/locomo/locomo_dev.json"))
    parser.add_argument("--spc", type=Path, default=Path("/work/shared/eval/spc/spc_valid.csv"))
    parser.add_argument("--spc-conversations", type=int, default=200)
    args = parser.parse_args()
    embedder = get_embedder()
    embedder.encode(["warm up"])
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "embedder": embedder.backend, "load_average_1m": round(os.getloadavg()[0], 1)},
        "one_user_5000_observations": bench_one_user(args.repeat, embedder),
        "day_partition_100_users": bench_partition(args.repeat, embedder),
    }
    if args.eval:
        sets = eval_observations(args.locomo if args.locomo.exists() else None,
                                 args.spc if args.spc.exists() else None, args.spc_conversations)
        result["eval"] = {"merge_threshold": MERGE_THRESHOLD, "close_pair_cosine": 0.80, "sets": bench_eval(sets, embedder)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
