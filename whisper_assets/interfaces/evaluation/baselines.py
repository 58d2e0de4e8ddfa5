"""Chance baselines for evidence recall@k: what a retriever that ignores the question scores.

- **latest summaries**: the user's k latest summaries whose last message was said at or before
  `now` (both users' lists merged by rank when the question is asked for both), whatever it asks;
- **random items of the same kinds**: for each item of recall()'s own top k, a random item of the
  same kind (fact, message or summary) of the same user, known at `now`, drawn without replacement
  with a seeded RNG (`DEFAULT_SEED`), so the baseline sees the same mix of kinds as recall().

Both are scored with the same strict and loose rules as recall() (`evidence.py`).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from whisper_assets.interfaces.evaluation import metrics
from whisper_assets.memory.locomo_format import LocomoSample

DEFAULT_SEED = 13
POOL_KINDS = {"fact": "fact", "message": "message", "related": "summary", "time_range": "summary",
              "recent": "summary"}


@dataclass(frozen=True)
class PoolItem:
    kind: str  # fact | message | summary
    user: str
    text: str
    dia_ids: frozenset[str]
    known_at: datetime  # a summary: its last message; a fact: its earliest source turn; a message: its time


@dataclass
class Pools:
    """One sample's retrievable items, per (user, kind), oldest first."""

    items: dict[tuple[str, str], list[PoolItem]] = field(default_factory=lambda: defaultdict(list))

    def known(self, user: str, kind: str, now: datetime) -> list[PoolItem]:
        return [i for i in self.items.get((user, kind), []) if i.known_at <= now]


def load_pools(engine: Any, sample: LocomoSample, to_dia: dict[str, str]) -> Pools:
    """Every summary, fact observation and user turn of the sample's bot, for the baselines."""
    from whisper_assets.stores.repository.enrichment import bot_observations
    from whisper_assets.stores.repository.memories import list_summaries

    turns = sample.turns
    pools = Pools()
    for t in turns.values():
        pools.items[(t.speaker, "message")].append(PoolItem("message", t.speaker, t.text, frozenset({t.dia_id}),
                                                            t.timestamp))
    with engine.connect() as conn:
        for speaker in sample.speakers:
            for s in list_summaries(conn, sample.sample_id, speaker, limit=100_000):
                dias = frozenset(to_dia[m] for m in s.source_message_ids if m in to_dia)
                pools.items[(speaker, "summary")].append(PoolItem("summary", speaker, s.text, dias, s.last_message_at))
        for user, _category, fact, _confidence, sources in bot_observations(conn, sample.sample_id):
            dias = frozenset(to_dia[m] for m in sources if m in to_dia)
            if dias:
                at = min(turns[d].timestamp for d in dias)
                pools.items[(user, "fact")].append(PoolItem("fact", user, fact, dias, at))
    for items in pools.items.values():
        items.sort(key=lambda i: i.known_at)
    return pools


def latest_summaries(pools: Pools, users: Sequence[str], now: datetime, k: int) -> list[PoolItem]:
    """The k latest summaries known at `now` of the users, newest first, merged by rank."""
    lists = [list(reversed(pools.known(u, "summary", now)))[:k] for u in users]
    return metrics.merge_by_rank(lists)[:k]


def random_like(pools: Pools, top: Sequence[tuple[str, str]], now: datetime, rng: random.Random) -> list[PoolItem]:
    """For each (user, kind) of recall()'s top items, a random item of that user and kind known at
    `now` (without replacement; fewer when a pool runs out)."""
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    for user, kind in top:
        wanted[(user, POOL_KINDS.get(kind, kind))] += 1
    out: list[PoolItem] = []
    for (user, kind), n in sorted(wanted.items()):
        pool = pools.known(user, kind, now)
        out += rng.sample(pool, min(n, len(pool)))
    return out
