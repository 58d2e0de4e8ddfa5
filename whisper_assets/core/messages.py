"""The chat message as the hot path accepts it, and the Qdrant payload it becomes."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from whisper_assets.core.days import DAYS_AHEAD, FIRST_DAY

# A bot name becomes one dimension of a Dagster multi-partition key ("elena|2026-11-09"),
# so it may not contain the key separators | , [ ].
BOT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
MAX_USER_ID_CHARS = 128
# Clocks drift; a message far in the future is a bug upstream, not a partition to create.
MAX_FUTURE = timedelta(days=1)
assert MAX_FUTURE <= timedelta(days=DAYS_AHEAD)
_ID_NAMESPACE = uuid.UUID("6f1c3a52-8b1e-4f4e-9a55-2f0d3c7e9b10")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


def epoch_ms(ts: datetime) -> int:
    """Exact integer milliseconds (float seconds lose the last digit; see MEASUREMENTS.md)."""
    return (ts - _EPOCH) // _MS


def from_epoch_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS


class InvalidMessageError(ValueError):
    """A message was refused; nothing of it was stored."""


class Role(StrEnum):
    USER = "user"
    BOT = "bot"


class Status(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"


def validate_bot_name(bot_name: object) -> str:
    if not isinstance(bot_name, str) or not BOT_NAME_RE.fullmatch(bot_name):
        raise InvalidMessageError(
            f"invalid bot name {bot_name!r}: use 1-64 characters from A-Z a-z 0-9 _ . - "
            "starting with a letter or digit (it becomes a Dagster partition key)"
        )
    return bot_name


def check_text(value: str, what: str) -> str:
    """`value` must be encodable as UTF-8: a lone surrogate (e.g. from a JSON "\\ud800" escape) is
    refused, naming its position but never quoting the text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidMessageError(
            f"{what} contains a lone surrogate (U+{ord(value[exc.start]):04X}) at character {exc.start}: "
            "not valid Unicode text"
        ) from None
    return value


def validate_user_id(user_id: object) -> str:
    if not isinstance(user_id, str):
        raise InvalidMessageError(f"invalid user id: must be a string, not {type(user_id).__name__}")
    if not user_id.strip():
        raise InvalidMessageError("invalid user id: must be a non-empty string")
    check_text(user_id, "user id")
    if len(user_id) > MAX_USER_ID_CHARS or any(ord(c) < 32 for c in user_id):
        raise InvalidMessageError(
            f"invalid user id {user_id[:40]!r}: at most {MAX_USER_ID_CHARS} characters, "
            "no control characters"
        )
    return user_id


def to_utc(ts: datetime) -> datetime:
    """`ts` in UTC; InvalidMessageError for a naive time or one that UTC cannot hold
    (0001-01-01T00:00+14:00 is in year 0, 9999-12-31T23:59-14:00 in year 10000)."""
    if not isinstance(ts, datetime):
        raise InvalidMessageError(f"timestamp must be a datetime, not {type(ts).__name__}")
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InvalidMessageError(
            f"naive timestamp {ts.isoformat()}: give a timezone (e.g. 2026-11-09T08:15:00Z)"
        )
    try:
        return ts.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidMessageError(
            f"timestamp {ts.isoformat()} is out of range: in UTC it falls outside years 1-9999"
        ) from None


def message_id_for(bot_name: str, user_id: str, role: str, ts_ms: int, content: str) -> str:
    """Deterministic id, so re-sending the same message never duplicates it."""
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join([bot_name, user_id, role, str(ts_ms), content])))


