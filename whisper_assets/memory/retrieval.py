"""Reading memories back: a user's facts and summaries, always scoped to one bot and one user.

`recall(bot, user, query, now)` is what a bot calls before it answers: it returns the user's facts
(most relevant to the question first), the summaries of the time the question names ("last week",
"yesterday", "in March": see `whisper_assets.core.timephrases`), the summaries closest in meaning and the
past messages closest in meaning (a detail a day's summary left out), every item with its provenance
(partition ``bot|day``, source message ids, window, model).
`RecallResult.as_context()` renders it as a short plain-text block for a bot prompt.

Isolation: every SQL statement binds ``bot_name = :bot AND user_id = :user`` as parameters, and the
Qdrant search filters on both payload fields (and re-checks them on every hit); nothing is ever
read for a user by prefix or pattern.

The older listing helpers (`list_facts`, `list_summaries`, `users_with_memories`) stay below.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Sequence

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection, Engine

from whisper_assets.core.llm.schemas import CATEGORY_DESCRIPTIONS, Category
from whisper_assets.core.messages import epoch_ms, from_epoch_ms, validate_bot_name, validate_user_id
from whisper_assets.core.timephrases import MONDAY, TimeRange, get_zone, resolve_time_range

if TYPE_CHECKING:
    from whisper_assets.core.embedding import Embedder
    from whisper_assets.core.settings import Settings
    from whisper_assets.stores.qdrant import MessageStore

log = logging.getLogger(__name__)

UTC = timezone.utc
MAX_QUERY_CHARS = 2000
MAX_FACTS_SCANNED = 500  # a user's facts ranked per recall (most confident first beyond that)
DEFAULT_LIMIT = 10
DEFAULT_SUMMARY_LIMIT = 7
DEFAULT_RECENT_LIMIT = 3
DEFAULT_RELATED_LIMIT = 3
DEFAULT_MESSAGE_LIMIT = 5
# The Postgres fallback ranks at most this many of a user's latest messages (a Qdrant search has
# no such horizon). Fetching the rows is the cost, not the ranking: a full recall measured p50
# ~16 ms at 1,000 messages and ~60 ms at 5,000 (benchmarks/retrieval.py notes).
MAX_MESSAGES_SCANNED = 1000
# all-MiniLM-L6-v2 cosine: a question and a summary on its topic score ~0.3-0.5 here, unrelated
# pairs ~0.0-0.25 (measured on the shipped model).
DEFAULT_MIN_SCORE = 0.30
# Messages are short, so a question scores lower against the turn that answers it (LoCoMo dev:
# median 0.34, a quarter under 0.24) than against a summary; a question against messages of an
# unrelated conversation scores 0.07 median, 0.21 at the 95th percentile.
DEFAULT_MESSAGE_MIN_SCORE = 0.20
# Category routing by meaning (when no keyword names a category): cosine of the question to the
# category descriptions of llm/schemas.py; on-topic questions score 0.38-0.59, others below 0.3.
CATEGORY_MIN_SCORE = 0.35
CATEGORY_MARGIN = 0.05
DEFAULT_CONTEXT_CHARS = 2000
# Without a `store`, recall searches the Qdrant collections through this process's shared store
# (hot_path.shared_store): free when this process has it open (e.g. it just stored a message),
# else one open (~0.3-0.4 s at 100k points) that later calls within the writer's idle window reuse.
# It waits at most this long for another process's turn at the embedded store, then ranks the
# Postgres vectors instead (benchmarks/results/hot_path_release.json, "recall").
STORE_LOCK_TIMEOUT_S = 0.1


class RecallError(ValueError):
    """The request is invalid (empty or over-long query, naive `now`, unknown time zone...)."""


class UnknownBotError(LookupError):
    """No memories, runs or messages exist for this bot."""

    def __init__(self, bot: str) -> None:
        super().__init__(f"unknown bot {bot!r}: nothing is stored for it")
        self.bot = bot


# -- result types ------------------------------------------------------------------------------------

class Provenance(BaseModel):
    """Where an item came from."""

    partitions: list[str] = Field(
        description="Dagster partition keys 'bot|YYYY-MM-DD': a summary's own partition; for a fact, "
        "the partitions of its first and latest observation"
    )
    source_message_ids: list[str] = Field(description="the messages (Qdrant point ids) it was derived from")
    window_start: datetime = Field(description="summary: window start; fact: first observation")
    window_end: datetime = Field(description="summary: window end (exclusive); fact: latest observation")
    model: str | None = Field(description="the LLM that derived it; None for a message as it was said")
    prompt_version: str | None = None


class FactItem(BaseModel):
    category: str
    fact: str
    confidence: float
    mention_count: int
    first_seen: datetime
    last_seen: datetime
    relevance: float = Field(description="the ranking score (higher first)")
    matched: list[str] = Field(default_factory=list, description="why it ranks where it does")
    provenance: Provenance


class SummaryItem(BaseModel):
    day: date
    start: datetime
    end: datetime
    text: str
    topics: list[str]
    message_count: int
    score: float | None = Field(default=None, description="cosine similarity to the query (related summaries)")
    provenance: Provenance


class MessageItem(BaseModel):
    """A past message of this user's conversation with the bot (either side), as it was said."""

    message_id: str
    role: str = Field(description="'user' or 'bot'")
    timestamp: datetime
    text: str
    score: float = Field(description="cosine similarity to the query")
    provenance: Provenance


