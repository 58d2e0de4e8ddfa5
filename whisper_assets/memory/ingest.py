"""Bulk ingest from files: our JSONL schema, and LoCoMo-format JSON.

JSONL: one object per line,
    {"bot": "elena", "user": "user_alice", "role": "user", "content": "...",
     "timestamp": "2026-11-09T08:15:00Z", "message_id": "<optional UUID>"}
`timestamp` is ISO-8601 with a timezone. Without `message_id`, the id is derived from the
message itself, so ingesting a file twice stores nothing twice: a message already stored with
the same content is left as it is (a completed one stays completed, it is not enriched again)
and counted as unchanged. The same message id twice in one file is stored once (the last
occurrence wins) and the repeats are counted as duplicates.

LoCoMo (../shared/eval/locomo/README.md, parsed by `locomo_format.parse_sample`): the sample id
becomes the bot, each speaker a user, every turn a `user` message at its session's date_time plus
one second per turn (keeps order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence

from whisper_assets.core.embedding import bulk_embedder
from whisper_assets.memory.hot_path import MessageIn, embed, validate
from whisper_assets.core.messages import InvalidMessageError, Message
from whisper_assets.core.settings import Settings
from whisper_assets.memory.locomo_format import LocomoFormatError, LocomoSample, LocomoTurn, SkippedTurn, parse_sample
from whisper_assets.stores.qdrant import open_store

Format = Literal["auto", "jsonl", "locomo"]
# Embed outside the store lock, then take one turn per chunk (an open costs ~0.3 s at 100k points).
CHUNK = 2048


@dataclass(frozen=True)
class Parsed:
    """One input record: a message, or the reason it was refused. `where` locates it."""

    where: str
    item: MessageIn | None = None
    error: str | None = None


BOM = "\ufeff"
_FIELDS = ("bot", "user", "role", "content", "timestamp")


def parse_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidMessageError(f"timestamp must be an ISO-8601 string, not {_kind(value)}")
    shown = value[:40].encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidMessageError(f"invalid timestamp {shown!r}: use ISO-8601, e.g. 2026-11-09T08:15:00Z") from None
    if ts.tzinfo is None:
        raise InvalidMessageError(f"naive timestamp {shown!r}: add a timezone (Z or +hh:mm)")
    return ts


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _decode(line: str | bytes) -> str:
    if isinstance(line, str):
        return line
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessageError(f"invalid UTF-8 at byte {exc.start + 1} of the line") from None


def parse_json(text: str) -> Any:
    """json.loads with every failure as an InvalidMessageError naming the reason, never the text."""
    try:
        return json.loads(text)
    except (RecursionError, ValueError) as exc:
        raise InvalidMessageError(_json_error(exc)) from None


def _json_error(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply"
    if "digits" in str(exc):  # an integer too long to convert
        return "invalid JSON: a number with too many digits"
    return f"invalid JSON: {str(exc).split(';')[0][:80]}"


def parse_record(obj: Any) -> MessageIn:
    """One JSONL object as a message to validate; InvalidMessageError for a wrong shape or a
    null/non-string field (never stored as the text "None")."""
    if not isinstance(obj, dict):
        raise InvalidMessageError(f"expected a JSON object, got {_kind(obj)}")
    missing = [k for k in _FIELDS if k not in obj]
    if missing:
        raise InvalidMessageError(f"missing keys: {', '.join(missing)}")
    wrong = [f"{k} is {_kind(obj[k])}" for k in _FIELDS if not isinstance(obj[k], str)]
    if wrong:
        raise InvalidMessageError(f"fields must be strings: {', '.join(wrong)}")
    mid = obj.get("message_id")
    if mid is not None and not isinstance(mid, str):
        raise InvalidMessageError(f"message_id must be a string (a UUID), not {_kind(mid)}")
    return MessageIn(bot=obj["bot"], user=obj["user"], role=obj["role"], content=obj["content"],
                     timestamp=parse_timestamp(obj["timestamp"]), message_id=mid)


def parse_jsonl(lines: Iterable[str | bytes]) -> Iterator[Parsed]:
    """Lines (text, or bytes decoded here one by one: a line of invalid UTF-8 is reported and
    skipped, not the file) as input records. A UTF-8 byte order mark before line 1 is dropped."""
    for lineno, line in enumerate(lines, start=1):
        where = f"line {lineno}"
        try:
            text = _decode(line)
            if lineno == 1:
                text = text.removeprefix(BOM)
            if not text.strip():
                continue
            yield Parsed(where, parse_record(parse_json(text)))
        except InvalidMessageError as exc:
            yield Parsed(where, error=str(exc))


def locomo_messages(sample: LocomoSample) -> Iterator[Parsed]:
    """A parsed LoCoMo sample as input records, in the order of the sample: each turn a message
    (`where` = "<sample> session_N turn <dia_id as written>"), each skipped session or turn an error."""
    by_number = {s.number: s for s in sample.sessions}
    for number in sorted([*by_number, *sample.skipped_sessions]):
        where = f"{sample.sample_id} session_{number}"
        session = by_number.get(number)
        if session is None:
            yield Parsed(where, error=f"missing or unreadable session_{number}_date_time")
            continue
        entries: list[LocomoTurn | SkippedTurn] = [*session.turns, *session.skipped_turns]
        for turn in sorted(entries, key=lambda t: t.position):
            if isinstance(turn, SkippedTurn):
                yield Parsed(f"{where} turn {turn.label}", error=f"turn {turn.reason}")
            else:
                yield Parsed(f"{where} turn {turn.label}", turn_message(sample.sample_id, turn))


def turn_message(bot: str, turn: LocomoTurn) -> MessageIn:
    """A LoCoMo turn as the message ingest stores: the sample is the bot, the speaker the user."""
    return MessageIn(bot, turn.speaker, "user", turn.text, turn.timestamp)


def parse_locomo(data: Any) -> Iterator[Parsed]:
    """LoCoMo JSON (a list of samples, or one) as input records; see `locomo_messages`."""
    samples = data if isinstance(data, list) else [data]
    for s_index, raw in enumerate(samples):
        try:
            sample = parse_sample(raw)
        except LocomoFormatError as exc:
            yield Parsed(f"sample {s_index}", error=str(exc))
            continue
        yield from locomo_messages(sample)


def detect_format(path: Path) -> Literal["jsonl", "locomo"]:
    """`.jsonl` is ours; a file holding one JSON document (`[...]`, e.g. `.json`) is LoCoMo."""
    if path.suffix == ".jsonl":
        return "jsonl"
    with path.open("rb") as fh:
        head = fh.read(64).removeprefix(BOM.encode()).lstrip()
    return "locomo" if path.suffix == ".json" or head.startswith(b"[") else "jsonl"


def parse_file(path: Path, fmt: Format = "auto") -> Iterator[Parsed]:
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "locomo":
        try:
            text = path.read_bytes().decode("utf-8").removeprefix(BOM)
        except UnicodeDecodeError as exc:
            yield Parsed(f"byte {exc.start + 1}", error="invalid UTF-8: the file is not UTF-8 text")
            return
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Parsed(f"line {exc.lineno}", error=f"invalid JSON: {exc.msg} at column {exc.colno}")
            return
        except (RecursionError, ValueError) as exc:
            yield Parsed("file", error=_json_error(exc))
            return
        yield from parse_locomo(data)
    else:
        with path.open("rb") as fh:  # lines decoded one by one: one bad line is skipped, not the file
            yield from parse_jsonl(fh)


@dataclass
class IngestReport:
    """records = stored + unchanged + duplicates + skipped (`len(errors)`).

    stored: written as pending (new, or content changed); unchanged: already stored with the
    same content, left as it was; duplicates: repeats of a message id seen earlier in the input."""

    records: int = 0
    stored: int = 0
    unchanged: int = 0
    duplicates: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.errors)


def ingest(
    parsed: Iterable[Parsed],
    settings: Settings,
    on_progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Validate every record; store the good ones in chunks; report the bad ones by location.

    `on_progress(n)` is called as records that carry a message are done with (stored,
    unchanged, refused or duplicate)."""
    report = IngestReport()
    if not isinstance(parsed, Sequence):
        parsed = list(parsed)
    # Many messages at once: the backend measured faster for that much work on this CPU.
    embedder = bulk_embedder(settings.torch_threads, sum(r.item is not None for r in parsed))
    chunk: dict[str, Message] = {}  # message id -> its last occurrence in this chunk
    # Every id stored from this input -> (version, written?): an id repeated in a later chunk
    # with other content is written again but counted once (as stored, since it was written).
    seen: dict[str, tuple[str, bool]] = {}

    def flush() -> None:
        if not chunk:
            return
        messages = list(chunk.values())
        vectors = embed(messages, embedder)
        with open_store(settings) as store:
            result = store.upsert_messages(messages, vectors)
        for m in messages:
            written = m.message_id not in result.unchanged_ids
            before = seen.get(m.message_id)
            if before is None:
                if written:
                    report.stored += 1
                else:
                    report.unchanged += 1
            elif written and not before[1]:
                report.unchanged -= 1
                report.stored += 1
            seen[m.message_id] = (m.version, written or (before is not None and before[1]))
        if on_progress:
            on_progress(len(messages))
        chunk.clear()

    for record in parsed:
        report.records += 1
        if record.item is None:
            report.errors.append((record.where, record.error or "unreadable"))
            continue
        try:
            message = validate(record.item, settings)
        except InvalidMessageError as exc:
            report.errors.append((record.where, str(exc)))
            if on_progress:
                on_progress(1)
            continue
        mid = message.message_id
        if mid in chunk:  # again within this chunk: the last occurrence wins
            report.duplicates += 1
            chunk[mid] = message
            if on_progress:
                on_progress(1)
            continue
        if mid in seen:  # again after an earlier chunk stored it
            report.duplicates += 1
            if seen[mid][0] == message.version:
                if on_progress:
                    on_progress(1)
                continue  # the same message again: nothing to write
            # edited since: written again below, still counted once in stored/unchanged
        chunk[mid] = message
        if len(chunk) >= CHUNK:
            flush()
    flush()
    return report
