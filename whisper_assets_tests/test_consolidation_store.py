"""user_facts rebuilt by consolidation in real PostgreSQL (stores/repository/consolidation.py):
the same final rows whatever order the days are written in (a backfill of March after June), the
embedding cache kept in the rows, users and bots never merged, a forget leaves nothing."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.enrichment.models import FactObservation
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.repository import consolidation, enrichment as repo
from whisper_assets.stores.repository.maintenance import delete_user_rows

UTC = timezone.utc
SPEC = repo.TABLES["extracted_facts"]
VOLATILE = ("id", "updated_at")

# (bot, user, day, category, fact): a half year of two users of two bots, with look-alike facts.
LIFE = [
    ("elena", "u-1", date(2026, 3, 3), "location", "lives in Lisbon"),
    ("elena", "u-1", date(2026, 3, 3), "hobby", "enjoys hiking"),
    ("elena", "u-1", date(2026, 3, 17), "employer", "works at Halvorsen Logistics"),
    ("elena", "u-1", date(2026, 4, 7), "hobby", "likes hiking"),
    ("elena", "u-1", date(2026, 4, 7), "family", "has a girlfriend named Ana"),
    ("elena", "u-1", date(2026, 5, 12), "location", "moved to Porto"),
    ("elena", "u-1", date(2026, 6, 2), "other", "lost their job"),
    ("elena", "u-1", date(2026, 6, 2), "family", "is engaged to Ana"),
    ("elena", "u-1", date(2026, 6, 23), "pet", "has a cat named Miso"),
    ("elena", "u-1", date(2026, 6, 30), "pet", "doesn't have a cat anymore"),
    ("elena", "u-2", date(2026, 3, 3), "location", "lives in Porto"),
    ("elena", "u-2", date(2026, 4, 7), "hobby", "loves going hiking"),
    ("elena", "u-2", date(2026, 6, 2), "pet", "has a cat named Miso"),
    ("marcus", "u-1", date(2026, 3, 3), "location", "lives in Lisbon"),
    ("marcus", "u-1", date(2026, 6, 2), "location", "lives in Lisbon"),
]


def observations() -> dict[tuple[str, date], list[FactObservation]]:
    out: dict[tuple[str, date], list[FactObservation]] = {}
    for i, (bot, user, day, cat, fact) in enumerate(LIFE):
        mid = f"00000000-0000-4000-8000-{i:012d}"
        out.setdefault((bot, day), []).append(FactObservation(
            bot, day, user, cat, fact, 0.8 + i / 100, (mid,), datetime.combine(day, time(10), tzinfo=UTC),
            "model-a", "v1", "run-x"))
    return out


class CountingEmbedder:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:
        self.texts.extend(texts)
        return get_embedder().encode(texts)


def write_days(engine, order: list[tuple[str, date]], embedder) -> list[consolidation.RecomputeReport]:
    """Each partition as a run writes it: its observations replaced, then its users recomputed."""
    by_pid, reports = observations(), []
    for pid in order:
        with engine.begin() as conn:
            repo.replace_partitions(conn, SPEC, [pid], by_pid[pid])
            users = {pid[0]: sorted({o.user_id for o in by_pid[pid]})}
            reports.append(consolidation.recompute(conn, users, embedder))
    return reports


def user_facts(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM user_facts ORDER BY bot_name, user_id, fact_content")).mappings()
        return [tuple(v for k, v in r.items() if k not in VOLATILE) for r in rows]


@pytest.fixture()
def engine(settings):
    return get_engine(settings)


def test_any_order_of_days_gives_the_same_user_facts(engine, database_url):
    pids = sorted(observations())
    embedder = CountingEmbedder()
    write_days(engine, pids, embedder)
    expected = user_facts(engine)
    june_first = sorted(pids, key=lambda p: (p[1].month < 6, p))  # a backfill of March after June
    for order in (june_first, random.Random(7).sample(pids, len(pids))):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM user_facts; DELETE FROM fact_observations"))
        write_days(engine, order, CountingEmbedder())
        assert user_facts(engine) == expected
    by_key = {(r[2], r[1], r[3]): r for r in expected}  # (bot, user, fact)
    assert ("elena", "u-1", "likes hiking") not in by_key or ("elena", "u-1", "enjoys hiking") not in by_key


def test_history_counts_and_the_vector_cache(engine):
    pids = sorted(observations())
    embedder = CountingEmbedder()
    reports = write_days(engine, pids, embedder)
    with engine.connect() as conn:
        u1 = {r.fact: r for r in consolidation.fact_records(conn, "elena", "u-1", limit=100)}
        current = consolidation.fact_records(conn, "elena", "u-1", limit=100, current_only=True)
    assert u1["lives in Lisbon"].status == "superseded" and u1["lives in Lisbon"].valid_to.date() == date(2026, 5, 12)
    assert u1["works at Halvorsen Logistics"].status == "closed"
    assert u1["has a girlfriend named Ana"].status == "superseded" and u1["has a cat named Miso"].status == "closed"
    assert {"moved to Porto", "is engaged to Ana", "lost their job"} <= {r.fact for r in current}
    assert all(r.status == "current" for r in current)
    assert len([r for r in u1.values() if "hiking" in r.fact]) == 1
    last = reports[-1]
    # the last partition written is marcus's June day: it only re-confirms Lisbon
    assert last.for_partition("marcus", date(2026, 6, 2)) == {"facts_merged": 0, "facts_superseded": 0, "facts_closed": 0}
    june = [r for r, pid in zip(reports, pids) if pid == ("elena", date(2026, 6, 30))][0]
    assert june.for_partition("elena", date(2026, 6, 30))["facts_closed"] == 1
    # Recomputing again embeds nothing: every vector it needs is kept in the rows.
    embedder.texts.clear()
    with engine.begin() as conn:
        again = consolidation.recompute(conn, {"elena": ["u-1", "u-2"], "marcus": ["u-1"]}, embedder)
    assert embedder.texts == []
    assert again.rows == len(user_facts(engine)) and again.rows_written == 0  # unchanged rows are left alone


def test_users_and_bots_stay_apart_and_a_forget_leaves_nothing(engine):
    write_days(engine, sorted(observations()), CountingEmbedder())
    with engine.connect() as conn:
        u2 = consolidation.fact_records(conn, "elena", "u-2", limit=100)
        marcus = consolidation.fact_records(conn, "marcus", "u-1", limit=100)
    assert {r.fact for r in u2} == {"lives in Porto", "loves going hiking", "has a cat named Miso"}
    assert all(r.status == "current" for r in u2)  # u-1's lost cat and move are u-1's alone
    assert [(r.fact, r.mention_count) for r in marcus] == [("lives in Lisbon", 2)]
    with engine.begin() as conn:
        delete_user_rows(conn, "elena", "u-1")
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM user_facts WHERE bot_name = 'elena' AND user_id = 'u-1'"))
        assert left.scalar_one() == 0