class RecallResult(BaseModel):
    bot: str
    user: str
    query: str
    now: datetime
    tz: str
    time_range: TimeRange | None = Field(description="the time the query names, if any")
    categories: list[str] = Field(description="fact categories the query was routed to, most specific first")
    category_source: Literal["keywords", "meaning", "none"]
    facts: list[FactItem]
    summaries: list[SummaryItem] = Field(
        description="summaries in time_range, oldest first; when the query names no time, the most recent "
        "ones not already in `related`"
    )
    summaries_scope: Literal["time_range", "recent"]
    summaries_total: int = Field(description="summaries in time_range before the limit (recent: those shown)")
    related: list[SummaryItem] = Field(
        description="closest in meaning, best first (never repeating the time range's `summaries`)"
    )
    messages: list[MessageItem] = Field(
        default_factory=list,
        description="past messages closest in meaning, best first (within time_range when the query names one)",
    )
    semantic: Literal["qdrant", "postgres", "skipped", "off"] = Field(
        description="where related and messages came from; skipped: the query had no content words to search by"
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.facts or self.summaries or self.related or self.messages)

    def as_context(self, max_chars: int = DEFAULT_CONTEXT_CHARS) -> str:
        """A compact plain-text block for a bot prompt, at most `max_chars` characters."""
        return render_context(self, max_chars)


@dataclass(frozen=True)
class FactRow:
    category: str
    fact: str
    confidence: float
    mention_count: int
    first_seen: datetime
    last_seen: datetime
    source_message_ids: tuple[str, ...]
    model: str
    prompt_version: str


@dataclass(frozen=True)
class SummaryRow:
    day: str
    start: datetime
    end: datetime
    text: str
    topics: tuple[str, ...]
    message_count: int
    source_message_ids: tuple[str, ...]
    model: str
    prompt_version: str


def list_facts(engine: Engine, bot: str, user: str, category: str | None = None, limit: int = 200) -> list[FactRow]:
    """Facts by category, most confident first."""
    validate_bot_name(bot)
    validate_user_id(user)
    if category is not None:
        Category(category)  # raises ValueError naming the unknown category
    query = sa.text(
        "SELECT category, fact_content, confidence, mention_count, first_seen, last_seen,"
        " source_message_ids, model, prompt_version FROM user_facts"
        " WHERE bot_name = :bot AND user_id = :user AND (CAST(:cat AS text) IS NULL OR category = :cat)"
        " ORDER BY category, confidence DESC, mention_count DESC, fact_content LIMIT :limit"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"bot": bot, "user": user, "cat": category, "limit": limit}).all()
    return [FactRow(r[0], r[1], r[2], r[3], r[4], r[5], tuple(map(str, r[6])), r[7], r[8]) for r in rows]


def list_summaries(
    engine: Engine, bot: str, user: str, start: datetime | None = None, end: datetime | None = None,
    limit: int = 100,
) -> list[SummaryRow]:
    """Summaries whose window overlaps [start, end), oldest first."""
    validate_bot_name(bot)
    validate_user_id(user)
    query = sa.text(
        "SELECT day, start_timestamp, end_timestamp, summary_text, topics, message_count,"
        " source_message_ids, model, prompt_version FROM conversation_summaries"
        " WHERE bot_name = :bot AND user_id = :user"
        " AND (CAST(:start AS timestamptz) IS NULL OR end_timestamp > :start)"
        " AND (CAST(:end AS timestamptz) IS NULL OR start_timestamp < :end)"
        " ORDER BY start_timestamp LIMIT :limit"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"bot": bot, "user": user, "start": start, "end": end, "limit": limit}).all()
    return [
        SummaryRow(r[0].isoformat(), r[1], r[2], r[3], tuple(r[4]), r[5], tuple(map(str, r[6])), r[7], r[8])
        for r in rows
    ]


def users_with_memories(engine: Engine, bot: str | None = None) -> list[tuple[str, str]]:
    """(bot, user) pairs that have facts or summaries."""
    query = sa.text(
        "SELECT DISTINCT bot_name, user_id FROM ("
        " SELECT bot_name, user_id FROM user_facts UNION SELECT bot_name, user_id FROM conversation_summaries) u"
        " WHERE CAST(:bot AS text) IS NULL OR bot_name = :bot ORDER BY 1, 2"
    )
    with engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(query, {"bot": bot}).all()]


# -- query understanding -----------------------------------------------------------------------------

