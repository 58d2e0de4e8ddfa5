"""Property tests (hypothesis): the ingest parsers, new_message/store_message, time phrases and the
HTTP API never raise an unhandled exception on any input, refuse with one clear line, never store
half a record, and keep valid text (SQL-looking, unicode, RTL) verbatim."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from whisper_assets.core.messages import InvalidMessageError, Message, new_message
from whisper_assets.core.timephrases import TimeRange, resolve_time_range
from whisper_assets.interfaces.api import create_app
from whisper_assets.memory.hot_path import MessageIn, message_writer
from whisper_assets.memory.ingest import parse_jsonl, parse_locomo
from whisper_assets.stores.qdrant import open_store

UTC = timezone.utc
FAST = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TS = datetime(2025, 11, 9, 8, 15, tzinfo=UTC)

# Text a message may hold: any unicode but surrogates and NUL, with at least one visible character.
VALID_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                     min_size=1, max_size=200).filter(lambda t: t.strip())
TRICKY = st.sampled_from([
    "Robert'); DROP TABLE pending_messages;--",
    "' OR 1=1 --",
    "שלום, אני גר בתל אביב",  # RTL: Hebrew
    "أنا أعمل ممرضة في المستشفى",  # RTL: Arabic
    "\u202eevil right-to-left override\u202c",
    "emoji 🐕‍🦺 and combining e\u0301",
    "tab\tand\nnewline and \x1b[31m escape",
    "$1 {{template}} %s %(name)s \\N{SNOWMAN}",
])
CONTENT = st.one_of(TRICKY, VALID_TEXT)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)
# Strings with a lone surrogate somewhere (what a JSON "\ud800" escape gives).
SURROGATE_TEXT = st.builds(lambda a, s, b: a + s + b, st.text(max_size=10),
                           st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), st.text(max_size=10))
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
EXTREME_TIMES = st.sampled_from([datetime.fromisoformat(t) for t in (
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59",
    "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59+14:00")])
ANY_TIME = st.one_of(EXTREME_TIMES, st.datetimes(), st.datetimes(timezones=st.just(UTC)),
                     st.builds(lambda d, tz: d.replace(tzinfo=tz), st.datetimes(), OFFSETS))
ANY_VALUE = st.one_of(JSON_VALUES, SURROGATE_TEXT, st.binary(max_size=10), ANY_TIME)


def _one_line(text: str) -> None:
    assert text and "\n" not in text and "Traceback" not in text


# -- the JSONL and LoCoMo parsers --------------------------------------------------------------------

def _jsonl_line(obj: dict) -> bytes:
    return json.dumps(obj).encode()


RECORD = st.fixed_dictionaries({
    "bot": st.one_of(st.just("elena"), ANY_VALUE), "user": st.one_of(st.just("user_alice"), ANY_VALUE),
    "role": st.one_of(st.just("user"), ANY_VALUE), "content": st.one_of(CONTENT, ANY_VALUE),
    "timestamp": st.one_of(st.just("2025-11-09T08:15:00Z"), ANY_TIME.map(datetime.isoformat), ANY_VALUE),
}).map(lambda d: {k: (v.isoformat() if isinstance(v, datetime) else v.hex() if isinstance(v, bytes) else v)
                  for k, v in d.items()})
LINE = st.one_of(RECORD.map(_jsonl_line), st.binary(max_size=80), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                 st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n))


@FAST
@given(st.lists(LINE, max_size=8), st.booleans())
def test_jsonl_parser_reports_every_bad_line_and_never_raises(lines, bom):
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    if bom and lines:
        lines[0] = b"\xef\xbb\xbf" + lines[0]
    parsed = list(parse_jsonl(lines))
    expected = [f"line {i}" for i, line in enumerate(lines, 1)
                if line.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").strip()]
    assert [p.where for p in parsed] == expected
    for p in parsed:
        assert (p.item is None) != (p.error is None)
        if p.error:
            _one_line(p.error)
        else:  # a record the parser accepts has exactly the line's strings, nothing turned into "None"
            assert all(isinstance(v, str) for v in (p.item.bot, p.item.user, p.item.role, p.item.content))


@FAST
@given(CONTENT)
def test_a_bom_never_costs_line_1_and_valid_content_is_kept_verbatim(content):
    line = b"\xef\xbb\xbf" + _jsonl_line({"bot": "elena", "user": "u1", "role": "user", "content": content,
                                          "timestamp": "2025-11-09T08:15:00Z"})
    [parsed] = parse_jsonl([line])
    assert parsed.where == "line 1" and parsed.item.content == content


LOCOMO_TURN = st.one_of(
    st.fixed_dictionaries({"speaker": st.one_of(st.sampled_from(["Ann", "Ben"]), ANY_VALUE),
                           "text": st.one_of(CONTENT, ANY_VALUE)}, optional={"dia_id": JSON_SCALARS}),
    JSON_VALUES)
LOCOMO_SAMPLE = st.one_of(
    st.fixed_dictionaries({
        "sample_id": st.one_of(st.just("conv-1"), JSON_VALUES),
        "conversation": st.one_of(
            st.fixed_dictionaries({"session_1_date_time": st.one_of(st.just("2:37 pm on 6 May, 2023"), JSON_VALUES),
                                   "session_1": st.one_of(st.lists(LOCOMO_TURN, max_size=5), JSON_VALUES)}),
            JSON_VALUES),
    }),
    JSON_VALUES)


@FAST
@given(st.one_of(LOCOMO_SAMPLE, st.lists(LOCOMO_SAMPLE, max_size=3)))
def test_locomo_parser_never_raises_and_never_reads_null_as_none(data):
    for p in parse_locomo(data):
        assert (p.item is None) != (p.error is None)
        if p.error:
            _one_line(p.error)
        else:
            assert isinstance(p.item.user, str) and isinstance(p.item.content, str) and p.item.content.strip()
            assert isinstance(p.item.bot, str)


# -- new_message and store_message --------------------------------------------------------------------

@FAST
@given(bot=st.one_of(st.just("elena"), ANY_VALUE), user=st.one_of(st.just("user_alice"), ANY_VALUE),
       role=st.one_of(st.sampled_from(["user", "bot"]), ANY_VALUE), content=st.one_of(CONTENT, ANY_VALUE),
       timestamp=st.one_of(st.just(TS), st.none(), ANY_TIME, ANY_VALUE))
def test_new_message_accepts_or_refuses_with_invalid_message_error(bot, user, role, content, timestamp):
    try:
        message = new_message(bot, user, role, content, timestamp, max_chars=8000)
    except InvalidMessageError as exc:
        _one_line(str(exc).replace("\n", " ") if isinstance(content, str) and "\n" in content else str(exc))
        return
    assert isinstance(message, Message) and message.content == content
    message.version  # hashable as UTF-8: never a UnicodeEncodeError later


@FAST
@given(field=st.sampled_from(["bot", "user", "role", "content", "timestamp"]),
       value=st.one_of(ANY_VALUE, SURROGATE_TEXT, EXTREME_TIMES))
def test_one_bad_field_is_refused_with_invalid_message_error(field, value):
    fields = {"bot": "elena", "user": "user_alice", "role": "user", "content": "I moved to Porto", "timestamp": TS,
              field: value}
    try:
        message = new_message(*fields.values(), max_chars=8000)
    except InvalidMessageError as exc:
        _one_line(str(exc))
        return
    assert message.content == fields["content"] and message.user_id == fields["user"]
    assert message.version and message.payload(0)["content"].encode("utf-8")


@FAST
@given(CONTENT, st.sampled_from(["user_alice", "אורח_1", "user'; DROP TABLE x;--", "ユーザー"]))
def test_valid_content_is_accepted_verbatim(content, user):
    assert new_message("elena", user, "user", content, TS, max_chars=8000).content == content


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(good=st.lists(CONTENT, min_size=1, max_size=3),
       bad=st.one_of(st.none(), st.sampled_from(["\ud800 half", "   ", 5, None, b"bytes", "nul\x00"])))
def test_store_messages_is_all_or_nothing_and_round_trips_verbatim(settings, good, bad):
    items = [MessageIn("elena", "user_alice", "user", c, TS + timedelta(seconds=i)) for i, c in enumerate(good)]
    with message_writer(settings) as writer:
        before = {r.id: r.payload for r in writer.store.engine.scroll(writer.store.messages, {})}
        if bad is not None:
            with pytest.raises(InvalidMessageError):
                writer.store_messages([*items, MessageIn("elena", "user_alice", "user", bad, TS)])  # type: ignore[arg-type]
            after = {r.id: r.payload for r in writer.store.engine.scroll(writer.store.messages, {})}
            assert after == before  # nothing of the batch was stored
            return
        ids = writer.store_messages(items)
        stored = {r.id: r.payload for r in writer.store.engine.scroll(writer.store.messages, {})}
    assert [stored[i]["content"] for i in ids] == good


# -- time phrases --------------------------------------------------------------------------------------

PHRASES = st.sampled_from(["yesterday", "last week", "two weeks ago", "in March", "on Monday", "since the 3rd",
                           "last year", "this century", "10000 years ago", "in 0001", "on 9999-12-31",
                           "next month", "February 30", "last 99999 days"])


@FAST
@given(query=st.one_of(PHRASES, st.text(max_size=60), st.tuples(st.text(max_size=20), PHRASES).map(" ".join)),
       now=ANY_TIME, tz=st.sampled_from(["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Lisbon"]))
def test_time_phrases_resolve_or_refuse_with_value_error(query, now, tz):
    try:
        result = resolve_time_range(query, now, tz)
    except ValueError as exc:
        _one_line(str(exc))
        return
    assert result is None or (isinstance(result, TimeRange) and result.start < result.end)


# -- the HTTP API ---------------------------------------------------------------------------------------

TEXT_OR_SURROGATE = st.one_of(CONTENT, st.text(max_size=30), SURROGATE_TEXT)


def test_api_answers_4xx_json_never_500(settings, caplog):
    with TestClient(create_app(settings, load_model=False), raise_server_exceptions=False) as client:

        @hsettings(max_examples=60, deadline=None)
        @given(bot=st.one_of(st.just("elena"), TEXT_OR_SURROGATE), user=TEXT_OR_SURROGATE, query=TEXT_OR_SURROGATE,
               now=st.one_of(st.none(), ANY_TIME.map(datetime.isoformat), st.text(max_size=30)),
               tz=st.one_of(st.just("UTC"), TEXT_OR_SURROGATE))
        def check(bot, user, query, now, tz):
            body = {"bot": bot, "user": user, "query": query, "tz": tz, **({"now": now} if now is not None else {})}
            # json.dumps escapes a lone surrogate as \\udXXX: the server meets it as the client sent it
            response = client.post("/recall", content=json.dumps(body), headers={"content-type": "application/json"})
            assert response.status_code in (200, 404, 422), response.text
            assert "detail" in response.json() or response.status_code == 200
            assert '"input"' not in response.text  # the caller's values are never echoed

        check()
    assert "Traceback" not in caplog.text


def test_api_out_of_range_now_and_surrogates_are_422_and_not_logged(settings, caplog):
    secret = "my-private-question"
    with TestClient(create_app(settings, load_model=False), raise_server_exceptions=False) as client:
        for now in ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]:
            r = client.get("/recall", params={"bot": "elena", "user": "u", "query": secret, "now": now})
            assert r.status_code == 422 and "out of range" in r.text, r.text
        for field in ("bot", "user", "query", "tz"):
            body = {"bot": "elena", "user": "u", "query": secret, field: f"{secret}\ud800"}
            r = client.post("/recall", content=json.dumps(body), headers={"content-type": "application/json"})
            assert r.status_code == 422, (field, r.text)
            assert secret not in r.text
    assert secret not in caplog.text


def test_access_log_drops_query_strings():
    import logging

    from whisper_assets.interfaces.api import QueryStringFilter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/recall?user=alice&query=my+secret", "1.1", 422), None)
    assert QueryStringFilter().filter(record)
    assert "secret" not in record.getMessage() and "alice" not in record.getMessage()
    assert "/recall?..." in record.getMessage()
