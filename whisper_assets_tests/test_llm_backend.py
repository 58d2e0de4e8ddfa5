"""The OpenAI-compatible backend through the real `openai` client against the stub server, and the
validation of what comes back (no Dagster, no stores).

Transport faults (429, 5xx, timeouts) are the client's to retry; invalid answers (bad JSON,
schema or invariant breaches) are retried by the backend, then the batch fails.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

import dagster as dg
import openai
import pytest

from whisper_assets.defs.resources import LLMResource
from whisper_assets.core.llm.backend import (
    BatchMessage, LLMOutputError, RateLimiter, Usage, check_batch, interpret, labels,
)
from whisper_assets.core.llm.openai_backend import INVALID_OUTPUT_ATTEMPTS, LLMEndpointError, OpenAIBackend
from whisper_assets.core.llm.prompts import PROMPT_VERSION, SYSTEM_PROMPT
from whisper_assets.core.llm.schemas import MAX_MESSAGES_PER_CALL, BatchOut, Category, json_schema_format
from whisper_assets_tests.enrichment_helpers import (
    OutputBackoff, answer, batch_of, echo_responder, skip_output_backoff,
)
from whisper_assets_tests.llm_stub import BrokenHTTP, Delay, Error, Malformed, Reply, StubLLMServer

UTC = timezone.utc


def msg(user: str, content: str, minute: int = 0) -> BatchMessage:
    return BatchMessage(str(uuid.uuid4()), user, content, datetime(2025, 11, 9, 9, minute, tzinfo=UTC))


BATCH = [
    msg("user_alice", "I work as a nurse", 0),
    msg("user_alice", "I have a dog named Biscuit", 5),
    msg("user_bob", "I live in Lisbon", 7),
]


@pytest.fixture(autouse=True)
def backoff(monkeypatch) -> OutputBackoff:
    """The backend's waits between invalid answers are recorded, not slept (transport retries,
    the client's own, still really wait)."""
    return skip_output_backoff(monkeypatch)


@pytest.fixture()
def stub() -> Iterator[StubLLMServer]:
    with StubLLMServer(default=echo_responder()) as server:
        yield server


def backend(stub: StubLLMServer, **kw: Any) -> OpenAIBackend:
    """Built the way the Dagster resource builds it (timeout and client retries passed through)."""
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout_s", 2.0)
    kw.setdefault("model", "stub-model")
    b = LLMResource(backend="openai", base_url=stub.base_url, **kw).get_backend()
    assert isinstance(b, OpenAIBackend)
    return b


def reply(facts: list[dict[str, Any]], summaries: list[dict[str, Any]] | None = None) -> Reply:
    if summaries is None:
        summaries = [{"user": "u1", "summary": "The user talked about work and a dog.", "topics": ["work"]},
                     {"user": "u2", "summary": "The user talked about Lisbon.", "topics": ["home"]}]
    return Reply(json.dumps({"facts": facts, "summaries": summaries}))


def fact(ids: list[str], text: str = "works as a nurse", category: str = "occupation", conf: float = 0.9) -> dict:
    return {"message_ids": ids, "category": category, "fact": text, "confidence": conf}


# -- the happy path and the request ------------------------------------------------------------------

def test_answer_maps_labels_back_to_message_and_user_ids(stub):
    stub.script(reply([fact(["m1"]), fact(["m2", "m2"], "  has a dog\n named   Biscuit ", "pet", 0.87654),
                       fact(["m3"], "lives in Lisbon", "location")]))
    result = backend(stub).enrich(BATCH)
    by_text = {f.fact: f for f in result.facts}
    assert set(by_text) == {"works as a nurse", "has a dog named Biscuit", "lives in Lisbon"}
    assert by_text["works as a nurse"].user_id == "user_alice"
    assert by_text["works as a nurse"].source_message_ids == (BATCH[0].message_id,)
    assert by_text["has a dog named Biscuit"].source_message_ids == (BATCH[1].message_id,)  # deduplicated
    assert by_text["has a dog named Biscuit"].category is Category.PET
    assert by_text["has a dog named Biscuit"].confidence == 0.8765
    assert by_text["lives in Lisbon"].user_id == "user_bob"
    assert set(result.summaries) == {"user_alice", "user_bob"}
    assert result.summaries["user_bob"].text == "The user talked about Lisbon."
    assert result.usage.calls == 1 and result.usage.tokens_in > 0 and result.usage.tokens_out > 0
    assert result.usage.cost_usd == 0.0  # stub-model has no known price


