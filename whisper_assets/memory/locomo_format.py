"""The LoCoMo conversation format (../shared/eval/locomo/README.md), parsed once for everyone.

`parse_sample` reads one sample: its sessions (the `session_N` keys that hold a list, in numeric
order, each at its `session_N_date_time`), turns, gold observations, session summaries and QA
items, and records what it had to skip instead of failing. Bulk ingest (`ingest.parse_locomo`)
turns the sessions into messages; the evaluation also reads the gold annotations.

The dataset's traps handled here: sessions numbered past 9 (numeric, not string, order),
`session_N_date_time` keys without a session, "12:15 am" times, evidence written as a string, a
list, several ids in one string ("D8:6; D9:17") or with leading zeros ("D30:05"), answers that are
numbers, QA items without an answer (adversarial), turns with extra keys (images, captions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Collection, Iterable

LOCOMO_DATE_FORMAT = "%I:%M %p on %d %B, %Y"
DIA_ID_RE = re.compile(r"D(\d+):(\d+)")
_SESSION_RE = re.compile(r"^session_(\d+)$")


class LocomoFormatError(ValueError):
    """Not a LoCoMo sample at all (no sample_id, or no conversation object)."""


def _kind(value: Any) -> str:
    return "null" if value is None else {dict: "an object", list: "a list", str: "a string"}.get(
        type(value), type(value).__name__)


# -- dia ids -------------------------------------------------------------------------------------------

def _strings(value: Any) -> Iterable[str]:
    """Every string inside a (possibly nested) list; other scalars are ignored."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def extract_dia_ids(evidence: Any) -> list[str]:
    """Dia ids found anywhere in `evidence`, normalised to 'D<session>:<turn>', first occurrence first.

    Handles a single string, a list of strings, ids packed into one string ("D8:6; D9:17",
    "D22:21, D22:23"), nested lists, leading zeros ("D30:05" -> "D30:5"); junk such as "D" or
    "D:11:26" yields nothing; non-string values (None, ints) are ignored.
    """
    out: dict[str, None] = {}
    for text in _strings(evidence):
        for session, turn in DIA_ID_RE.findall(text):
            out[f"D{int(session)}:{int(turn)}"] = None
    return list(out)


def split_evidence(evidence: Any, known: Collection[str]) -> tuple[list[str], list[str]]:
    """(ids that exist in the conversation, ids that do not), both deduplicated, in order."""
    ids = extract_dia_ids(evidence)
    return [i for i in ids if i in known], [i for i in ids if i not in known]


def dia_session(dia_id: str) -> int:
    m = DIA_ID_RE.fullmatch(dia_id)
    if not m:
        raise ValueError(f"not a dia id: {dia_id!r}")
    return int(m.group(1))


def dia_order(dia_id: str) -> tuple[int, int]:
    """(session, turn) of a normalised dia id, for sorting."""
    m = DIA_ID_RE.fullmatch(dia_id)
    if not m:
        raise ValueError(f"not a dia id: {dia_id!r}")
    return int(m.group(1)), int(m.group(2))


def locomo_session_time(value: str) -> datetime:
    """'2:37 pm on 6 May, 2023' -> aware UTC datetime (LoCoMo dates carry no zone; we read UTC)."""
    return datetime.strptime(value.strip(), LOCOMO_DATE_FORMAT).replace(tzinfo=timezone.utc)


# -- the sample --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocomoTurn:
    dia_id: str  # normalised; D<session>:<position + 1> when the turn has none
    session: int
    position: int  # 0-based within the session, counting skipped turns
    speaker: str
    text: str  # stripped
    label: str  # how the turn is named in messages: its dia_id as written, else position + 1
    timestamp: datetime  # the session's date_time plus one second per position (keeps the order)


@dataclass(frozen=True)
class SkippedTurn:
    """A turn without speaker or text (or not an object)."""

    session: int
    position: int
    label: str
    reason: str = "needs speaker and text"


@dataclass(frozen=True)
class GoldFact:
    session: int
    speaker: str
    text: str
    evidence: tuple[str, ...]  # normalised dia ids as written (not checked)


@dataclass
class LocomoSession:
    number: int
    date_time: datetime
    turns: list[LocomoTurn]
    observations: dict[str, list[GoldFact]]
    summary: str | None
    skipped_turns: list[SkippedTurn] = field(default_factory=list)


@dataclass(frozen=True)
class QAItem:
    index: int
    question: str
    answer: str | None
    category: int
    evidence: tuple[str, ...]  # dia ids that exist in the conversation
    invalid_evidence: tuple[str, ...]  # well-formed ids that do not


@dataclass(frozen=True)
class SkippedQA:
    index: int
    reason: str  # "needs a question" | "category <value> is not a number"


@dataclass
class LocomoSample:
    sample_id: str
    speakers: tuple[str, ...]
    sessions: list[LocomoSession]
    qa: list[QAItem]
    # Sessions with turns whose session_N_date_time is missing or unreadable (they are skipped).
    skipped_sessions: list[int] = field(default_factory=list)
    skipped_qa: list[SkippedQA] = field(default_factory=list)

    @property
    def turns(self) -> dict[str, LocomoTurn]:
        return {t.dia_id: t for s in self.sessions for t in s.turns}

    def session(self, number: int) -> LocomoSession:
        for s in self.sessions:
            if s.number == number:
                return s
        raise KeyError(number)

    @property
    def problems(self) -> list[str]:
        """What the parser skipped, in the order of the sample (sessions, then QA items)."""
        out = []
        by_number = {s.number: s for s in self.sessions}
        for n in sorted([*by_number, *self.skipped_sessions]):
            if n not in by_number:
                out.append(f"session_{n}: missing or unreadable session_{n}_date_time; session skipped")
                continue
            out += [f"session_{n} turn {t.position + 1}: needs speaker and text; skipped"
                    for t in by_number[n].skipped_turns]
        return out + [f"qa {q.index}: {q.reason}; skipped" for q in self.skipped_qa]


