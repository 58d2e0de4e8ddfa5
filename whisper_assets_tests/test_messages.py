from datetime import date, datetime, timedelta, timezone

import pytest

from whisper_assets.core.messages import InvalidMessageError, Message, new_message

UTC = timezone.utc
T0 = datetime(2026, 11, 9, 23, 30, tzinfo=UTC)


def make(**kw):
    args = dict(bot_name="elena", user_id="user_alice", role="user", content="I work as a nurse", timestamp=T0)
    args.update(kw)
    return new_message(**args, max_chars=100, earliest_day=date(2022, 1, 1), now=T0)


def test_payload_matches_architecture():
    m = make()
    p = m.payload(stored_ms=123)
    assert p["enrichment_status"] == "pending" and p["day"] == "2026-11-09"
    assert p["timestamp"] == "2026-11-09T23:30:00Z" and p["ts"] == 1794267000000
    assert p["message_id"] == m.message_id and p["role"] == "user" and p["stored_ms"] == 123
    assert Message.from_payload(p) == m


def test_day_is_utc_not_local():
    m = make(timestamp=datetime(2026, 11, 10, 1, 0, tzinfo=timezone(timedelta(hours=2))))
    assert m.day == "2026-11-09" and m.timestamp.tzinfo == UTC


def test_same_message_same_id_and_different_message_different_id():
    assert make().message_id == make().message_id
    assert make().message_id != make(content="I work as a teacher").message_id
    assert make(message_id="0b5c6f9e-5f0a-4bd6-9d7c-1f2a3b4c5d6e").message_id == "0b5c6f9e-5f0a-4bd6-9d7c-1f2a3b4c5d6e"


@pytest.mark.parametrize(
    "kw, needle",
    [
        ({"content": ""}, "empty"),
        ({"content": "  \n\t "}, "empty"),
        ({"content": "x" * 101}, "too long"),
        ({"content": "a\x00b"}, "NUL"),
        ({"role": "system"}, "unknown role"),
        ({"timestamp": datetime(2026, 11, 9, 8, 0)}, "naive"),
        ({"timestamp": "2026-11-09"}, "datetime"),
        ({"timestamp": datetime(2019, 1, 1, tzinfo=UTC)}, "before the first partition"),
        ({"timestamp": T0 + timedelta(days=3)}, "future"),
        ({"bot_name": "elena|2026"}, "invalid bot name"),
        ({"bot_name": "a,b"}, "invalid bot name"),
        ({"bot_name": "[x]"}, "invalid bot name"),
        ({"bot_name": ""}, "invalid bot name"),
        ({"bot_name": "b" * 65}, "invalid bot name"),
        ({"user_id": ""}, "user id"),
        ({"user_id": "u" * 200}, "user id"),
        ({"message_id": "not-a-uuid"}, "not a UUID"),
    ],
)
def test_bad_input_is_refused_with_a_reason(kw, needle):
    with pytest.raises(InvalidMessageError, match=needle):
        make(**kw)