def test_request_carries_labels_only_and_asks_for_json(stub):
    backend(stub).enrich(BATCH)
    [req] = stub.chat_requests
    assert req.model == "stub-model"
    assert req.body["temperature"] == 0
    assert req.body["response_format"] == json_schema_format()  # structured output (test_structured_output.py)
    assert [m["role"] for m in req.messages] == ["system", "user"]
    assert req.messages[0]["content"] == SYSTEM_PROMPT
    assert batch_of(req.body) == {
        "u1": [{"id": "m1", "time": "09:00", "text": "I work as a nurse"},
               {"id": "m2", "time": "09:05", "text": "I have a dog named Biscuit"}],
        "u2": [{"id": "m3", "time": "09:07", "text": "I live in Lisbon"}],
    }
    raw = json.dumps(req.body)
    # The model never sees real ids, so it can only cite what it was given.
    assert not any(m.message_id in raw for m in BATCH)
    assert "user_alice" not in raw and "user_bob" not in raw
    assert req.headers["authorization"] == "Bearer unused"


def test_usage_and_cost_of_a_priced_model(stub):
    stub.default = echo_responder(prompt_tokens=2000, completion_tokens=500)
    b = backend(stub, model="gpt-4o-mini")
    result = b.enrich(BATCH)
    assert (b.model, b.prompt_version) == ("gpt-4o-mini", PROMPT_VERSION)
    assert result.usage == Usage(1, 2000, 500, pytest.approx((2000 * 0.15 + 500 * 0.60) / 1e6))


def test_oversized_or_empty_batch_is_refused_before_any_call(stub):
    big = [msg("u", f"I say {i}") for i in range(MAX_MESSAGES_PER_CALL + 1)]
    with pytest.raises(ValueError, match="at most 50"):
        backend(stub).enrich(big)
    with pytest.raises(ValueError, match="empty"):
        backend(stub).enrich([])
    assert stub.chat_requests == []
    check_batch(big[:MAX_MESSAGES_PER_CALL])  # exactly 50 is fine


# -- invalid answers: retried by the backend, then LLMOutputError ----------------------------------

def test_malformed_json_then_valid_succeeds_with_two_calls(stub):
    stub.script(Malformed("Here you go: {facts: [}"))
    result = backend(stub).enrich(BATCH)
    assert len(stub.chat_requests) == 2
    assert result.usage.calls == 2  # the wasted call is paid for too
    assert len(result.facts) == 3


def test_schema_breach_then_valid_succeeds(stub):
    stub.script(reply([fact(["m1"], category="astrology")]), reply([fact(["m1"], conf=1.5)]))
    result = backend(stub).enrich(BATCH)
    assert len(stub.chat_requests) == 3 and result.usage.calls == 3


def test_persistent_malformed_json_fails_after_the_attempts(stub, backoff):
    stub.default = Malformed("not json at all")
    with pytest.raises(LLMOutputError, match=rf"not JSON.*after {INVALID_OUTPUT_ATTEMPTS} attempts"):
        backend(stub).enrich(BATCH)
    assert len(stub.chat_requests) == INVALID_OUTPUT_ATTEMPTS
    assert backoff.waits == [0.2, 0.4]  # exponential backoff between the attempts


def test_unknown_message_id_is_retried_then_accepted(stub):
    stub.script(reply([fact(["m4"])]))
    result = backend(stub).enrich(BATCH)
    assert len(stub.chat_requests) == 2 and len(result.facts) == 3


