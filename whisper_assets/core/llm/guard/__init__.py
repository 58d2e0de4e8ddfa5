"""User text is data, never instructions: the one detector of messages that try to instruct the
enrichment LLM (every backend's input goes through it, the offline rules included).

Such messages are skipped (with this reason) before any backend sees them, and the prompt tells
the model that message text is quoted data. Validation after the call is the last line: a fact
must cite the batch's own user turns (llm/backend.py).

Two layers, both over the text as a reader sees it (normalise.py: NFKC, zero-width/format/control
characters removed, look-alike letters mapped, whitespace collapsed, case folded):

1. regexes (patterns.py) for the known forms: ignoring instructions, posing as the system or the
   assistant, chat-template markup, re-tasking ("from now on you ..."), dictating what to record
   about anyone, asking for other users' data;
2. paraphrases (semantic.py): cosine similarity of the message's all-MiniLM-L6-v2 vector to
   instruction-like prototypes versus benign look-alikes. A caller that already has the message's
   unit vector (the pipeline's staged vectors) passes it and nothing is embedded, unless the text
   was disguised (then its visible form is embedded, ~5 ms).

Measured on whisper_assets_tests/data/injection_labelled.jsonl by benchmarks/guard.py.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

import numpy as np

from whisper_assets.core.llm.guard import semantic
from whisper_assets.core.llm.guard.normalise import folded, plain, visible
from whisper_assets.core.llm.guard.patterns import PATTERNS

__all__ = ["injection_reason", "visible", "folded", "regex_reason", "paraphrase_scores"]

PARAPHRASE_REASON = "prompt injection: reads like an instruction to the model"
_MIN_WORDS = 3  # "ok", "sure thing": too short to instruct anything, and to embed meaningfully

_CACHE_SIZE = 8192
_cache: OrderedDict[str, tuple[float, float]] = OrderedDict()
_cache_lock = threading.Lock()


@functools.lru_cache(maxsize=8192)
def regex_reason(text: str) -> str | None:
    """The regex layer alone, on the visible form of `text` (cached: the pipeline and then the
    offline rules ask about the same turns)."""
    shown = visible(text)
    for reason, pattern in PATTERNS:
        if pattern.search(shown):
            return f"prompt injection: {reason}"
    return None


def paraphrase_scores(text: str, vector: np.ndarray | None = None) -> tuple[float, float] | None:
    """(best hostile, best benign) prototype cosine of `text`, or None when it is too short to score.

    `vector` is the unit vector of `text` as written (all-MiniLM-L6-v2); it is used only when the
    text holds no disguise (else the visible form is embedded). Scores are cached per visible text,
    so the offline rules, which see the same turns after the pipeline, embed nothing again.
    """
    key = folded(text)
    if len(key.split()) < _MIN_WORDS:
        return None
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    if vector is not None and plain(text) == key:
        got = semantic.scores(vector)
    else:
        got = semantic.scores(semantic.embed(visible(text)))
    with _cache_lock:
        _cache[key] = got
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return got


def injection_reason(text: str, vector: np.ndarray | None = None, *, paraphrases: bool = True) -> str | None:
    """Why `text` looks like an instruction to the enrichment model, or None.

    `vector`: optional precomputed unit vector of `text` (saves embedding it). `paraphrases=False`
    runs the regex layer only (the offline rules: the pipeline already ran both layers on every turn
    they see, and they must stay fast without vectors).
    """
    if not isinstance(text, str) or not text.strip():
        return None
    reason = regex_reason(text)
    if reason is not None or not paraphrases:
        return reason
    got = paraphrase_scores(text, vector)
    if got is not None and semantic.is_paraphrase(*got):
        return PARAPHRASE_REASON
    return None