_C = Category
# Words that name a category, checked on the question (case-insensitive, whole words).
CATEGORY_ROUTES: list[tuple[re.Pattern, tuple[Category, ...]]] = [
    (re.compile(r"\b(?:jobs?|work(?:s|ing|ed)?|careers?|professions?|occupations?|for\s+a\s+living|"
                r"colleagues?|co-?workers?|boss|office|workplace|employ(?:er|ers|ed|ment)?|compan(?:y|ies))\b", re.I),
     (_C.OCCUPATION, _C.EMPLOYER)),
    (re.compile(r"\b(?:schools?|stud(?:y|ies|ying|ied)|degrees?|universit(?:y|ies)|college|classes|courses?|"
                r"education|graduat\w*|majored)\b", re.I), (_C.EDUCATION,)),
    (re.compile(r"\b(?:where\s+(?:do|did)\s+i\s+(?:live|grow\s+up|come\s+from)|where\s+am\s+i\s+(?:from|based)|"
                r"where\s+i\s+(?:live|am\s+from)|live[sd]?|home\s*town|home|city|town|country|"
                r"neighbou?rhood|address|moved|moving|located|location)\b", re.I), (_C.LOCATION,)),
    (re.compile(r"\b(?:travel\w*|trips?|vacations?|holidays?|visit\w*|abroad|flights?|journeys?)\b", re.I),
     (_C.TRAVEL, _C.PLAN)),
    (re.compile(r"\b(?:pets?|dogs?|cats?|pupp(?:y|ies)|kittens?|animals?|fish|birds?|hamsters?|rabbits?|"
                r"horses?|parrots?)\b", re.I), (_C.PET,)),
    (re.compile(r"\b(?:family|families|wife|husband|spouse|partner|kids?|children|child|sons?|daughters?|"
                r"mom|mum|mother|dad|father|parents?|brothers?|sisters?|siblings?|grand\w+|relatives?|"
                r"married|girlfriend|boyfriend|aunts?|uncles?|cousins?|nephews?|nieces?|baby)\b", re.I),
     (_C.FAMILY,)),
    (re.compile(r"\b(?:hobb(?:y|ies)|for\s+fun|free\s+time|spare\s+time|pastimes?|interests?|sports?|"
                r"play(?:ing)?|learning)\b", re.I), (_C.HOBBY,)),
    (re.compile(r"\b(?:what\s+do\s+i\s+(?:like|love|enjoy|prefer|hate)|likes|dislikes?|favou?rites?|prefer\w*|"
                r"hate|food|diet|vegan|vegetarian|music|movies?|films?|books?)\b", re.I), (_C.PREFERENCE,)),
    (re.compile(r"\b(?:health\w*|allerg\w*|sick|illness|injur\w*|conditions?|doctors?|medical|medications?|"
                r"medicine|diagnos\w*|pain)\b", re.I), (_C.HEALTH,)),
    (re.compile(r"\b(?:plans?|planning|planned|goals?|upcoming|going\s+to|intend\w*|hop(?:e|ing)\s+to)\b", re.I),
     (_C.PLAN,)),
]
_CATEGORY_NAMES = re.compile(r"\b(" + "|".join(c.value for c in Category if c is not Category.OTHER) + r")\b", re.I)

_STOPWORDS = frozenset("""
a about above after again all also am an and any anything are as at be been before being both but by can
could did do does doing done during each else ever every few for from had has have having he her here hers
him his how i i'm if in into is it its it's just know knew me more most my myself no nor not now of off on
once only or other our out over own please recall remember remind said same say see she should so some
something such tell tells telling than that the their them then there these they this those through to
told too under until up us very was we were what when where which while who whom why will with would you
your yours talk talked talking discuss discussed chat chatted conversation conversations mention mentioned
speak spoke ask asked again think thought last past next ago since today yesterday week weeks month months
year years day days don doesn didn isn aren wasn weren won haven hasn couldn wouldn shouldn let
""".split())
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_CONTRACTION = re.compile(r"['’](?:s|re|ve|d|ll|m|t)$")


def _stem(word: str) -> str:
    w = word.lower()
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not (suffix == "s" and w.endswith("ss")):
            w = w[: len(w) - len(suffix)] + repl
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # running -> runn -> run
    return w


def content_terms(text: str) -> set[str]:
    """Stemmed content words (contractions cut, stopwords and one-letter words dropped)."""
    words = (_CONTRACTION.sub("", w) for w in _WORD.findall(text.lower()))
    return {_stem(w) for w in words if w not in _STOPWORDS and len(w) > 1}


def route_categories(text: str) -> list[Category]:
    """Fact categories the question names by keyword, in the order they appear."""
    hits: list[tuple[int, Category]] = []
    for pattern, categories in CATEGORY_ROUTES:
        m = pattern.search(text)
        if m:
            hits.extend((m.start() + i / 10, c) for i, c in enumerate(categories))
    for m in _CATEGORY_NAMES.finditer(text):
        hits.append((m.start(), Category(m.group(1).lower())))
    out: list[Category] = []
    for _, c in sorted(hits, key=lambda h: h[0]):
        if c not in out:
            out.append(c)
    return out


_CATEGORY_VECTORS: dict[int, np.ndarray] = {}
_EMBED_LOCK = threading.Lock()  # one query encode at a time per process
QUERY_TORCH_THREADS = 1
_ROUTABLE = [c for c in Category if c is not Category.OTHER]


def _category_vectors(embedder: Embedder) -> np.ndarray:
    key = id(embedder)
    if key not in _CATEGORY_VECTORS:
        texts = [f"{c.value}: {CATEGORY_DESCRIPTIONS[c]}" for c in _ROUTABLE]
        with _EMBED_LOCK:
            _CATEGORY_VECTORS[key] = embedder.encode(texts)
    return _CATEGORY_VECTORS[key]


def categories_by_meaning(vector: np.ndarray, embedder: Embedder) -> list[Category]:
    """Categories whose description is close to the question's vector (used when no keyword routes)."""
    scores = _category_vectors(embedder) @ vector
    best = float(scores.max())
    if best < CATEGORY_MIN_SCORE:
        return []
    order = np.argsort(-scores)
    picked = [_ROUTABLE[i] for i in order if scores[i] >= max(CATEGORY_MIN_SCORE, best - CATEGORY_MARGIN)]
    if Category.OCCUPATION in picked and Category.EMPLOYER not in picked:
        picked.append(Category.EMPLOYER)
    return picked