def message_version(bot_name: str, user_id: str, role: str, ts_ms: int | datetime, content: str) -> str:
    """The content version of a message: 16 hex digits of sha256 over its fields, \\x1f-joined.

    Two writes of a message id with the same version are the same message (a re-send, a
    re-ingest): the store leaves the point as it is. A staged row (Postgres `pending_messages`)
    gets the same version from its columns: `message_version(bot_name, user_id, role, ts, content)`
    with `ts` its aware datetime (or `epoch_ms(ts)`); a naive datetime or any other type is refused,
    since a silently different string would make every version differ.
    """
    if isinstance(ts_ms, datetime):
        if ts_ms.tzinfo is None or ts_ms.utcoffset() is None:
            raise TypeError(f"message_version needs an aware datetime, got naive {ts_ms.isoformat()}")
        ts_ms = epoch_ms(ts_ms)
    elif isinstance(ts_ms, bool) or not isinstance(ts_ms, int):
        raise TypeError(f"message_version needs epoch milliseconds (int) or a datetime, not {type(ts_ms).__name__}")
    role = role.value if isinstance(role, Role) else str(role)
    raw = "\x1f".join([bot_name, user_id, role, str(ts_ms), content])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def payload_version(payload: dict[str, Any]) -> str | None:
    """The version of a stored point from its payload fields; None if the payload is unreadable."""
    try:
        return message_version(
            payload["bot_name"], payload["user_id"], payload["role"], int(payload["ts"]), payload["content"]
        )
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    bot_name: str
    user_id: str
    role: Role
    content: str
    timestamp: datetime  # aware, UTC

    @property
    def ts_ms(self) -> int:
        return epoch_ms(self.timestamp)

    @property
    def day(self) -> str:
        return self.timestamp.date().isoformat()

    @property
    def version(self) -> str:
        """See `message_version`: changes when any stored field of the message changes."""
        return message_version(self.bot_name, self.user_id, self.role.value, self.ts_ms, self.content)

    def payload(self, stored_ms: int) -> dict[str, Any]:
        """The Qdrant payload (see ARCHITECTURE.md); `ts` is integer epoch milliseconds.

        `stored_ms` is when the point was (re)written: the sensor's cursor follows it, so a
        message with an old timestamp (an import, a late message) is still noticed."""
        return {
            "message_id": self.message_id,
            "bot_name": self.bot_name,
            "user_id": self.user_id,
            "role": self.role.value,
            "content": self.content,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "ts": self.ts_ms,
            "day": self.day,
            "enrichment_status": Status.PENDING.value,
            "enriched_at": None,
            "enrichment_run_id": None,
            "stored_ms": stored_ms,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message:
        return cls(
            message_id=str(payload["message_id"]),
            bot_name=payload["bot_name"],
            user_id=payload["user_id"],
            role=Role(payload["role"]),
            content=payload["content"],
            timestamp=from_epoch_ms(int(payload["ts"])),
        )


def new_message(
    bot_name: object,
    user_id: object,
    role: object,
    content: object,
    timestamp: datetime | None = None,
    message_id: str | uuid.UUID | None = None,
    *,
    max_chars: int,
    earliest_day: date = FIRST_DAY,
    now: datetime | None = None,
) -> Message:
    """Validate one incoming message; raise InvalidMessageError with the reason."""
    bot = validate_bot_name(bot_name)
    user = validate_user_id(user_id)
    if not isinstance(role, str):
        raise InvalidMessageError(f"role must be 'user' or 'bot', not a {type(role).__name__}")
    try:
        role_ = Role(role)
    except ValueError:
        raise InvalidMessageError(f"unknown role {check_text(role, 'role')[:20]!r}: use 'user' or 'bot'") from None
    if not isinstance(content, str):
        raise InvalidMessageError(f"content must be a string, not {type(content).__name__}")
    if not content.strip():
        raise InvalidMessageError("empty message: content must contain non-whitespace text")
    check_text(content, "content")
    if len(content) > max_chars:
        raise InvalidMessageError(
            f"message too long: {len(content)} characters, the limit is {max_chars} "
            "(WHISPER_MAX_MESSAGE_CHARS)"
        )
    if "\x00" in content:
        raise InvalidMessageError("message contains NUL characters, which PostgreSQL cannot store")
    now = now or datetime.now(timezone.utc)
    if timestamp is None:
        ts = now
    elif isinstance(timestamp, datetime):
        ts = to_utc(timestamp)
    else:
        raise InvalidMessageError(f"timestamp must be a datetime, not {type(timestamp).__name__}")
    if ts.date() < earliest_day:
        raise InvalidMessageError(
            f"timestamp {ts.isoformat()} is before the first partition day {earliest_day} (WHISPER_FIRST_DAY)"
        )
    if ts - now > MAX_FUTURE:
        raise InvalidMessageError(f"timestamp {ts.isoformat()} is more than a day in the future")
    # Millisecond precision: the payload keeps integer ms, so ids and round trips agree.
    ts = ts.replace(microsecond=ts.microsecond // 1000 * 1000)
    ts_ms = epoch_ms(ts)
    if message_id is None:
        mid = message_id_for(bot, user, role_.value, ts_ms, content)
    else:
        try:
            mid = str(uuid.UUID(str(message_id)))
        except ValueError:
            raise InvalidMessageError(f"message id {message_id!r} is not a UUID") from None
    return Message(mid, bot, user, role_, content, ts)