def test_unknown_message_id_that_persists_fails(stub):
    stub.default = lambda body: Reply(answer(body, extra_facts=[fact(["m9"], "made up")]))
    with pytest.raises(LLMOutputError, match=r"fact #3 cites 1 message label\(s\) not in the batch") as err:
        backend(stub).enrich(BATCH)
    assert "m9" not in str(err.value) and "made up" not in str(err.value)  # the model's text is not kept
    assert len(stub.chat_requests) == INVALID_OUTPUT_ATTEMPTS


def test_a_real_id_is_not_a_label(stub):
    # Even a genuine message id from the batch is refused: only labels are citations.
    stub.default = reply([fact([BATCH[0].message_id])])
    with pytest.raises(LLMOutputError, match="not in the batch"):
        backend(stub).enrich(BATCH)


@pytest.mark.parametrize(
    ("out", "error"),
    [
        (reply([fact(["m1", "m3"])]), "2 different users"),
        (reply([], [{"user": "u1", "summary": "The user talked about work."}]), r"no summary for user labels \['u2'\]"),
        (reply([], [{"user": "u1", "summary": "The user talked about work."},
                    {"user": "u2", "summary": "The user talked about Lisbon."},
                    {"user": "u3", "summary": "Somebody else entirely."}]), "summary #2 names a user label that is not in the batch"),
        (reply([], [{"user": "u1", "summary": "The user talked about work."},
                    {"user": "u1", "summary": "The user talked about a dog."},
                    {"user": "u2", "summary": "The user talked about Lisbon."}]), "a second summary for user label u1"),
        (reply([fact([])]), "schema at facts.0.message_ids"),
        (reply([fact(["m1"], "  ")]), "schema at facts.0.fact"),
        (Reply(json.dumps([1, 2])), "schema"),
        (Reply(""), "not JSON"),
    ],
    ids=["mixed-users", "missing-summary", "unknown-user", "duplicate-summary", "no-citation", "blank-fact",
         "not-an-object", "empty"],
)
def test_invariant_breaches_are_invalid_output(stub, out, error):
    stub.default = out
    with pytest.raises(LLMOutputError, match=error):
        backend(stub).enrich(BATCH)
    assert len(stub.chat_requests) == INVALID_OUTPUT_ATTEMPTS


# -- transport faults: the client's retries ---------------------------------------------------------

def test_429_with_retry_after_then_success(stub):
    stub.script(Error(429, retry_after=0.3))
    started = time.monotonic()
    result = backend(stub, max_retries=1).enrich(BATCH)
    assert time.monotonic() - started >= 0.3  # Retry-After was honoured
    assert len(stub.chat_requests) == 2
    assert result.usage.calls == 1 and len(result.facts) == 3


def test_500_then_success(stub):
    stub.script(Error(500))
    result = backend(stub, max_retries=1).enrich(BATCH)
    assert len(stub.chat_requests) == 2 and len(result.facts) == 3


def test_500_beyond_max_retries_raises_without_output_retries(stub):
    stub.default = Error(500)
    with pytest.raises(LLMEndpointError, match="InternalServerError, HTTP 500") as err:
        backend(stub, max_retries=1).enrich(BATCH)
    assert err.value.status_code == 500 and err.value.__suppress_context__
    assert len(stub.chat_requests) == 2  # the client's 1 + 1; not multiplied by the output retries


def test_delay_beyond_the_timeout_then_success(stub):
    stub.script(Delay(0.8))  # then the default responder, too late for the client
    started = time.monotonic()
    result = backend(stub, max_retries=1, timeout_s=0.4).enrich(BATCH)
    assert len(stub.chat_requests) == 2 and len(result.facts) == 3
    assert time.monotonic() - started < 3.0


def test_timeout_without_retries_raises(stub):
    stub.default = Delay(0.8)
    with pytest.raises(LLMEndpointError, match="APITimeoutError"):
        backend(stub, max_retries=0, timeout_s=0.3).enrich(BATCH)
    assert len(stub.chat_requests) == 1