def embed_query(embedder: Embedder, text: str) -> np.ndarray:
    """One short query on one torch thread.

    Intra-op threads buy ~1 ms on a short query and cost a lot when the cores are busy: on this
    2-core box with other work running (load ~5), encode_one measured p99 395 ms on 2 threads and
    13 ms on 1 (benchmarks/retrieval.py). torch's thread count is per process, so it is lowered
    only around this call (under a lock) and restored; batch encoders elsewhere keep theirs.
    The ONNX Runtime backend (the default) needs none of this, and must not import torch.
    """
    if getattr(embedder, "backend", "torch") != "torch":
        return embedder.encode_one(text)
    import torch

    with _EMBED_LOCK:
        previous = torch.get_num_threads()
        if previous != QUERY_TORCH_THREADS:
            torch.set_num_threads(QUERY_TORCH_THREADS)
        try:
            return embedder.encode_one(text)
        finally:
            if previous != QUERY_TORCH_THREADS:
                torch.set_num_threads(previous)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _embed_pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recall-embed")
        return _POOL


def _timed_embed(embedder: Embedder, text: str) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    vector = embed_query(embedder, text)
    return vector, (time.perf_counter() - t) * 1000


def warm_up(embedder: Embedder | None) -> None:
    """Load what the first recall would otherwise load: dateparser data, the category vectors."""
    from whisper_assets.core import timephrases

    timephrases.warm_up()
    if embedder is not None:
        _category_vectors(embedder)
        _embed_pool().submit(_timed_embed, embedder, "warm up").result()  # on the thread recall uses


# -- SQL (every statement is scoped by bot and user) ---------------------------------------------------

_FACTS_SQL = sa.text(
    "SELECT category, fact_content, confidence, mention_count, first_seen, last_seen,"
    " source_message_ids::text[], model, prompt_version FROM user_facts"
    " WHERE bot_name = :bot AND user_id = :user AND (CAST(:cat AS text) IS NULL OR category = :cat)"
    " AND (CAST(:now AS timestamptz) IS NULL OR first_seen <= :now)"
    " ORDER BY confidence DESC, mention_count DESC, last_seen DESC, fact_content LIMIT :cap"
)
_SUMMARY_COLUMNS = (
    "day, start_timestamp, end_timestamp, summary_text, topics, message_count,"
    " source_message_ids::text[], model, prompt_version"
)
_RANGE_SQL = sa.text(
    f"SELECT {_SUMMARY_COLUMNS}, count(*) OVER () FROM conversation_summaries"
    " WHERE bot_name = :bot AND user_id = :user AND start_timestamp < :end AND end_timestamp > :start"
    " ORDER BY start_timestamp DESC LIMIT :limit"
)
_RECENT_SQL = sa.text(
    f"SELECT {_SUMMARY_COLUMNS}, 0 FROM conversation_summaries"
    " WHERE bot_name = :bot AND user_id = :user AND start_timestamp <= :now"
    " ORDER BY start_timestamp DESC LIMIT :limit"
)
_VECTORS_SQL = sa.text(
    "SELECT start_timestamp, end_timestamp, embedding FROM summary_embeddings"
    " WHERE bot_name = :bot AND user_id = :user AND start_timestamp <= :now"
)
_BY_START_SQL = sa.text(
    f"SELECT {_SUMMARY_COLUMNS}, 0 FROM conversation_summaries"
    " WHERE bot_name = :bot AND user_id = :user AND start_timestamp = ANY(:starts)"
)
_MESSAGES_SQL = sa.text(
    "SELECT message_id::text, role, content, ts, vector FROM pending_messages"
    " WHERE bot_name = :bot AND user_id = :user AND ts <= :now"
    " AND (CAST(:start AS timestamptz) IS NULL OR ts >= :start)"
    " AND (CAST(:end AS timestamptz) IS NULL OR ts < :end)"
    " ORDER BY ts DESC LIMIT :cap"
)
_BOT_EXISTS_SQL = sa.text(
    "SELECT EXISTS (SELECT 1 FROM user_facts WHERE bot_name = :bot)"
    " OR EXISTS (SELECT 1 FROM conversation_summaries WHERE bot_name = :bot)"
    " OR EXISTS (SELECT 1 FROM enrichment_metadata WHERE bot_name = :bot)"
)


def _partition(bot: str, day: date) -> str:
    return f"{bot}|{day.isoformat()}"


def _fact_item(bot: str, r: Sequence[Any], relevance: float = 0.0, matched: list[str] | None = None) -> FactItem:
    first, last = r[4], r[5]
    partitions = list(dict.fromkeys(_partition(bot, t.astimezone(UTC).date()) for t in (first, last)))
    return FactItem(
        category=r[0], fact=r[1], confidence=r[2], mention_count=r[3], first_seen=first, last_seen=last,
        relevance=round(relevance, 4), matched=matched or [],
        provenance=Provenance(partitions=partitions, source_message_ids=list(r[6]), window_start=first,
                              window_end=last, model=r[7], prompt_version=r[8]),
    )


