"""Structured output with an OpenAI-compatible endpoint: the request asks for the strict JSON schema
of the answer; an endpoint that refuses json_schema is asked with json_object from then on (one log
line, no message text); summaries cite the turns they draw on, checked like facts' citations.

The real `openai` client against the stub server (whisper_assets_tests/llm_stub.py); no Dagster.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterator

import pytest

from whisper_assets.core.llm.backend import LLMOutputError, interpret
from whisper_assets.core.llm.openai_backend import JSON_OBJECT, LLMEndpointError
from whisper_assets.core.llm.prompts import SYSTEM_PROMPT
from whisper_assets.core.llm.schemas import BatchOut, json_schema_format, strict_json_schema
from whisper_assets_tests.enrichment_helpers import batch_of, skip_output_backoff
from whisper_assets_tests.llm_stub import Delay, Error, Malformed, Reply, StubLLMServer
from whisper_assets_tests.test_llm_backend import BATCH, backend, fact

LOGGER = "whisper_assets.core.llm.openai_backend"


def citing_answer(body: dict[str, Any]) -> Reply:
    """A well-behaved structured answer: one summary per user citing that user's turns."""
    summaries = [
        {"user": label, "message_ids": [m["id"] for m in messages], "topics": ["day"],
         "summary": f"The user wrote {len(messages)} messages about their day."}
        for label, messages in batch_of(body).items()
    ]
    return Reply(json.dumps({"facts": [fact(["m1"])], "summaries": summaries}))


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    skip_output_backoff(monkeypatch)


@pytest.fixture()
def stub() -> Iterator[StubLLMServer]:
    with StubLLMServer(default=citing_answer) as server:
        yield server


@pytest.fixture()
def old_stub() -> Iterator[StubLLMServer]:
    """An endpoint without structured output: json_schema is a 400 naming response_format."""
    with StubLLMServer(default=citing_answer, json_schema=False) as server:
        yield server


def _formats(stub: StubLLMServer) -> list[str]:
    return [r.body["response_format"]["type"] for r in stub.chat_requests]


# -- the schema ---------------------------------------------------------------------------------------

def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for v in node.values():
            yield from _objects(v)
    elif isinstance(node, list):
        for v in node:
            yield from _objects(v)


def test_the_strict_schema_closes_every_object_and_requires_every_field():
    schema = strict_json_schema()
    objects = list(_objects(schema))
    assert len(objects) == 3  # the answer, a fact, a summary
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])
    summary = schema["$defs"]["SummaryOut"]["properties"]
    assert summary["message_ids"] == {"type": "array", "items": {"type": "string"}}
    assert set(schema["$defs"]["Category"]["enum"]) >= {"pet", "family", "plan"}
    # what strict mode refuses is left to pydantic, which still checks it on the answer
    text = json.dumps(schema)
    for keyword in ("minLength", "maxLength", "maxItems", "default", "title"):
        assert f'"{keyword}"' not in text
    fmt = json_schema_format()
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == schema and fmt["json_schema"]["name"]


def test_the_prompt_asks_for_third_person_summaries_that_cite_their_messages():
    assert '"message_ids"' in SYSTEM_PROMPT.split("summaries")[1]  # in the summary's JSON shape
    assert "third person" in SYSTEM_PROMPT and "Cite in message_ids" in SYSTEM_PROMPT


# -- structured output, and the fallback -------------------------------------------------------------

def test_the_request_asks_for_the_schema_and_summaries_keep_their_citations(stub):
    result = backend(stub).enrich(BATCH)
    [req] = stub.chat_requests
    assert req.body["response_format"] == json_schema_format()
    assert result.summaries["user_alice"].message_ids == tuple(sorted(m.message_id for m in BATCH[:2]))
    assert result.summaries["user_bob"].message_ids == (BATCH[2].message_id,)


def test_an_endpoint_refusing_json_schema_is_asked_with_json_object_from_then_on(old_stub, caplog):
    b = backend(old_stub)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        first = b.enrich(BATCH)
        second = b.enrich(BATCH)
    assert _formats(old_stub) == ["json_schema", "json_object", "json_object"]
    assert b.response_format is JSON_OBJECT
    assert len(first.facts) == len(second.facts) == 1 and first.usage.calls == 1
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 1 and "json_schema" in lines[0] and "HTTP 400" in lines[0]
    for m in BATCH:  # no message text, no user id in the log line
        assert m.content not in lines[0] and m.user_id not in lines[0]
    # another backend instance (another endpoint, maybe) starts with structured output again
    fresh = backend(old_stub)
    assert fresh.response_format == json_schema_format()


