"""Fast tests of the stub LLM server, driven by the real ``openai`` client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from whisper_assets_tests.llm_stub import BrokenHTTP, Delay, Error, Malformed, Reply, StubLLMServer

MSGS: list[Any] = [{"role": "system", "content": "extract facts"}, {"role": "user", "content": "[m1] I love tea"}]


@pytest.fixture
def stub() -> Iterator[StubLLMServer]:
    with StubLLMServer() as server:
        yield server


def _client(stub: StubLLMServer, **kw: Any) -> openai.OpenAI:
    kw.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=stub.base_url, api_key="test-key", **kw)


def _ask(client: openai.OpenAI) -> str | None:
    return client.chat.completions.create(model="gpt-test", messages=MSGS).choices[0].message.content


def test_reply_parses_with_usage(stub: StubLLMServer) -> None:
    stub.script(Reply('{"facts": []}', prompt_tokens=7))
    resp = _client(stub).chat.completions.create(model="gpt-test", messages=MSGS)
    assert resp.object == "chat.completion" and resp.model == "gpt-test"
    assert resp.choices[0].message.content == '{"facts": []}'
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (7, 3, 10)
    assert _ask(_client(stub)) == "stub reply"  # queue empty -> default
    assert stub.chat_requests[-1].body["messages"] == MSGS
    assert [m.id for m in _client(stub).models.list()] == ["stub-model"]


def test_default_usage_is_estimated(stub: StubLLMServer) -> None:
    usage = _client(stub).chat.completions.create(model="m", messages=MSGS).usage
    assert usage is not None
    assert usage.prompt_tokens == len("extract facts[m1] I love tea") // 4
    assert usage.completion_tokens == len("stub reply") // 4


def test_429_retry_after_then_success(stub: StubLLMServer) -> None:
    stub.script(Error(429, retry_after=0.05), Reply("ok"))
    assert _ask(_client(stub, max_retries=1)) == "ok"
    assert len(stub.requests) == 2 and stub.pending == 0


def test_429_without_retries_raises_rate_limit(stub: StubLLMServer) -> None:
    stub.script(Error(429, retry_after=1))
    with pytest.raises(openai.RateLimitError) as info:
        _ask(_client(stub))
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.code == "rate_limit_exceeded"


def test_500_raises_internal_server_error(stub: StubLLMServer) -> None:
    stub.script(Error(500))
    with pytest.raises(openai.InternalServerError):
        _ask(_client(stub))
    assert len(stub.requests) == 1


def test_delay_beyond_timeout_raises_timeout(stub: StubLLMServer) -> None:
    stub.script(Delay(3.0, Reply("too late")))
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        _ask(_client(stub, timeout=0.3))
    assert time.monotonic() - start < 2.0


def test_concurrent_delays_run_in_parallel(stub: StubLLMServer) -> None:
    stub.default = Delay(0.5, Reply("slow"))
    client = _client(stub)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _ask(client), range(4)))
    assert answers == ["slow"] * 4
    assert time.monotonic() - start < 1.8
    assert len(stub.requests) == 4


def test_requests_recorded_with_messages_and_auth(stub: StubLLMServer) -> None:
    _ask(_client(stub))
    (req,) = stub.requests
    assert req.method == "POST" and req.path == "/v1/chat/completions"
    assert req.model == "gpt-test" and req.messages == MSGS
    assert req.headers["authorization"] == "Bearer test-key"


def test_responder_malformed_and_broken(stub: StubLLMServer) -> None:
    def cite_ids(body: dict[str, Any]) -> Reply:
        ids = [m["content"][1:3] for m in body["messages"] if m["content"].startswith("[")]
        return Reply(json.dumps({"facts": [{"text": "likes tea", "source_ids": ids}]}))

    stub.script(cite_ids, Malformed("{not json"), BrokenHTTP())
    client = _client(stub)
    assert json.loads(_ask(client) or "")["facts"][0]["source_ids"] == ["m1"]
    assert _ask(client) == "{not json"
    with pytest.raises(json.JSONDecodeError):
        _ask(client)
