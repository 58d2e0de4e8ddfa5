"""A tiny OpenAI-compatible HTTP server for exercising the real ``openai`` client in tests.

Usage::

    with StubLLMServer() as stub:
        stub.script(Error(429, retry_after=0.1), Reply('{"facts": []}'))
        client = openai.OpenAI(base_url=stub.base_url, api_key="test-key")
        client.chat.completions.create(model="m", messages=[...])
        assert len(stub.requests) == 2

Standard library only; binds 127.0.0.1 on an ephemeral port; one daemon thread per request.

``response_format`` is checked like an endpoint would: a ``json_schema`` without a name or a schema
object is a 400, and ``StubLLMServer(json_schema=False)`` plays an endpoint that does not support
structured output at all (400 naming ``response_format``, as vLLM and several proxies answer),
without consuming a scripted step.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union

@dataclass(frozen=True)
class Reply:
    """200 with ``content`` as the assistant message. Token counts default to rough estimates."""

    content: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Malformed:
    """200 whose message content is ``text`` (e.g. invalid JSON) -- for testing our own validation."""

    text: str


@dataclass(frozen=True)
class Error:
    """Non-2xx answer in OpenAI error shape; ``retry_after`` sets the ``Retry-After`` header (seconds)."""

    status: int
    body: dict[str, Any] | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class BrokenHTTP:
    """200 with a body that is not JSON at all (the client raises ``json.JSONDecodeError``)."""

    body: str = "<html>upstream proxy hiccup</html>"
    content_type: str = "application/json"


@dataclass(frozen=True)
class Delay:
    """Sleep ``seconds`` then answer with ``then`` (``None`` = the server's default)."""

    seconds: float
    then: Step | None = None


Step = Union[Reply, Malformed, Error, BrokenHTTP, Delay]
Responder = Callable[[dict[str, Any]], "Step | Responder"]
"""Computes a step from the parsed JSON request body (may itself return another responder)."""

DEFAULT_REPLY = Reply("stub reply")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def model(self) -> str | None:
        return self.body.get("model")


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _prompt_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for msg in body.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "".join(parts)


def _error_body(status: int) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
            429: "rate_limit_exceeded"}.get(status, "server_error" if status >= 500 else "api_error")
    return {"error": {"message": f"stub error {status}", "type": kind, "code": kind}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait on handlers still sleeping in a Delay
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: clients hang up on timeouts
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    stub: StubLLMServer  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _send(self, status: int, payload: bytes, content_type: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, obj: Any, extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), extra=extra)

    def do_GET(self) -> None:
        self.stub._record(RecordedRequest("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": self.stub.model, "object": "model", "created": 0, "owned_by": "stub"}
            self._json(200, {"object": "list", "data": [model]})
        else:
            self._json(404, _error_body(404))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.stub._record(RecordedRequest("POST", self.path, headers, body if isinstance(body, dict) else {}))
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._json(404, _error_body(404))
        if (refusal := self.stub._format_refusal(body)) is not None:
            return self._json(400, {"error": {"message": refusal, "type": "invalid_request_error",
                                              "param": "response_format", "code": None}})
        try:
            self._answer(self.stub._next_step(), body)
        except Exception as exc:  # a broken responder: surface it as a 500 and keep it for the test
            self.stub.errors.append(exc)
            self._json(500, {"error": {"message": repr(exc), "type": "stub_error", "code": "stub_error"}})

    def _answer(self, step: Step | Responder, body: dict[str, Any]) -> None:
        while callable(step):
            step = step(body)
        if isinstance(step, Delay):
            if self.stub._closing.wait(step.seconds):
                return  # server shutting down: drop the connection
            return self._answer(step.then if step.then is not None else self.stub.default, body)
        if isinstance(step, Error):
            extra = {} if step.retry_after is None else {"Retry-After": f"{step.retry_after:g}"}
            return self._json(step.status, step.body if step.body is not None else _error_body(step.status), extra)
        if isinstance(step, BrokenHTTP):
            return self._send(200, step.body.encode(), step.content_type)
        if isinstance(step, Malformed):
            step = Reply(step.text)
        if not isinstance(step, Reply):
            raise TypeError(f"not a stub step: {step!r}")
        prompt = step.prompt_tokens if step.prompt_tokens is not None else _approx_tokens(_prompt_text(body))
        completion = (step.completion_tokens if step.completion_tokens is not None
                      else _approx_tokens(step.content))
        self._json(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.stub.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": step.content},
                "finish_reason": step.finish_reason,
            }],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        })


class StubLLMServer:
    """OpenAI-compatible stub; scripted steps are consumed one per chat request, then ``default``."""

    def __init__(self, default: Step | Responder = DEFAULT_REPLY, model: str = "stub-model",
                 json_schema: bool = True) -> None:
        self.default: Step | Responder = default
        self.model = model
        self.json_schema = json_schema  # False: refuse response_format json_schema (400)
        self.errors: list[Exception] = []  # exceptions raised by responders (answered as 500)
        self._lock = threading.Lock()
        self._queue: deque[Step | Responder] = deque()
        self._requests: list[RecordedRequest] = []
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> StubLLMServer:
        handler = type("_BoundHandler", (_Handler,), {"stub": self})
        self._closing.clear()
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="stub-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._closing.set()  # wake handlers sleeping in a Delay
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> StubLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting & recording -------------------------------------------------
    def script(self, *steps: Step | Responder) -> StubLLMServer:
        """Queue steps (or responders) consumed one per chat request, in order."""
        with self._lock:
            self._queue.extend(steps)
        return self

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received (all paths), in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
        self.errors.clear()

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)

    def _format_refusal(self, body: dict[str, Any]) -> str | None:
        """Why the request's response_format is refused (the 400's message), or None."""
        fmt = body.get("response_format")
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            return None
        if not self.json_schema:
            return "response_format of type json_schema is not supported by this model"
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not spec.get("name") or not isinstance(spec.get("schema"), dict):
            return "response_format.json_schema needs a name and a schema object"
        return None

    def _next_step(self) -> Step | Responder:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default
