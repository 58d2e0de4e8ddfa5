"""Reading memories back: a user's facts and summaries, always scoped to one bot and one user.

`recall(bot, user, query, RecallOptions(now=...))` is what a bot calls before it answers: it returns
the user's facts (most relevant to the question first), the summaries of the time the question
names ("last week", "yesterday", "in March": see `whisper_assets.core.timephrases`), the summaries
closest in meaning and the past messages closest in meaning (a detail a day's summary left out),
every item with its provenance (partition ``bot|day``, source message ids, window, model).
`RecallResult.as_context()` renders it as a short plain-text block for a bot prompt.

Isolation: every SQL statement (`stores.repository.memories`) binds ``bot_name = :bot AND user_id
= :user`` as parameters, and the Qdrant search filters on both payload fields (and re-checks them
on every hit); nothing is ever read for a user by prefix or pattern.

Modules: `limits`, `models` (options, results, errors), `query` (checks, time phrase, content
words, categories by keyword and by meaning, the query embedding), `facts` (ranking and listing),
`vectors` (search by meaning in Qdrant or in PostgreSQL), `context` (the prompt block) and
`orchestration` (`recall` itself). The names below are imported on first use, so that reading
`limits` (the CLI does, at start) does not load numpy and SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from whisper_assets.memory.retrieval.context import render_context
    from whisper_assets.memory.retrieval.facts import bot_exists, get_facts, rank_facts
    from whisper_assets.memory.retrieval.limits import (
        DEFAULT_CONTEXT_CHARS, DEFAULT_LIMIT, DEFAULT_MESSAGE_LIMIT, DEFAULT_MESSAGE_MIN_SCORE, DEFAULT_MIN_SCORE,
        DEFAULT_RECENT_LIMIT, DEFAULT_RELATED_LIMIT, DEFAULT_SUMMARY_LIMIT, MAX_FACTS_SCANNED, MAX_LIMIT,
        MAX_MESSAGES_SCANNED, MAX_QUERY_CHARS,
    )
    from whisper_assets.memory.retrieval.models import (
        FactItem, MessageItem, Provenance, RecallError, RecallOptions, RecallResult, SummaryItem, UnknownBotError,
    )
    from whisper_assets.memory.retrieval.orchestration import recall
    from whisper_assets.memory.retrieval.query import (
        CATEGORY_ROUTES, categories_by_meaning, content_terms, embed_query, route_categories, warm_up,
    )
    from whisper_assets.memory.retrieval.vectors import STORE_LOCK_TIMEOUT_S

_EXPORTS = {
    "context": ["render_context"],
    "facts": ["bot_exists", "get_facts", "rank_facts"],
    "limits": ["DEFAULT_CONTEXT_CHARS", "DEFAULT_LIMIT", "DEFAULT_MESSAGE_LIMIT", "DEFAULT_MESSAGE_MIN_SCORE",
               "DEFAULT_MIN_SCORE", "DEFAULT_RECENT_LIMIT", "DEFAULT_RELATED_LIMIT", "DEFAULT_SUMMARY_LIMIT",
               "MAX_FACTS_SCANNED", "MAX_LIMIT", "MAX_MESSAGES_SCANNED", "MAX_QUERY_CHARS"],
    "models": ["FactItem", "MessageItem", "Provenance", "RecallError", "RecallOptions", "RecallResult",
               "SummaryItem", "UnknownBotError"],
    "orchestration": ["recall"],
    "query": ["CATEGORY_ROUTES", "categories_by_meaning", "content_terms", "embed_query", "route_categories",
              "warm_up"],
    "vectors": ["STORE_LOCK_TIMEOUT_S"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