def _summary_item(bot: str, r: Sequence[Any], score: float | None = None) -> SummaryItem:
    return SummaryItem(
        day=r[0], start=r[1], end=r[2], text=r[3], topics=list(r[4]), message_count=r[5],
        score=None if score is None else round(score, 4),
        provenance=Provenance(partitions=[_partition(bot, r[0])], source_message_ids=list(r[6]),
                              window_start=r[1], window_end=r[2], model=r[7], prompt_version=r[8]),
    )


def bot_exists(conn: Connection, bot: str, store: MessageStore | None = None) -> bool:
    """Anything stored for this bot: facts, summaries, enrichment runs (or messages, given a store)."""
    if conn.execute(_BOT_EXISTS_SQL, {"bot": bot}).scalar():
        return True
    return store is not None and store.has_messages(bot)


def _rank_facts(
    rows: Sequence[Sequence[Any]], categories: list[Category], terms: set[str], limit: int, bot: str,
    how: str,
) -> list[FactItem]:
    """Highest relevance first, ties by recency:
    relevance = 2 if the fact's category was routed (so routed facts always come first)
              + the share of the query's content words the fact contains (0-1)
              + 0.5 x confidence + 0.01 x mentions (capped at 10)."""
    rank_of = {c.value: i for i, c in enumerate(categories)}
    scored = []
    for r in rows:
        matched = []
        routed = r[0] in rank_of
        if routed:
            matched.append(f"category {r[0]} ({how})")
        overlap = terms & content_terms(r[1]) if terms else set()
        if overlap:
            matched.append("words: " + ", ".join(sorted(overlap)))
        relevance = (
            (2.0 - rank_of[r[0]] / 100 if routed else 0.0)
            + (len(overlap) / max(len(terms), 1) if overlap else 0.0)
            + 0.5 * float(r[2]) + 0.01 * min(int(r[3]), 10)
        )
        scored.append((-relevance, -r[5].timestamp(), r[1], r, matched))
    scored.sort(key=lambda s: s[:3])
    return [_fact_item(bot, s[3], -s[0], s[4]) for s in scored[:limit]]


def _strip_phrase(query: str, time_range: TimeRange | None) -> str:
    if time_range is None:
        return query
    pattern = r"\s+".join(re.escape(p) for p in time_range.phrase.split())
    return re.sub(pattern, " ", query, count=1, flags=re.I)


def _check(bot: str, user: str, query: str, limit: int) -> str:
    validate_bot_name(bot)
    validate_user_id(user)
    if not isinstance(query, str) or not query.strip():
        raise RecallError("query is empty: ask something, e.g. 'what did we talk about last week?'")
    if len(query) > MAX_QUERY_CHARS:
        raise RecallError(f"query is {len(query)} characters; at most {MAX_QUERY_CHARS}")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in query):
        raise RecallError("query contains control characters")
    if not 1 <= limit <= MAX_FACTS_SCANNED:
        raise RecallError(f"limit must be between 1 and {MAX_FACTS_SCANNED}")
    return " ".join(query.split())


