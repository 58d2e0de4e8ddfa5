"""User text is data, never instructions: the one detector of messages that try to instruct the
enrichment LLM (every backend's input goes through it, the offline rules included).

Such messages are skipped (with this reason) before any backend sees them, and the prompt tells
the model that message text is quoted data. Validation after the call is the last line: a fact
must cite the batch's own user turns (llm/backend.py).
"""

from __future__ import annotations

import re

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("asks to ignore instructions", re.compile(
        r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+|these\s+|my\s+)*"
        r"((previous|prior|above|earlier|preceding|former|system|original)\s+)+"
        r"(instructions?|prompts?|rules|guidelines|directions|messages?|context)\b"
        r"|\b(ignore|disregard|override)\s+(all\s+|any\s+|the\s+|your\s+)*(instructions|system prompt)\b",
        re.I)),
    ("poses as a system or assistant turn", re.compile(
        r"(^|\n)\s*(\[|<)?\s*(system|assistant|developer|admin)\s*(prompt|message|note)?\s*(\]|>)?\s*:", re.I)),
    ("contains chat-template markup", re.compile(
        r"<\|(im_start|im_end|system|assistant)\|>|\[/?INST\]|\[\s*system\s*\]", re.I)),
    ("tries to re-task the model", re.compile(
        r"\b(you are now|from now on,? you|new instructions|act as (the )?(system|admin)|jailbreak)\b", re.I)),
    ("dictates what to record", re.compile(
        r"\b(record|remember|store|save|output|write down|say)\s+that\s+(user[\w.-]*|[A-Z][a-z]+\s+is\b)"
        r"|\b(record|remember|store|save|log|write down|memori[sz]e)\s+(this|that|it)\s+as\s+(a\s+)?"
        r"(permanent\s+|new\s+)?(fact|memory)\b", re.I)),
]


def injection_reason(text: str) -> str | None:
    """Why `text` looks like an instruction to the enrichment model, or None."""
    for reason, pattern in _PATTERNS:
        if pattern.search(text):
            return f"prompt injection: {reason}"
    return None
