"""The recall result as a short plain-text block for a bot prompt."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from whisper_assets.core.timephrases import get_zone
from whisper_assets.memory.retrieval.limits import DEFAULT_CONTEXT_CHARS

if TYPE_CHECKING:
    from whisper_assets.memory.retrieval.models import FactItem, RecallResult

FACT_CHARS = 200
SUMMARY_CHARS = 320
MESSAGE_CHARS = 200


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def render_context(result: RecallResult, max_chars: int = DEFAULT_CONTEXT_CHARS) -> str:
    """Plain text, at most `max_chars`: facts that hold (each "as of" the latest time it was said,
    and "since" when it began, for a slot's value such as a home or a job), earlier facts that no
    longer hold (when the question asked, with when they held), then conversations (the time range's, then related
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
        if result.facts_held:
            return _fit(f"{header}\nNothing stored bears on this question ({result.facts_held} facts are "
                        "stored).", max_chars)
        if result.time_range is not None:
            tr = result.time_range
            return _fit(f"{header}\nNothing is known about this user: no facts are stored and no "
                        f"conversations were found for \"{tr.phrase}\" ({tr.label}).", max_chars)
        return _fit(f"{header}\nNothing is known about this user yet: no facts and no conversation "
                    "summaries are stored.", max_chars)

    zone = get_zone(result.tz)
    facts = [f"- [{f.category}] {_clip(f.fact, FACT_CHARS)} ({_when(f, zone)}; confidence {f.confidence:.2f})"
             for f in result.facts]
    fact_title = "Facts (most relevant first):" if facts else \
        "Facts: none bear on the question." if result.facts_held else "Facts: none stored."
    earlier = [f"- [{f.category}] {_clip(f.fact, FACT_CHARS)} ({_when(f, zone)})" for f in result.history]
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
    history_section = ["Earlier facts, no longer true:", earlier, 0, False]
    related_section = ["Conversations related to the question:", related, 0, False]
    said_section = ["Past messages related to the question:", said, 0, False]
    if result.summaries_scope == "time_range":
        conv_section = [conv_title, convs, 1, True]
        order = [fact_section, history_section, conv_section, related_section, said_section]
        drop_first = [said_section, related_section, history_section, fact_section, conv_section]
    else:  # no time named: what matches the question matters more than what was recent
        # recall() leaves the recent ones out when the question found its own summaries or messages
        conv_section = [conv_title, convs, 0, bool(convs) or not (related or said)]
        if not convs and not related and not said:
            conv_section[0] = "Conversations: none stored."
        order = [fact_section, history_section, related_section, conv_section, said_section]
        drop_first = [conv_section, said_section, history_section, fact_section, related_section]
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


def _when(f: FactItem, zone: tzinfo) -> str:
    """'as of 2026-06-02' (the latest it was said), 'since ...' for a slot's value (home, job...),
    'from ... until ..., superseded' for one that no longer holds."""
    def day(t: datetime) -> str:
        return f"{t.astimezone(zone):%Y-%m-%d}"

    if f.valid_to is not None:  # learnt and ended the same day: "until" says it all
        since = "" if day(f.valid_from) == day(f.valid_to) else f"from {day(f.valid_from)} "
        return f"{since}until {day(f.valid_to)}, {f.status}"
    since = f"since {day(f.valid_from)}, " if f.slot and day(f.valid_from) != day(f.as_of) else ""
    return f"{since}as of {day(f.as_of)}"


def _fit(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