def test_a_proxy_page_instead_of_json_is_retried_by_the_client_or_fails(stub):
    stub.script(BrokenHTTP())
    try:
        result = backend(stub, max_retries=1).enrich(BATCH)
    except (LLMEndpointError, LLMOutputError, json.JSONDecodeError):
        return  # refused: fine, nothing is stored from it
    assert len(result.facts) == 3


# -- plain functions --------------------------------------------------------------------------------

def test_labels_number_messages_and_users_in_order():
    by_label, users = labels(BATCH)
    assert list(by_label) == ["m1", "m2", "m3"] and by_label["m3"] is BATCH[2]
    assert users == {"u1": "user_alice", "u2": "user_bob"}


def test_interpret_normalises_summaries_and_topics():
    out = BatchOut.model_validate({
        "facts": [],
        "summaries": [
            {"user": "u1", "summary": "The user   talked\nabout work.", "topics": ["  work ", "work", "", "dogs"]},
            {"user": "u2", "summary": "The user talked about Lisbon.", "topics": ["x" * 100]},
        ],
    })
    facts, summaries = interpret(out, BATCH)
    assert facts == []
    assert summaries["user_alice"].text == "The user talked about work."
    assert summaries["user_alice"].topics == ("work", "dogs")
    assert summaries["user_bob"].topics == ("x" * 60,)


def test_resource_without_key_or_base_url_refuses(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(dg.Failure, match="OPENAI_API_KEY"):
        LLMResource(backend="openai").get_backend()


def test_resource_passes_timeout_and_retries_to_the_client(stub):
    b = backend(stub, max_retries=3, timeout_s=1.5, requests_per_minute=120)
    assert b.client.max_retries == 3 and b.client.timeout == 1.5
    assert b.limiter is not None and b.limiter.rate == 2.0


def test_rate_limiter_allows_a_burst_then_paces():
    limiter = RateLimiter(per_minute=1200)  # 20/s, 5 s of burst = 100
    started = time.monotonic()
    for _ in range(100):
        limiter.acquire()
    assert time.monotonic() - started < 1.0  # 100 at 20/s would take 5 s without the burst
    limiter.acquire()
    limiter.acquire()
    assert time.monotonic() - started >= 0.05


# -- error texts: message ids, never message text or user ids (they outlive a forget) --------------

def _assert_no_user_text(text: str) -> None:
    for m in BATCH:
        assert m.content not in text and m.user_id not in text
    for word in ("nurse", "Biscuit", "Lisbon", "alice", "bob", "SECRET"):
        assert word not in text


def test_an_endpoint_error_quoting_the_prompt_keeps_only_its_status_and_code(stub):
    stub.default = Error(400, body={"error": {"message": "flagged: 'I work as a nurse' by user_alice SECRET",
                                              "type": "invalid_request_error", "code": "content_filter"}})
    with pytest.raises(LLMEndpointError) as err:
        backend(stub, max_retries=0).enrich(BATCH)
    text = str(err.value)
    assert "BadRequestError, HTTP 400, code content_filter" in text
    _assert_no_user_text(text)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained openai error


@pytest.mark.parametrize(
    ("out", "cites"),
    [
        (reply([fact(["m1", "m3"], "SECRET works as a nurse, told user_bob")]), [0, 2]),
        (reply([fact(["m2", "m7"], "SECRET has a dog named Biscuit")]), [1]),
        (reply([], [{"user": "u1", "summary": "SECRET The user talked about work."},
                    {"user": "user_alice SECRET", "summary": "The user talked about being a nurse."}]), []),
        (reply([fact(["m1"], "SECRET " + "x" * 400)]), []),
    ],
    ids=["mixed-users", "unknown-label", "made-up-user", "schema"],
)
def test_invalid_output_errors_cite_message_ids_never_text(stub, out, cites):
    stub.default = out
    with pytest.raises(LLMOutputError) as err:
        backend(stub).enrich(BATCH)
    text = str(err.value)
    _assert_no_user_text(text)
    assert "m7" not in text  # a label the model made up is model text too
    for i in cites:
        assert BATCH[i].message_id in text
