"""`recall()`: what a bot remembers about a user that bears on a question.

- facts: those that hold as of `now` (a fact superseded or closed later still held then; see
  core/enrichment/consolidation.py), at most `limit`, most relevant first: facts of the categories the query names
  ("my job"/"work" -> occupation, employer; "my pets" -> pet; "family"; "where do I live" ->
  location; ... see query.CATEGORY_ROUTES) come first; when no keyword names one and the query is
  embedded anyway, the categories whose descriptions are closest in meaning (cosine >= 0.35);
  then word overlap with the query, confidence, mentions, recency. When the query has content
  words, only the facts that bear on it are returned (a routed category or a shared content word):
  a fact matching neither would take a place a matching summary or message deserves; a query with
  none ("what do you know about me?") gets the most confident facts. Fact texts are not embedded
  per query (100 facts cost ~60 ms to embed on 2 cores; see benchmarks/retrieval.py).
- history: the facts that held before `now` and no longer do (a former home, an old job, an
  ended relationship), ranked the same way, when `options.history` is true, or when it is None
  and the question asks about the past ("where did I live before?", "what was my old job?").
- summaries: those overlapping the time range the query names (`resolve_time_range(query, now,
  tz)`: "last week", "yesterday", "in March"... in the user's time zone `tz`, weeks from
  `week_start`), the latest `summary_limit` of them, oldest first. With no time phrase: the latest
  `recent_limit` summaries that are not already among `related`, unless the query has content
  words and found a related summary or a past message holding one of them: then no summaries
  chosen by date alone (asked after a whole LoCoMo dev conversation, the latest summaries held an
  evidence turn for 7 of 231 questions while taking places the question's own items deserve:
  strict evidence recall@10 0.680 -> 0.710).
- related: up to `related_limit` summaries closest in meaning to the query (cosine >=
  `min_score`), best first, not repeating the time range's `summaries`; of the RERANK_POOL nearest,
  those holding the query's rarer content words move up (rank fusion, lexical.py). The query (minus its time
  phrase) is embedded with `embedder` (default `get_embedder()`), or `query_vector` is used as
  given. Given a `store` (a held-open embedded store or a Qdrant server), its `summaries`
  collection is searched with a filter on bot_name and user_id. Without one, when recall finds its
  own database (`engine` not given) or is given `settings`, the store of those settings is taken
  through this process's shared writer (`hot_path.shared_store`: free if this process holds it
  open, else an open), waiting at most vectors.STORE_LOCK_TIMEOUT_S for another process's turn.
  Otherwise, or when the store stays busy, the same vectors are ranked from Postgres
  `summary_embeddings` of that bot and user by exact cosine in numpy.
  Skipped when the query has no content words ("what did we talk about last week?").
- messages: up to `message_limit` past messages of the user's conversation with this bot (both
  sides) closest in meaning to the same query vector (cosine >= `message_min_score`), said at or
  before `now` and inside the time range when the query names one; like related summaries, the
  limits.RERANK_POOL nearest are re-ranked with the query's rarer words (lexical.py). A summary keeps a day's gist;
  the message keeps the detail ("what did I say the new shoes were for?"). From the store's
  `messages` collection (every message, enriched or not yet: what `store_message` just wrote is
  found at once) or, without a store, from the vectors staged in Postgres `pending_messages`
  (enriched messages only; the latest MAX_MESSAGES_SCANNED of the user, ranked exactly).
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterator, Literal

import numpy as np

from whisper_assets.core.llm.schemas import Category
from whisper_assets.core.timephrases import TimeRange, get_zone, resolve_time_range
from whisper_assets.memory.retrieval import vectors
from whisper_assets.memory.retrieval.facts import as_of, bot_exists, rank_facts, without_implied
from whisper_assets.memory.retrieval.limits import MAX_FACTS_SCANNED
from whisper_assets.memory.retrieval.models import (
    UTC, MessageItem, RecallError, RecallOptions, RecallResult, SummaryItem, UnknownBotError, summary_item,
)
from whisper_assets.memory.retrieval.query import (
    asks_history, categories_by_meaning, check_query, content_terms, embed_pool, route_categories, strip_phrase,
    timed_embed,
)
from whisper_assets.stores.repository import consolidation, memories

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from whisper_assets.core.embedding import Embedder
    from whisper_assets.core.settings import Settings
    from whisper_assets.stores.qdrant import MessageStore

CategorySource = Literal["keywords", "meaning", "none"]


def recall(
    bot: str,
    user: str,
    query: str,
    options: RecallOptions | None = None,
    *,
    engine: Engine | None = None,
    store: MessageStore | None = None,
    embedder: Embedder | None = None,
    settings: Settings | None = None,
    query_vector: np.ndarray | None = None,
) -> RecallResult:
    """What `bot` remembers about `user` that bears on `query` (see the module docstring), as of
    `options.now` (timezone-aware; default: now, UTC). `engine` defaults to `get_engine(settings)`,
    `settings` to `get_settings()`; `query_vector`, when given, is used instead of embedding.

    Raises InvalidMessageError (bad bot name or user id), RecallError (empty query, naive `now`),
    UnknownBotError when nothing at all is stored for the bot. An unknown user of a known bot is
    not an error: the result is empty and `as_context()` says nothing is known.
    """
    t0 = time.perf_counter()
    options = options or RecallOptions()
    timings: dict[str, float] = {}
    q = _Question.parse(bot, user, query, options)
    timings["parse"] = _ms(t0)
    embedding = _Embedding.start(q, options, embedder, query_vector)
    take_store = store is None and (engine is None or settings is not None)
    engine, settings = _resources(engine, settings, take_store)
    with contextlib.ExitStack() as held, engine.connect() as conn:
        with _timed(timings, "facts_sql"):  # as of `now`: nothing first learnt after it
            records = consolidation.fact_records(conn, bot, user, limit=MAX_FACTS_SCANNED, now=q.now)
            fact_rows, past_rows = as_of(records, q.now)
            fact_rows = without_implied(fact_rows)
        with _timed(timings, "summaries_sql"):
            summaries, total = _summaries_by_time(conn, bot, user, q, options)
        vector = embedding.wait(timings)
        if vector is not None and not q.categories and embedding.embedder is not None:
            q.categories = categories_by_meaning(vector, embedding.embedder)
            q.category_source = "meaning" if q.categories else "none"
        related: list[SummaryItem] = []
        messages: list[MessageItem] = []
        mode: Literal["qdrant", "postgres", "skipped", "off"] = embedding.mode
        if vector is not None:
            if take_store:
                with _timed(timings, "store"):
                    store = vectors.shared_store(held, settings)
            mode = "qdrant" if store is not None else "postgres"
            related, messages = _by_meaning(conn, store, bot, user, vector, q, summaries, options, timings)
        if q.time_range is None:
            summaries = _recent(summaries, related, messages, q, options)
            total = len(summaries)
        if not (records or summaries or related or messages) and not bot_exists(conn, bot, store):
            raise UnknownBotError(bot)
    with _timed(timings, "rank"):
        facts = rank_facts(fact_rows, q.categories, q.terms, options.limit, bot, q.category_source)
        if q.terms:  # a question to judge by: only the facts that bear on it (see the module docstring)
            facts = [f for f in facts if f.matched]
        wants_history = options.history if options.history is not None else asks_history(q.rest)
        history = rank_facts(past_rows, q.categories, q.terms, options.limit, bot, q.category_source) \
            if wants_history else []
    timings["total"] = _ms(t0)
    return RecallResult(
        bot=bot, user=user, query=q.query, now=q.now, tz=q.tz, time_range=q.time_range,
        categories=[c.value for c in q.categories], category_source=q.category_source, facts=facts,
        facts_held=len(fact_rows), history=history,
        summaries=summaries, summaries_scope="time_range" if q.time_range else "recent", summaries_total=total,
        related=related, messages=messages, semantic=mode, timings_ms={k: round(v, 3) for k, v in timings.items()},
    )


@dataclass
class _Question:
    """The query checked and understood: its time range, what is left to search by, its categories."""

    query: str
    now: datetime
    tz: str
    time_range: TimeRange | None
    rest: str
    terms: set[str]
    categories: list[Category]
    category_source: CategorySource

    @classmethod
    def parse(cls, bot: str, user: str, query: str, options: RecallOptions) -> _Question:
        query = check_query(bot, user, query)
        try:
            zone = get_zone(options.tz)
        except ValueError as exc:  # an unvalidated RecallOptions (model_construct)
            raise RecallError(str(exc)) from None
        now = options.now
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None or now.utcoffset() is None:
            raise RecallError(f"now must be timezone-aware, got {now.isoformat()}")
        time_range = resolve_time_range(query, now, zone.key, week_start=options.week_start)
        rest = strip_phrase(query, time_range)
        categories = route_categories(rest)
        return cls(query, now, zone.key, time_range, rest, content_terms(rest), categories,
                   "keywords" if categories else "none")


@dataclass
class _Embedding:
    """The query vector: given, being computed on the embedding thread, or none (`mode` says why)."""

    mode: Literal["off", "skipped"]
    embedder: Embedder | None
    vector: np.ndarray | None = None
    pending: Future | None = None

    @classmethod
    def start(cls, q: _Question, options: RecallOptions, embedder: Embedder | None,
              query_vector: np.ndarray | None) -> _Embedding:
        if not options.semantic:
            return cls("off", embedder)
        if query_vector is not None:
            return cls("skipped", embedder, vector=np.asarray(query_vector, dtype=np.float32))
        if not q.terms:
            return cls("skipped", embedder)
        if embedder is None:
            from whisper_assets.core.embedding import get_embedder
            from whisper_assets.core.settings import get_settings

            embedder = get_embedder(get_settings().torch_threads)
        # embedded on a worker thread while the facts and time-range queries run
        return cls("skipped", embedder, pending=embed_pool().submit(timed_embed, embedder, q.rest))

    def wait(self, timings: dict[str, float]) -> np.ndarray | None:
        if self.pending is not None:
            t = time.perf_counter()
            self.vector, timings["embed"] = self.pending.result()
            timings["embed_wait"] = _ms(t)
        return self.vector


def _resources(engine: Engine | None, settings: Settings | None, take_store: bool) -> tuple[Engine, Settings | None]:
    if engine is None or take_store:
        from whisper_assets.core.settings import get_settings

        settings = settings or get_settings()
    if engine is None:
        from whisper_assets.stores.postgres import get_engine

        engine = get_engine(settings)
    return engine, settings


def _summaries_by_time(
    conn: Connection, bot: str, user: str, q: _Question, options: RecallOptions
) -> tuple[list[SummaryItem], int]:
    """Oldest first: the latest of the time range and how many it holds; with no time named, the
    latest few (the related ones are taken out of them later)."""
    if q.time_range is not None:
        page = memories.summaries_in_range(conn, bot, user, q.time_range.start, q.time_range.end,
                                           options.summary_limit, now=q.now)
        rows, total = page.rows, page.total
    else:
        rows, total = memories.recent_summaries(conn, bot, user, q.now,
                                                options.recent_limit + options.related_limit), 0
    return [summary_item(bot, r) for r in reversed(rows)], total


def _recent(summaries: list[SummaryItem], related: list[SummaryItem], messages: list[MessageItem], q: _Question,
            options: RecallOptions) -> list[SummaryItem]:
    """The latest summaries, minus the related ones, unless they would take the place of what the
    question found: a related summary, or a past message holding one of its words. A message close
    in meaning alone is no such find ("nope" is close to "do I have any allergies?")."""
    if q.terms and (related or any(q.terms & content_terms(m.text) for m in messages)):
        return []
    taken = {s.start for s in related}
    keep = options.recent_limit
    return [s for s in summaries if s.start not in taken][-keep:] if keep else []


def _by_meaning(
    conn: Connection, store: MessageStore | None, bot: str, user: str, vector: np.ndarray, q: _Question,
    summaries: list[SummaryItem], options: RecallOptions, timings: dict[str, float],
) -> tuple[list[SummaryItem], list[MessageItem]]:
    """Related summaries and messages from `store` when there is one, else from Postgres vectors."""
    shown = {s.start for s in summaries} if q.time_range is not None else set()
    with _timed(timings, "semantic"):
        if store is not None:
            related = vectors.related_qdrant(conn, store, bot, user, vector, shown, options.related_limit,
                                             options.min_score, q.now, q.terms)
        else:
            related = vectors.related_postgres(conn, bot, user, vector, shown, options.related_limit,
                                               options.min_score, q.now, q.terms)
    messages: list[MessageItem] = []
    if options.message_limit:
        with _timed(timings, "messages"):
            if store is not None:
                messages = vectors.messages_qdrant(store, bot, user, vector, q.time_range, options.message_limit,
                                                   options.message_min_score, q.now, q.terms)
            else:
                messages = vectors.messages_postgres(conn, bot, user, vector, q.time_range, options.message_limit,
                                                     options.message_min_score, q.now, q.terms)
    return related, messages


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


@contextlib.contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    timings[name] = _ms(t)