def recall(
    bot: str,
    user: str,
    query: str,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    *,
    tz: str = "UTC",
    engine: Engine | None = None,
    store: MessageStore | None = None,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    semantic: bool = True,
    query_vector: np.ndarray | None = None,
    summary_limit: int = DEFAULT_SUMMARY_LIMIT,
    recent_limit: int = DEFAULT_RECENT_LIMIT,
    related_limit: int = DEFAULT_RELATED_LIMIT,
    message_limit: int = DEFAULT_MESSAGE_LIMIT,
    min_score: float = DEFAULT_MIN_SCORE,
    message_min_score: float = DEFAULT_MESSAGE_MIN_SCORE,
    week_start: int = MONDAY,
) -> RecallResult:
    """What `bot` remembers about `user` that bears on `query`.

    - facts: at most `limit`, most relevant first: facts of the categories the query names
      ("my job"/"work" -> occupation, employer; "my pets" -> pet; "family"; "where do I live" ->
      location; ... see CATEGORY_ROUTES) come first; when no keyword names one and the query is
      embedded anyway, the categories whose descriptions are closest in meaning (cosine >= 0.35);
      then word overlap with the query, confidence, mentions, recency. Fact texts are not embedded
      per query (100 facts cost ~60 ms to embed on 2 cores; see benchmarks/retrieval.py).
    - summaries: those overlapping the time range the query names (`resolve_time_range(query, now,
      tz)`: "last week", "yesterday", "in March"... in the user's time zone `tz`, weeks from Monday),
      the latest `summary_limit` of them, oldest first. With no time phrase: the latest
      `recent_limit` summaries that are not already among `related`.
    - related: up to `related_limit` summaries closest in meaning to the query (cosine >=
      `min_score`), best first, not repeating the time range's `summaries`. The query (minus its time phrase) is embedded with
      `embedder` (default `get_embedder()`), or `query_vector` is used as given. Given a `store`
      (a held-open embedded store or a Qdrant server), its `summaries` collection is searched
      with a filter on bot_name and user_id. Without one, when recall finds its own database
      (`engine` not given) or is given `settings`, the store of those settings is taken through
      this process's shared writer (`hot_path.shared_store`: free if this process holds it
      open, else an open), waiting at most STORE_LOCK_TIMEOUT_S for another process's turn.
      Otherwise, or when the store stays busy, the same vectors are ranked from Postgres
      `summary_embeddings` of that bot and user by exact cosine in numpy.
      Skipped when the query has no content words ("what did we talk about last week?").
    - messages: up to `message_limit` past messages of the user's conversation with this bot (both
      sides) closest in meaning to the same query vector (cosine >= `message_min_score`), said at or before
      `now` and inside the time range when the query names one. A summary keeps a day's gist; the
      message keeps the detail ("what did I say the new shoes were for?"). From the store's
      `messages` collection (every message, enriched or not yet: what `store_message` just wrote
      is found at once) or, without a store, from the
      vectors staged in Postgres `pending_messages` (enriched messages only; the latest
      MAX_MESSAGES_SCANNED of the user, ranked exactly).

    `now` is timezone-aware (default: now, UTC). `engine` defaults to `get_engine(settings)`,
    `settings` to `get_settings()`.
    Raises InvalidMessageError (bad bot name or user id), RecallError (empty query, naive `now`,
    unknown `tz`...), UnknownBotError when nothing at all is stored for the bot. An unknown user of a
    known bot is not an error: the result is empty and `as_context()` says nothing is known.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    query = _check(bot, user, query, limit)
    try:
        zone = get_zone(tz)
    except ValueError as exc:
        raise RecallError(str(exc)) from None
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise RecallError(f"now must be timezone-aware, got {now.isoformat()}")
    time_range = resolve_time_range(query, now, zone.key, week_start=week_start)
    rest = _strip_phrase(query, time_range)
    terms = content_terms(rest)
    categories = route_categories(rest)
    category_source: Literal["keywords", "meaning", "none"] = "keywords" if categories else "none"
    timings["parse"] = (time.perf_counter() - t0) * 1000

    vector = None
    pending: Future | None = None
    semantic_mode: Literal["qdrant", "postgres", "skipped", "off"] = "off"
    if semantic:
        semantic_mode = "skipped"
        if query_vector is not None:
            vector = np.asarray(query_vector, dtype=np.float32)
        elif terms:
            if embedder is None:
                from whisper_assets.core.embedding import get_embedder
                from whisper_assets.core.settings import get_settings

                embedder = get_embedder(get_settings().torch_threads)
            # embedded on a worker thread while the facts and time-range queries run
            pending = _embed_pool().submit(_timed_embed, embedder, rest)

    take_store = store is None and (engine is None or settings is not None)
    if engine is None or take_store:
        from whisper_assets.core.settings import get_settings

        settings = settings or get_settings()
    if engine is None:
        from whisper_assets.stores.postgres import get_engine

        engine = get_engine(settings)
    # As of `now`: nothing first learnt, or said, after it (matters when `now` is in the past).
    params = {"bot": bot, "user": user, "now": now}
    with contextlib.ExitStack() as held, engine.connect() as conn:
        t = time.perf_counter()
        fact_rows = conn.execute(_FACTS_SQL, {**params, "cat": None, "cap": MAX_FACTS_SCANNED}).all()
        timings["facts_sql"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        if time_range is not None:
            rows = conn.execute(
                _RANGE_SQL, {**params, "start": time_range.start, "end": time_range.end, "limit": summary_limit}
            ).all()
            total = int(rows[0][-1]) if rows else 0
        else:  # the latest few; the related ones are taken out of them below
            rows = conn.execute(_RECENT_SQL, {**params, "limit": recent_limit + related_limit}).all()
        summaries = [_summary_item(bot, r) for r in reversed(rows)]
        timings["summaries_sql"] = (time.perf_counter() - t) * 1000

        if pending is not None:
            t = time.perf_counter()
            vector, timings["embed"] = pending.result()
            timings["embed_wait"] = (time.perf_counter() - t) * 1000
        if vector is not None and not categories and embedder is not None:
            categories = categories_by_meaning(vector, embedder)
            category_source = "meaning" if categories else "none"

        related: list[SummaryItem] = []
        messages: list[MessageItem] = []
        if vector is not None:
            if take_store:
                t = time.perf_counter()
                store = _shared_store(held, settings)
                timings["store"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            shown = {s.start for s in summaries} if time_range is not None else set()
            if store is not None:
                semantic_mode = "qdrant"
                related = _related_qdrant(conn, store, bot, user, vector, shown, related_limit, min_score, now)
            else:
                semantic_mode = "postgres"
                related = _related_postgres(conn, bot, user, vector, shown, related_limit, min_score, now)
            timings["semantic"] = (time.perf_counter() - t) * 1000
            if message_limit:
                t = time.perf_counter()
                if store is not None:
                    messages = _messages_qdrant(store, bot, user, vector, time_range, message_limit,
                                                message_min_score, now)
                else:
                    messages = _messages_postgres(conn, bot, user, vector, time_range, message_limit,
                                                  message_min_score, now)
                timings["messages"] = (time.perf_counter() - t) * 1000
        if time_range is None:
            taken = {s.start for s in related}
            summaries = [s for s in summaries if s.start not in taken][-recent_limit:] if recent_limit else []
            total = len(summaries)
        if not (fact_rows or summaries or related or messages) and not bot_exists(conn, bot, store):
            raise UnknownBotError(bot)

    t = time.perf_counter()
    facts = _rank_facts(fact_rows, categories, terms, limit, bot, category_source)
    timings["rank"] = (time.perf_counter() - t) * 1000
    timings["total"] = (time.perf_counter() - t0) * 1000
    return RecallResult(
        bot=bot, user=user, query=query, now=now, tz=zone.key, time_range=time_range,
        categories=[c.value for c in categories], category_source=category_source, facts=facts,
        summaries=summaries, summaries_scope="time_range" if time_range else "recent", summaries_total=total,
        related=related, messages=messages, semantic=semantic_mode, timings_ms={k: round(v, 3) for k, v in timings.items()},
    )


def _shared_store(held: contextlib.ExitStack, settings: Settings) -> MessageStore | None:
    """This process's shared store, held until `held` closes; None if it stays busy or fails."""
    from whisper_assets.memory.hot_path import shared_store
    from whisper_assets.stores.qdrant import StoreBusyError, StoreError

    try:
        return held.enter_context(shared_store(settings, STORE_LOCK_TIMEOUT_S))
    except StoreBusyError:
        return None
    except StoreError as exc:
        log.warning("recall: the Qdrant store is unusable (%s); ranking the Postgres vectors", exc)
        return None


