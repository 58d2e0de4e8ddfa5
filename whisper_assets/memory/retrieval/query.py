"""Understanding the question: checks, the time phrase taken out, content words, the fact
categories it names (by keyword, else by meaning) and its embedding."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from whisper_assets.core.llm.schemas import CATEGORY_DESCRIPTIONS, Category
from whisper_assets.core.messages import validate_bot_name, validate_user_id
from whisper_assets.core.timephrases import TimeRange
from whisper_assets.memory.retrieval.limits import MAX_QUERY_CHARS
from whisper_assets.memory.retrieval.models import RecallError

if TYPE_CHECKING:
    from whisper_assets.core.embedding import Embedder

# Category routing by meaning (when no keyword names a category): cosine of the question to the
# category descriptions of llm/schemas.py; on-topic questions score 0.38-0.59, others below 0.3.
CATEGORY_MIN_SCORE = 0.35
CATEGORY_MARGIN = 0.05

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
                r"hate|foods?|diet|vegan|vegetarian|music|movies?|films?|books?)\b", re.I), (_C.PREFERENCE,)),
    # what the user must not eat or do: allergies and conditions first ("what foods should I avoid?")
    (re.compile(r"\b(?:avoid|(?:can['’]?t|cannot)\s+(?:i\s+)?(?:eat|have|drink)|intoleran\w*)\b", re.I),
     (_C.HEALTH, _C.PREFERENCE)),
    (re.compile(r"\b(?:health\w*|allerg\w*|sick|illness|injur\w*|conditions?|doctors?|medical|medications?|"
                r"medicine|diagnos\w*|pain)\b", re.I), (_C.HEALTH,)),
    (re.compile(r"\b(?:plans?|planning|planned|goals?|upcoming|going\s+to|intend\w*|hop(?:e|ing)\s+to)\b", re.I),
     (_C.PLAN,)),
]
# Questions about what no longer holds: the facts' history is recalled with the current ones.
_HISTORY = re.compile(
    r"\b(?:before|used\s+to|previous(?:ly)?|former(?:ly)?|(?:my|our|the)\s+old|earlier|in\s+the\s+past|"
    r"history|no\s+longer|any\s*more|originally|at\s+first|ex-?(?:wife|husband|girlfriend|boyfriend|partner)|"
    r"still|did\s+i\s+(?:use\s+to|ever)|change[sd]?|lost|ended)\b", re.I)


def asks_history(text: str) -> bool:
    """Whether the question asks about facts that may no longer hold ("where did I live before?")."""
    return bool(_HISTORY.search(text))


_CATEGORY_NAMES = re.compile(r"\b(" + "|".join(c.value for c in Category if c is not Category.OTHER) + r")\b", re.I)

# English function words, then words about the conversation itself or its recency ("what did we
# talk about last time?", "what's new?", "catch me up"): a question made only of these names no
# topic, so recall answers it with the latest summaries instead of searching by meaning.
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
time times new news latest lately recently earlier later update updates catch thing things stuff
""".split())
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_CONTRACTION = re.compile(r"['’](?:s|re|ve|d|ll|m|t)$")


def check_query(bot: str, user: str, query: str) -> str:
    """The query with its whitespace collapsed; InvalidMessageError or RecallError when unusable."""
    validate_bot_name(bot)
    validate_user_id(user)
    if not isinstance(query, str) or not query.strip():
        raise RecallError("query is empty: ask something, e.g. 'what did we talk about last week?'")
    if len(query) > MAX_QUERY_CHARS:
        raise RecallError(f"query is {len(query)} characters; at most {MAX_QUERY_CHARS}")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in query):
        raise RecallError("query contains control characters")
    return " ".join(query.split())


def strip_phrase(query: str, time_range: TimeRange | None) -> str:
    """The query without the time phrase it names (what is left to search by)."""
    if time_range is None:
        return query
    pattern = r"\s+".join(re.escape(p) for p in time_range.phrase.split())
    return re.sub(pattern, " ", query, count=1, flags=re.I)


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
    """Stemmed content words (contractions cut, stopwords and one-letter words dropped). A word about
    the conversation is a topic when a determiner makes it a thing: "how was my talk?"."""
    words = [_CONTRACTION.sub("", w) for w in _WORD.findall(text.lower())]
    return {_stem(w) for i, w in enumerate(words) if len(w) > 1 and (
        w not in _STOPWORDS or w in _EVENT_WORDS and i and words[i - 1] in _DETERMINERS)}


# Conversation words that also name an event ("my talk at the conference"), and what makes them one.
_EVENT_WORDS = frozenset("talk talks".split())
_DETERMINERS = frozenset("my our the a an his her their your that this".split())


def route_categories(text: str) -> list[Category]:
    """Fact categories the question names by keyword, in the order they appear."""
    hits: list[tuple[float, Category]] = []
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


# -- by meaning --------------------------------------------------------------------------------------

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


def embed_pool() -> ThreadPoolExecutor:
    """The one worker thread query embeddings run on (while recall's SQL runs)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recall-embed")
        return _POOL


def timed_embed(embedder: Embedder, text: str) -> tuple[np.ndarray, float]:
    """(vector, milliseconds) of `embed_query`."""
    t = time.perf_counter()
    vector = embed_query(embedder, text)
    return vector, (time.perf_counter() - t) * 1000


def warm_up(embedder: Embedder | None) -> None:
    """Load what the first recall would otherwise load: dateparser data, the category vectors."""
    from whisper_assets.core import timephrases

    timephrases.warm_up()
    if embedder is not None:
        _category_vectors(embedder)
        embed_pool().submit(timed_embed, embedder, "warm up").result()  # on the thread recall uses
