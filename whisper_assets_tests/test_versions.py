"""Message content versions: what the store compares on re-store and the enrichment on mark."""

from datetime import datetime, timedelta, timezone

import pytest

from whisper_assets.core.messages import Role, message_version, new_message, payload_version

UTC = timezone.utc
TS = datetime(2026, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)
FIELDS = ("kai", "user_kim", "user", 1_773_480_413_589, "The bakery on our corner closes at noon")


def _msg(content="The bakery on our corner closes at noon", message_id=None):
    return new_message("kai", "user_kim", "user", content, TS, message_id,
                       max_chars=1000, now=datetime(2026, 3, 20, tzinfo=UTC))


def test_version_is_short_stable_hex():
    v = message_version(*FIELDS)
    assert v == message_version(*FIELDS)
    assert len(v) == 16 and int(v, 16) >= 0
    # sha256 over the \x1f-joined fields, first 16 hex digits (pinned: staged rows and stored
    # points written by another version of this code must keep comparing equal).
    import hashlib

    raw = "\x1f".join(map(str, FIELDS)).encode()
    assert v == hashlib.sha256(raw).hexdigest()[:16]


@pytest.mark.parametrize("index, other", [
    (0, "kai2"), (1, "user_kim2"), (2, "bot"), (3, 1_773_480_413_590),
    (4, "The bakery on our corner closes at noon."),
])
def test_every_field_changes_the_version(index, other):
    changed = list(FIELDS)
    changed[index] = other
    assert message_version(*changed) != message_version(*FIELDS)


def test_fields_cannot_run_into_each_other():
    assert message_version("ab", "c", "user", 1, "x") != message_version("a", "bc", "user", 1, "x")


def test_a_staged_row_gets_the_version_of_its_message():
    """Staged rows carry ts as an aware datetime (any zone); Message, payload and row agree."""
    m = _msg()
    assert m.ts_ms == FIELDS[3]
    assert m.version == message_version(*FIELDS)
    assert payload_version(m.payload(stored_ms=5)) == m.version
    local = TS.astimezone(timezone(timedelta(hours=-5)))
    assert message_version("kai", "user_kim", "user", local, m.content) == m.version
    assert message_version("kai", "user_kim", Role.USER, TS, m.content) == m.version


def test_version_ignores_the_id_and_store_state():
    a, b = _msg(message_id="1c1f3c0e-52a4-4d7e-9a39-6f2b4c8d0a11"), _msg()
    assert a.message_id != b.message_id and a.version == b.version
    completed = a.payload(stored_ms=9) | {"enrichment_status": "completed", "enriched_at": "2026-03-15T00:00:00Z"}
    assert payload_version(completed) == a.version
    assert _msg("The bakery on our corner closes at one").version != a.version


def test_wrong_timestamp_types_are_refused_not_hashed():
    with pytest.raises(TypeError, match="aware"):
        message_version("kai", "user_kim", "user", TS.replace(tzinfo=None), "x")
    for bad in ("1773480413589", 1_773_480_413.589, True):
        with pytest.raises(TypeError):
            message_version("kai", "user_kim", "user", bad, "x")


def test_unreadable_payload_has_no_version():
    assert payload_version({"bot_name": "kai"}) is None
    assert payload_version({"bot_name": "kai", "user_id": "u", "role": "user", "ts": "soon", "content": "x"}) is None
    assert payload_version({"bot_name": None, "user_id": "u", "role": "user", "ts": 1, "content": "x"}) is None