def _turn_label(turn: Any, position: int) -> str:
    return str(turn.get("dia_id", position + 1) if isinstance(turn, dict) else position + 1)


def _turn_problem(turn: Any) -> str | None:
    """Why a turn cannot be a message (a null or non-string speaker or text is never read as "None")."""
    if not isinstance(turn, dict):
        return "needs speaker and text (it is not an object)"
    bad = []
    for k in ("speaker", "text"):
        if k not in turn:
            bad.append(f"{k} is missing")
        elif not isinstance(turn[k], str):
            bad.append(f"{k} is {_kind(turn[k])}")
        elif not turn[k].strip():
            bad.append(f"{k} is empty")
    return f"needs speaker and text ({', '.join(bad)})" if bad else None


def _gold_facts(number: int, observation: Any) -> dict[str, list[GoldFact]]:
    gold: dict[str, list[GoldFact]] = {}
    for speaker, entries in (observation.items() if isinstance(observation, dict) else []):
        facts = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, (list, tuple)) and entry and isinstance(entry[0], str) and entry[0].strip():
                evidence = extract_dia_ids(entry[1:] if len(entry) > 1 else [])
                facts.append(GoldFact(number, str(speaker), " ".join(entry[0].split()), tuple(evidence)))
            elif isinstance(entry, str) and entry.strip():
                facts.append(GoldFact(number, str(speaker), " ".join(entry.split()), ()))
        gold[str(speaker)] = facts
    return gold


def _session(number: int, when: datetime, raw_turns: list[Any], observation: Any, summary: Any) -> LocomoSession:
    turns, skipped = [], []
    for i, turn in enumerate(raw_turns):
        label = _turn_label(turn, i)
        problem = _turn_problem(turn)
        if problem:
            skipped.append(SkippedTurn(number, i, label, problem))
            continue
        ids = extract_dia_ids(turn.get("dia_id"))
        turns.append(LocomoTurn(ids[0] if ids else f"D{number}:{i + 1}", number, i, turn["speaker"],
                                turn["text"].strip(), label, when + timedelta(seconds=i)))
    return LocomoSession(number, when, turns, _gold_facts(number, observation),
                         summary if isinstance(summary, str) else None, skipped)


def _qa_items(raw_qa: Any, known: Collection[str]) -> tuple[list[QAItem], list[SkippedQA]]:
    qa, skipped = [], []
    for i, item in enumerate(raw_qa or []):
        if not isinstance(item, dict) or "question" not in item:
            skipped.append(SkippedQA(i, "needs a question"))
            continue
        try:
            category = int(item.get("category"))
        except (TypeError, ValueError):
            skipped.append(SkippedQA(i, f"category {item.get('category')!r} is not a number"))
            continue
        valid, invalid = split_evidence(item.get("evidence"), known)
        answer = item.get("answer")
        qa.append(QAItem(i, " ".join(str(item["question"]).split()), None if answer is None else str(answer).strip(),
                         category, tuple(valid), tuple(invalid)))
    return qa, skipped


def parse_sample(raw: Any) -> LocomoSample:
    """One LoCoMo sample. Raises LocomoFormatError when `raw` is not a sample at all; anything
    smaller that is unreadable (a session's date, a turn, a QA item) is skipped and recorded."""
    if not isinstance(raw, dict):
        raise LocomoFormatError(f"not a LoCoMo sample: expected an object, got {_kind(raw)}")
    if not isinstance(raw.get("sample_id"), (str, int)) or isinstance(raw.get("sample_id"), bool):
        raise LocomoFormatError(f"not a LoCoMo sample: sample_id must be a string, not {_kind(raw.get('sample_id'))}"
                                if "sample_id" in raw else "not a LoCoMo sample: no sample_id")
    if not isinstance(raw.get("conversation"), dict):
        raise LocomoFormatError(
            f"not a LoCoMo sample: conversation must be an object with session_N lists, not {_kind(raw.get('conversation'))}"
            if "conversation" in raw else "not a LoCoMo sample: no conversation")
    conv = raw["conversation"]
    observations = raw.get("observation") if isinstance(raw.get("observation"), dict) else {}
    summaries = raw.get("session_summary") if isinstance(raw.get("session_summary"), dict) else {}
    sessions: list[LocomoSession] = []
    skipped_sessions: list[int] = []
    numbers = sorted(int(m.group(1)) for k, v in conv.items() if (m := _SESSION_RE.match(k)) and isinstance(v, list))
    for n in numbers:
        try:
            when = locomo_session_time(conv[f"session_{n}_date_time"])
        except (KeyError, ValueError, AttributeError, TypeError):
            skipped_sessions.append(n)
            continue
        sessions.append(_session(n, when, conv[f"session_{n}"], observations.get(f"session_{n}_observation"),
                                 summaries.get(f"session_{n}_summary")))
    speakers = tuple(str(conv[k]) for k in ("speaker_a", "speaker_b") if isinstance(conv.get(k), str))
    if not speakers:
        speakers = tuple(dict.fromkeys(t.speaker for s in sessions for t in s.turns))
    qa, skipped_qa = _qa_items(raw.get("qa"), {t.dia_id for s in sessions for t in s.turns})
    return LocomoSample(str(raw["sample_id"]), speakers, sessions, qa, skipped_sessions, skipped_qa)