def _cosines(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Exact cosine of each row to `vector` (what a Qdrant cosine search scores)."""
    norms = np.linalg.norm(matrix, axis=1)
    return (matrix @ vector) / np.maximum(norms * float(np.linalg.norm(vector)), 1e-12)


def _related_postgres(
    conn: Connection, bot: str, user: str, vector: np.ndarray, shown: set[datetime], k: int, min_score: float,
    now: datetime,
) -> list[SummaryItem]:
    rows = conn.execute(_VECTORS_SQL, {"bot": bot, "user": user, "now": now}).all()
    if not rows:
        return []
    scores = _cosines(np.asarray([r[2] for r in rows], dtype=np.float32), vector)
    picked: list[tuple[float, datetime, datetime]] = []
    for i in np.argsort(-scores):
        if scores[i] < min_score or len(picked) == k:
            break
        if rows[i][0] not in shown:
            picked.append((float(scores[i]), rows[i][0], rows[i][1]))
    return _summaries_for(conn, bot, user, picked)


def _related_qdrant(
    conn: Connection, store: MessageStore, bot: str, user: str, vector: np.ndarray, shown: set[datetime],
    k: int, min_score: float, now: datetime,
) -> list[SummaryItem]:
    hits = store.search_summaries(bot, user, vector, epoch_ms(now) + 1, k + len(shown))
    picked: list[tuple[float, datetime, datetime]] = []
    for hit in hits:
        p = hit.payload
        if hit.score is None or hit.score < min_score or len(picked) == k:
            break
        start, end = from_epoch_ms(int(p["start_ts"])), from_epoch_ms(int(p["end_ts"]))
        if start not in shown and start <= now:
            picked.append((float(hit.score), start, end))
    return _summaries_for(conn, bot, user, picked)


def _message_item(bot: str, message_id: str, role: str, text: str, ts: datetime, score: float) -> MessageItem:
    return MessageItem(
        message_id=message_id, role=role, timestamp=ts, text=text, score=round(score, 4),
        provenance=Provenance(partitions=[_partition(bot, ts.astimezone(UTC).date())],
                              source_message_ids=[message_id], window_start=ts, window_end=ts, model=None),
    )


def _messages_qdrant(
    store: MessageStore, bot: str, user: str, vector: np.ndarray, time_range: TimeRange | None, k: int,
    min_score: float, now: datetime,
) -> list[MessageItem]:
    upper = epoch_ms(now) + 1
    lower = None
    if time_range is not None:
        upper = min(upper, epoch_ms(time_range.end))
        lower = epoch_ms(time_range.start)
    out: list[MessageItem] = []
    for hit in store.search_messages(bot, user, vector, lower, upper, k):
        p = hit.payload
        if hit.score is None or hit.score < min_score:
            break
        out.append(_message_item(bot, str(p["message_id"]), p["role"], p["content"],
                                 from_epoch_ms(int(p["ts"])), float(hit.score)))
    return out


def _messages_postgres(
    conn: Connection, bot: str, user: str, vector: np.ndarray, time_range: TimeRange | None, k: int,
    min_score: float, now: datetime,
) -> list[MessageItem]:
    params = {"bot": bot, "user": user, "now": now, "cap": MAX_MESSAGES_SCANNED,
              "start": time_range.start if time_range else None, "end": time_range.end if time_range else None}
    rows = conn.execute(_MESSAGES_SQL, params).all()
    if not rows:
        return []
    matrix = np.frombuffer(b"".join(bytes(r[4]) for r in rows), dtype=np.float32).reshape(len(rows), -1)
    scores = _cosines(matrix, vector)
    out = []
    for i in np.argsort(-scores, kind="stable")[:k]:
        if scores[i] < min_score:
            break
        r = rows[i]
        out.append(_message_item(bot, r[0], r[1], r[2], r[3], float(scores[i])))
    return out


def _summaries_for(
    conn: Connection, bot: str, user: str, picked: list[tuple[float, datetime, datetime]]
) -> list[SummaryItem]:
    """The Postgres rows (text, provenance) of the picked windows, in score order.

    A vector whose summary is gone from Postgres (pruned, or re-materialized since) is dropped.
    """
    if not picked:
        return []
    rows = conn.execute(_BY_START_SQL, {"bot": bot, "user": user, "starts": [p[1] for p in picked]}).all()
    by_key = {(r[1], r[2]): r for r in rows}
    out = []
    for score, start, end in picked:
        r = by_key.get((start, end))
        if r is not None:
            out.append(_summary_item(bot, r, score))
    return out


def get_facts(
    bot: str, user: str, category: str | None = None, limit: int = 200, *, engine: Engine | None = None
) -> list[FactItem]:
    """A user's facts with provenance, most confident first (optionally one category).

    Raises InvalidMessageError, ValueError (unknown category) or UnknownBotError.
    """
    validate_bot_name(bot)
    validate_user_id(user)
    if category is not None:
        try:
            category = Category(category).value
        except ValueError:
            raise RecallError(
                f"unknown category {category!r}: use one of {', '.join(c.value for c in Category)}"
            ) from None
    if not 1 <= limit <= MAX_FACTS_SCANNED:
        raise RecallError(f"limit must be between 1 and {MAX_FACTS_SCANNED}")
    if engine is None:
        from whisper_assets.core.settings import get_settings
        from whisper_assets.stores.postgres import get_engine

        engine = get_engine(get_settings())
    with engine.connect() as conn:
        rows = conn.execute(_FACTS_SQL, {"bot": bot, "user": user, "cat": category, "cap": limit, "now": None}).all()
        if not rows and not bot_exists(conn, bot):
            raise UnknownBotError(bot)
    return [_fact_item(bot, r, relevance=float(r[2])) for r in rows]


# -- the context block ---------------------------------------------------------------------------------

FACT_CHARS = 200
SUMMARY_CHARS = 320
MESSAGE_CHARS = 200


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def render_context(result: RecallResult, max_chars: int = DEFAULT_CONTEXT_CHARS) -> str:
    """Plain text, at most `max_chars`: facts, then conversations (the time range's, then related
    ones; with no time named, related ones, then recent ones), then past messages. An empty result
    says plainly that nothing is known. Lines that do not fit are dropped from the end of the least
    important section first (with a time range: messages, related, facts, the range's
    conversations; without one: recent, messages, facts, related; a fact and a conversation of the
    range always stay) and counted as "(+N more not shown)"; facts and messages are clipped to 200
    characters and summaries to 320. Messages are quoted, with who said them.
    """
    now = result.now.astimezone(get_zone(result.tz))
    header = f"Memory of this user (as of {now:%Y-%m-%d %H:%M} {result.tz}):"
    if result.is_empty:
        if result.time_range is not None:
            tr = result.time_range
            return _fit(f"{header}\nNothing is known about this user: no facts are stored and no "
                        f"conversations were found for \"{tr.phrase}\" ({tr.label}).", max_chars)
        return _fit(f"{header}\nNothing is known about this user yet: no facts and no conversation "
                    "summaries are stored.", max_chars)

    facts = [f"- [{f.category}] {_clip(f.fact, FACT_CHARS)} (confidence {f.confidence:.2f})" for f in result.facts]
    fact_title = "Facts (most relevant first):" if facts else "Facts: none stored."
    if result.summaries_scope == "time_range" and result.time_range is not None:
        tr = result.time_range
        when = f"\"{tr.phrase}\" ({tr.label})"
        hidden = result.summaries_total - len(result.summaries)
        conv_title = (f"Conversations {when}:" if result.summaries else f"Conversations {when}: none found.")
        if hidden > 0:
            conv_title = f"Conversations {when}, the latest {len(result.summaries)} of {result.summaries_total}:"
    else:
        conv_title = "Recent conversations:"
    convs = [f"- {s.day.isoformat()}: {_clip(s.text, SUMMARY_CHARS)}" for s in result.summaries]
    related = [f"- {s.day.isoformat()}: {_clip(s.text, SUMMARY_CHARS)}" for s in result.related]
    said = [f"- {m.timestamp.astimezone(get_zone(result.tz)):%Y-%m-%d} {m.role}: "
            f"\"{_clip(m.text, MESSAGE_CHARS)}\"" for m in result.messages]
    # [title, lines, lines always kept, shown when empty]; dropped lines are counted per section
    fact_section = [fact_title, facts, 1, True]
    related_section = ["Conversations related to the question:", related, 0, False]
    said_section = ["Past messages related to the question:", said, 0, False]
    if result.summaries_scope == "time_range":
        conv_section = [conv_title, convs, 1, True]
        order = [fact_section, conv_section, related_section, said_section]
        drop_first = [said_section, related_section, fact_section, conv_section]
    else:  # no time named: what matches the question matters more than what was recent
        conv_section = [conv_title, convs, 0, bool(convs) or not related]
        if not convs and not related:
            conv_section[0] = "Conversations: none stored."
        order = [fact_section, related_section, conv_section, said_section]
        drop_first = [conv_section, said_section, fact_section, related_section]
    dropped = {id(sec): 0 for sec in order}

    def build() -> str:
        out = [header]
        for sec in order:
            title, lines, _, show_empty = sec
            if not lines and not show_empty and not dropped[id(sec)]:
                continue
            out.append(title)
            out.extend(lines)
            if dropped[id(sec)]:
                out.append(f"- (+{dropped[id(sec)]} more not shown)")
        return "\n".join(out)

    for sec in drop_first:
        lines, keep = sec[1], sec[2]
        while len(build()) > max_chars and len(lines) > keep:
            lines.pop()
            dropped[id(sec)] += 1
    return _fit(build(), max_chars)


def _fit(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
