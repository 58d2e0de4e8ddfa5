"""Fact consolidation over time: one user's fact observations -> one row per meaning, with history.

1. Wordings: observations with the same text are one fact (the seed's rule). Texts of one category
   that mean the same become one fact too: cosine of their MiniLM vectors >= MERGE_THRESHOLD and
   the same entities (numbers, names, negation/past/dislike markers, words of a contrast class such
   as kin or species: fact_slots.entities), and, for a single-valued slot, the same value. The
   threshold was checked by hand on whisper_assets_tests/data/consolidation_pairs.jsonl (pairs we
   wrote): at 0.80 no different facts merge; a few paraphrases stay apart ("has a peanut allergy").
   The merged fact keeps the greatest confidence, every source message (mention count = distinct
   messages) and the first and last time it was said; its text is the most specific, then most
   confident, most mentioned, earliest wording.
2. Time: facts of a single-valued slot (fact_slots: home, employer, job title, relationship, pets
   of a kind, age, name, a favourite) hold from when they are said until another value of the slot
   is said (superseded). An ending ("no longer has a cat", "lost their job", "broke up") closes
   what it ends, and itself holds until a new value of a slot it ended is said (a new job
   supersedes "lost their job"). A fact said again after it ended holds again from then: a fact
   has periods.
3. Order: everything is a function of the set of observations (sorted first), so the days may be
   materialised in any order, and a fact said twice in one message counts once.

No Dagster, no SQL: stores/repository/consolidation.py reads and writes the rows.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable, Literal, Mapping, Sequence

import numpy as np

from whisper_assets.core.enrichment.fact_slots import (
    CANONICAL, Ending, Entities, Slot, ending_of, entities, norm, slot_of, terms,
)

MERGE_THRESHOLD = 0.80
EndReason = Literal["superseded", "closed"]


@dataclass(frozen=True)
class ObservedFact:
    """One fact_observations row (what consolidation needs of it)."""

    category: str
    fact: str
    confidence: float
    source_message_ids: tuple[str, ...]
    observed_at: datetime
    day: date
    model: str
    prompt_version: str


@dataclass(frozen=True)
class Period:
    """When a fact held: [start, end); end None while it holds. `ended_day` is the partition day of
    the observation that ended it."""

    start: datetime
    end: datetime | None = None
    ended_by: EndReason | None = None
    ended_day: date | None = None


@dataclass
class ConsolidatedFact:
    """A user_facts row."""

    fact: str
    category: str
    confidence: float
    mention_count: int
    first_seen: datetime
    last_seen: datetime
    source_message_ids: tuple[str, ...]
    model: str
    prompt_version: str
    slot: str | None
    periods: list[Period]
    variants: tuple[str, ...]  # every wording merged into this fact, `fact` first
    merged_days: tuple[date, ...] = ()  # days of the observations of the other wordings

    @property
    def valid_from(self) -> datetime:
        return self.periods[-1].start

    @property
    def valid_to(self) -> datetime | None:
        return self.periods[-1].end

    @property
    def status(self) -> str:
        return self.periods[-1].ended_by or "current"


@dataclass
class Counts:
    """What consolidation did, per partition day of the observation that did it."""

    merged: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    superseded: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    closed: dict[date, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, facts: Iterable[ConsolidatedFact]) -> None:
        for f in facts:
            for d in f.merged_days:
                self.merged[d] += 1
            for p in f.periods:
                if p.ended_by == "superseded":
                    self.superseded[p.ended_day] += 1
                elif p.ended_by == "closed":
                    self.closed[p.ended_day] += 1


# -- 1. wordings -------------------------------------------------------------------------------------

@dataclass
class _Text:
    """All observations of one exact text (after `norm`)."""

    text: str  # as first said (the sorted first observation's spelling)
    obs: list[ObservedFact]
    category: str = ""
    confidence: float = 0.0
    ids: frozenset[str] = frozenset()
    slot: Slot | None = None
    ending: Ending | None = None
    entities: Entities | None = None

    def key(self) -> tuple:
        specific = self.slot.specificity if self.slot else 0
        return (-specific, -self.confidence, -len(self.ids), self.obs[0].observed_at, self.text)


def _obs_key(o: ObservedFact) -> tuple:
    return (o.observed_at, o.day, _norm(o.fact), o.fact, o.category, -o.confidence, tuple(sorted(o.source_message_ids)),
            o.model, o.prompt_version)


@functools.lru_cache(maxsize=65536)
def _analyse(category: str, text: str) -> tuple[Slot | None, Ending | None, Entities]:
    """What a text says (pure, so cached: a user's texts recur at every recompute)."""
    return slot_of(category, text), ending_of(category, text), entities(text)


@functools.lru_cache(maxsize=65536)
def _norm(text: str) -> str:
    return norm(text)


def _texts(observations: Iterable[ObservedFact]) -> list[_Text]:
    groups: dict[str, _Text] = {}
    for o in sorted(observations, key=_obs_key):
        key = _norm(o.fact)
        t = groups.get(key)
        if t is None:
            groups[key] = t = _Text(o.fact, [])
        t.obs.append(o)
    for t in groups.values():
        best = min(t.obs, key=lambda o: (-o.confidence, o.observed_at, o.category))
        t.category, t.confidence = best.category, max(o.confidence for o in t.obs)
        t.ids = frozenset(i for o in t.obs for i in o.source_message_ids)
        t.slot, t.ending, t.entities = _analyse(t.category, t.text)
    return sorted(groups.values(), key=_Text.key)


def needs_vectors(observations: Iterable[ObservedFact]) -> list[str]:
    """The texts whose vectors `consolidate` compares, sorted: those without a slot (a slot's
    wordings merge by value) that share their category with another such text."""
    return _needs_vectors(_texts(observations))


def _needs_vectors(texts: list[_Text]) -> list[str]:
    """Within a (category, ending or not) group, the texts sharing a content word with another
    (paraphrases share one: "enjoys painting" / "paints for fun"; contrast words are canonical, so
    "kids" / "children" share "child"); the rest cannot merge and need no embedding."""
    by_cat: dict[tuple[str, bool], list[_Text]] = defaultdict(list)
    for t in texts:
        if t.slot is None:
            by_cat[(t.category, t.ending is None)].append(t)
    out = []
    for group in by_cat.values():
        seen: dict[str, int] = defaultdict(int)
        for t in group:
            for w in _words(t.text):
                seen[w] += 1
        out += [t.text for t in group if any(seen[w] > 1 for w in _words(t.text))]
    return sorted(out)


@functools.lru_cache(maxsize=65536)
def _words(text: str) -> frozenset[str]:
    return frozenset(CANONICAL.get(w, w) for w in terms(text))


def _same_fact(a: _Text, b: _Text, cosine: float) -> bool:
    if a.category != b.category or (a.ending is None) != (b.ending is None):
        return False
    if a.slot is not None or b.slot is not None:
        return a.slot is not None and b.slot is not None and a.slot.compatible(b.slot)
    return cosine >= MERGE_THRESHOLD and a.entities == b.entities


class _Leaders:
    """One category's cluster leaders and their vectors (rows of a growing matrix; zeros if none)."""

    def __init__(self) -> None:
        self.clusters: list[int] = []
        self.matrix = np.zeros((0, 0), dtype=np.float32)

    def sims(self, vec: np.ndarray | None) -> np.ndarray:
        n = len(self.clusters)
        if vec is None or self.matrix.shape[1] != vec.shape[0]:
            return np.zeros(n, dtype=np.float32)
        return self.matrix[:n] @ vec

    def add(self, cluster: int, vec: np.ndarray | None) -> None:
        n = len(self.clusters)
        dim = self.matrix.shape[1] or (vec.shape[0] if vec is not None else 0)
        if dim and self.matrix.shape[0] <= n:
            grown = np.zeros((max(16, 2 * n), dim), dtype=np.float32)
            if self.matrix.size:
                grown[: self.matrix.shape[0]] = self.matrix
            self.matrix = grown
        if vec is not None and vec.shape[0] == dim:
            self.matrix[n] = vec
        self.clusters.append(cluster)


def _slot_index(t: _Text) -> tuple[str, str, str]:
    """Where a slot's wordings look for each other: by value (a relationship's values are few and
    "partner" goes with several, so all of its values look at each other; `compatible` decides)."""
    assert t.slot is not None
    return (t.category, t.slot.key, "*" if t.slot.key == "relationship" else t.slot.value)


def _clusters(texts: list[_Text], vectors: Mapping[str, np.ndarray]) -> list[list[_Text]]:
    """Leader clustering in `_Text.key` order: a text joins the first leader it is the same fact as.
    Compared with leaders only, so a chain of small differences never merges two far-apart facts.
    Candidates come from an index: leaders of the same slot value, or close enough by cosine."""
    clusters: list[list[_Text]] = []
    leaders: dict[tuple[str, bool], _Leaders] = defaultdict(_Leaders)  # (category, is an ending)
    by_slot: dict[tuple[str, str, str], list[int]] = defaultdict(list)  # (category, slot, value) -> clusters
    for t in texts:
        if t.slot is not None:
            candidates = by_slot[_slot_index(t)]
        else:
            group = leaders[(t.category, t.ending is None)]
            sims = group.sims(vectors.get(t.text))
            candidates = [group.clusters[j] for j in np.flatnonzero(sims >= MERGE_THRESHOLD)]
        for ci in candidates:
            if _same_fact(clusters[ci][0], t, 1.0):  # the cosine was checked by the index
                clusters[ci].append(t)
                break
        else:
            clusters.append([t])
            if t.slot is not None:
                by_slot[_slot_index(t)].append(len(clusters) - 1)
            else:
                leaders[(t.category, t.ending is None)].add(len(clusters) - 1, vectors.get(t.text))
    return clusters


# -- 2. time -----------------------------------------------------------------------------------------

@dataclass
class _Fact:
    members: list[_Text]
    slot: Slot | None
    ending: Ending | None
    terms: frozenset[str]
    times: list[tuple[datetime, date]]  # distinct (observed_at, day), sorted
    periods: list[Period] = field(default_factory=list)

    @property
    def lead(self) -> _Text:
        return self.members[0]

    def open_since(self) -> datetime | None:
        return self.periods[-1].start if self.periods and self.periods[-1].end is None else None

    def end(self, t: datetime, day: date, reason: EndReason) -> None:
        p = self.periods[-1]
        self.periods[-1] = Period(p.start, t, reason, day)


def _closes(ending: Ending, f: _Fact) -> bool:
    if f.ending is not None:
        return False
    if f.slot is not None and f.slot.key in ending.slots:
        want = ending.value_for(f.slot.key)
        have = f.slot.who if f.slot.key == "relationship" else f.slot.value
        return want is None or norm(want) == norm(have)
    return bool(ending.match_terms) and ending.match_terms <= f.terms


def _timeline(facts: list[_Fact]) -> None:
    """Walk every mention in time order; a slot holds one fact at a time, endings close."""
    events = sorted(((t, d, 0 if f.ending is None else 1, f.lead.text, i)
                     for i, f in enumerate(facts) for t, d in f.times))
    holder: dict[str, int] = {}
    targets: dict[int, list[_Fact]] = {}
    endings: dict[str, set[int]] = defaultdict(set)  # slot -> endings that closed it, still holding
    for t, d, _, _, i in events:
        f = facts[i]
        if f.slot is not None:
            cur = holder.get(f.slot.key)
            if cur is not None and cur != i and facts[cur].open_since() is not None:
                facts[cur].end(t, d, "superseded")
            holder[f.slot.key] = i
            # "lost their job" holds until the next job: a new value of a slot it ended supersedes it
            for j in sorted(endings.pop(f.slot.key, ())):
                since = facts[j].open_since()
                if j != i and since is not None and since < t:
                    facts[j].end(t, d, "superseded")
        if f.open_since() is None:
            f.periods.append(Period(t))
        if f.ending is not None:
            for key in f.ending.slots:
                endings[key].add(i)
            if i not in targets:  # what an ending can close does not depend on time
                targets[i] = [g for g in facts if g is not f and _closes(f.ending, g)]
            for g in targets[i]:
                since = g.open_since()
                # a fact said in the very message that ends it stays (the two contradict: keep both)
                if since is not None and since < t:
                    g.end(t, d, "closed")


def consolidate(observations: Sequence[ObservedFact], vectors: Mapping[str, np.ndarray]) -> list[ConsolidatedFact]:
    """One user's (of one bot) observations -> their user_facts rows, sorted by text.

    `vectors`: text -> unit vector for the texts of `needs_vectors` (missing ones merge only by exact
    text or slot value)."""
    return _consolidate(_texts(observations), vectors)


def _consolidate(texts: list[_Text], vectors: Mapping[str, np.ndarray]) -> list[ConsolidatedFact]:
    facts = []
    for members in _clusters(texts, vectors):
        lead = members[0]
        times = sorted({(o.observed_at, o.day) for m in members for o in m.obs})
        facts.append(_Fact(members, lead.slot, lead.ending, terms(lead.text), times))
    _timeline(facts)
    return sorted((_row(f) for f in facts), key=lambda r: r.fact)


def _row(f: _Fact) -> ConsolidatedFact:
    obs = [o for m in f.members for o in m.obs]
    latest = max(obs, key=lambda o: (o.observed_at, o.day, o.model, o.prompt_version))
    ids = sorted({i for o in obs for i in o.source_message_ids})
    return ConsolidatedFact(
        fact=f.lead.text, category=f.lead.category, confidence=max(o.confidence for o in obs),
        mention_count=len(ids), first_seen=min(o.observed_at for o in obs), last_seen=max(o.observed_at for o in obs),
        source_message_ids=tuple(ids), model=latest.model, prompt_version=latest.prompt_version,
        slot=f.slot.key if f.slot else None, periods=f.periods,
        variants=tuple(m.text for m in f.members),
        merged_days=tuple(sorted(o.day for m in f.members[1:] for o in m.obs)),
    )


def consolidate_users(
    observations: Mapping[str, Sequence[ObservedFact]],
    cached: Mapping[str, Mapping[str, np.ndarray]],
    embed: Callable[[list[str]], np.ndarray],
) -> tuple[dict[str, list[ConsolidatedFact]], dict[str, dict[str, np.ndarray]]]:
    """Several users at once: the texts missing from each user's `cached` vectors are embedded in
    one `embed` call (sorted, de-duplicated); returns each user's rows and the vectors they used."""
    texts = {u: _texts(obs) for u, obs in observations.items()}
    wanted = {u: _needs_vectors(t) for u, t in texts.items()}
    missing = sorted({t for u, texts in wanted.items() for t in texts if t not in cached.get(u, {})})
    fresh = dict(zip(missing, embed(missing))) if missing else {}
    rows, used = {}, {}
    for u in sorted(observations):
        have = cached.get(u, {})
        used[u] = {t: have[t] if t in have else fresh[t] for t in wanted[u]}
        rows[u] = _consolidate(texts[u], used[u])
    return rows, used