def test_a_refusal_that_names_json_schema_only_in_its_message_also_falls_back(stub):
    stub.script(Error(400, body={"error": {"message": "Unsupported value: json_schema", "type": "invalid_request_error",
                                           "param": None, "code": None}}))
    backend(stub).enrich(BATCH)
    assert _formats(stub) == ["json_schema", "json_object"]


def test_another_400_is_an_endpoint_error_and_keeps_structured_output(stub):
    stub.script(Error(400, body={"error": {"message": "context length exceeded", "type": "invalid_request_error",
                                           "param": "messages", "code": "context_length_exceeded"}}))
    b = backend(stub)
    with pytest.raises(LLMEndpointError, match="HTTP 400, code context_length_exceeded"):
        b.enrich(BATCH)
    assert _formats(stub) == ["json_schema"]
    assert b.response_format == json_schema_format()


def test_the_stub_refuses_a_json_schema_without_a_schema(stub):
    import openai

    client = openai.OpenAI(base_url=stub.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                       response_format={"type": "json_schema", "json_schema": {"name": "x"}})
    assert err.value.param == "response_format"
    assert stub.pending == 0 and len(stub.chat_requests) == 1


@pytest.mark.parametrize("structured", [True, False], ids=["json_schema", "json_object"])
@pytest.mark.parametrize(
    "fault",
    [Error(500), Error(429, retry_after=0.05), Delay(0.8), Malformed("{facts: [}"), Reply(json.dumps([1, 2]))],
    ids=["500", "429", "timeout", "malformed", "schema"],
)
def test_faults_are_retried_the_same_with_either_format(fault, structured):
    with StubLLMServer(default=citing_answer, json_schema=structured) as server:
        server.script(fault)
        result = backend(server, max_retries=1, timeout_s=0.5).enrich(BATCH)
        formats = _formats(server)
    assert len(result.facts) == 1 and set(result.summaries) == {"user_alice", "user_bob"}
    expected = "json_schema" if structured else "json_object"
    assert formats[-2:] == [expected, expected] and formats.count("json_schema") == (len(formats) if structured else 1)


# -- summaries cite their own user's turns, checked like facts ---------------------------------------

def _out(*summaries: dict[str, Any]) -> BatchOut:
    return BatchOut.model_validate({"facts": [], "summaries": list(summaries)})


U2 = {"user": "u2", "summary": "The user talked about a city.", "message_ids": ["m3"]}


@pytest.mark.parametrize(
    ("u1", "error"),
    [
        ({"message_ids": ["m1", "m9"]}, r"summary #0 cites 1 message label\(s\) not in the batch"),
        ({"message_ids": ["m1", "m3"]}, "summary #0 cites messages of another user"),
    ],
    ids=["unknown-label", "other-user"],
)
def test_a_summary_citing_what_its_user_did_not_say_is_invalid(u1, error):
    with pytest.raises(LLMOutputError, match=error) as err:
        interpret(_out({"user": "u1", "summary": "The user talked about work.", **u1}, U2), BATCH)
    for m in BATCH:
        assert m.content not in str(err.value) and m.user_id not in str(err.value)


def test_a_summary_without_citations_cites_nothing_itself():
    _, summaries = interpret(_out({"user": "u1", "summary": "The user talked about work."}, U2), BATCH)
    assert summaries["user_alice"].message_ids == ()  # the pipeline then cites the whole batch
    assert summaries["user_bob"].message_ids == (BATCH[2].message_id,)


def test_an_answer_citing_another_users_turn_is_retried_then_fails(stub):
    stub.default = Reply(json.dumps({"facts": [], "summaries": [
        {"user": "u1", "summary": "The user talked about work.", "topics": [], "message_ids": ["m3"]}, U2]}))
    with pytest.raises(LLMOutputError, match="another user"):
        backend(stub).enrich(BATCH)
