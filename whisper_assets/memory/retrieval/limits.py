"""Recall's limits and defaults, in a module of their own: the CLI reads them without importing
the retrieval code (numpy, SQLAlchemy)."""

MAX_QUERY_CHARS = 2000
MAX_FACTS_SCANNED = 500  # a user's facts ranked per recall (most confident first beyond that)
MAX_LIMIT = 50  # facts per recall through the HTTP API and the CLI (a prompt holds no more)
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
# A past message of fewer words is a bare reply ("nope", "me too") and is never quoted.
MIN_MESSAGE_WORDS = 3
# Related summaries and past messages are re-ranked lexically per recall (lexical.py): the nearest
# this many by cosine. A round number, a few times the limits; the summaries' rows are one indexed
# query. 40 measured no better than 20 for messages (strict evidence recall@10, LoCoMo dev).
RERANK_POOL = 20
DEFAULT_CONTEXT_CHARS = 2000
