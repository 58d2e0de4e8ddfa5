"""Any OpenAI-compatible endpoint (OpenAI, OpenRouter, vLLM, Ollama) through the official client.

Transport faults (429 with Retry-After, 5xx, timeouts, dropped connections) are retried by the
openai client itself with exponential backoff; invalid answers (bad JSON, schema or invariant
breaches) are retried here with tenacity, then the batch fails with LLMOutputError.

Errors raised from here end up in `enrichment_metadata.error` and in Dagster's event and compute
logs, which a forget does not rewrite: they name the message ids and field paths involved, never
text the model or the endpoint sent back (it may quote a message) nor a user id. A transport fault
the client gave up on is raised as `LLMEndpointError`, which keeps the status code and the error's
code but not the endpoint's message, and suppresses the openai exception it replaces.

The answer is asked for as structured output: `response_format` json_schema with the strict
schema of BatchOut (schemas.json_schema_format). An endpoint that rejects it (a 400 naming
`response_format` or `json_schema`: older vLLM, some proxies) is asked again with `json_object`,
and so is every later call of that backend instance; one log line says so.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any, Sequence

import openai
from pydantic import ValidationError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from whisper_assets.core.llm.backend import (
    BatchMessage, BatchResult, LLMOutputError, RateLimiter, Usage, check_batch, interpret, labels,
)
from whisper_assets.core.llm.prompts import PROMPT_VERSION, SYSTEM_PROMPT, user_prompt
from whisper_assets.core.llm.schemas import BatchOut, json_schema_format
from whisper_assets.core.settings import Settings

INVALID_OUTPUT_ATTEMPTS = 3
JSON_OBJECT = {"type": "json_object"}
log = logging.getLogger(__name__)


class LLMNotConfiguredError(ValueError):
    """The openai backend was chosen without an endpoint or key."""


class LLMEndpointError(RuntimeError):
    """The endpoint failed after the client's retries (status, timeout, connection). The text names
    the openai error class, the HTTP status and the error's short code, never the endpoint's message."""

    def __init__(self, message: str, status_code: int | None = None, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.usage = usage


_IDENTIFIER = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _endpoint_error(exc: openai.APIError, spent: Usage) -> LLMEndpointError:
    status = getattr(exc, "status_code", None)
    parts = [type(exc).__name__] + ([f"HTTP {status}"] if status is not None else [])
    code = exc.code if isinstance(exc.code, str) and _IDENTIFIER.fullmatch(exc.code) else None
    if code:
        parts.append(f"code {code}")
    return LLMEndpointError(f"LLM endpoint failed: {', '.join(parts)} (its message is not kept)", status, spent)


def _rejects_json_schema(exc: openai.BadRequestError) -> bool:
    """A 400 about the response format itself (read here, never logged: it may quote the prompt)."""
    if exc.param in ("response_format", "response_format.type", "response_format.json_schema"):
        return True
    text = str(getattr(exc, "message", "") or "").lower()
    return "response_format" in text or "json_schema" in text


def _schema_path(loc: Sequence[Any]) -> str:
    """A validation error's location with list positions and our field names only."""
    return ".".join(str(p) if isinstance(p, int) or _IDENTIFIER.fullmatch(str(p)) and str(p).islower() else "?"
                    for p in loc)


def openai_client(settings: Settings) -> openai.OpenAI:
    """The official client for the configured endpoint; its own retries cover 429/5xx/timeouts."""
    if settings.openai_api_key is None and settings.openai_base_url is None:
        raise LLMNotConfiguredError(
            "WHISPER_LLM_BACKEND=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)"
        )
    return openai.OpenAI(
        base_url=settings.openai_base_url,
        # Local OpenAI-compatible servers (vLLM, Ollama) accept any key.
        api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else "unused",
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
    )


class OpenAIBackend:
    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        price_per_mtok: tuple[float, float] | None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.prompt_version = PROMPT_VERSION
        self.price_known = price_per_mtok is not None
        self.price_in, self.price_out = price_per_mtok or (0.0, 0.0)
        self.limiter = limiter
        # Structured output until the endpoint rejects it; then json_object for this instance.
        self.response_format: dict[str, Any] = json_schema_format()
        self._format_lock = threading.Lock()

    def _create(self, messages: list[dict[str, str]]) -> Any:
        """One chat completion; a json_schema the endpoint rejects falls back to json_object."""
        fmt = self.response_format
        try:
            return self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=0,  # type: ignore[arg-type]
                response_format=fmt,  # type: ignore[arg-type]
            )
        except openai.BadRequestError as exc:
            if fmt is JSON_OBJECT or not _rejects_json_schema(exc):
                raise
            with self._format_lock:  # concurrent batches: one switch, one log line
                if self.response_format is not JSON_OBJECT:
                    self.response_format = JSON_OBJECT
                    log.warning("the LLM endpoint rejected response_format json_schema for model %s (HTTP %s);"
                                " this backend now asks for json_object", self.model, exc.status_code)
            if self.limiter:
                self.limiter.acquire()
            return self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=0,  # type: ignore[arg-type]
                response_format=JSON_OBJECT,  # type: ignore[arg-type]
            )

    def enrich(self, batch: Sequence[BatchMessage]) -> BatchResult:
        check_batch(batch)
        by_label, users = labels(batch)
        user_of = {user: label for label, user in users.items()}
        grouped: dict[str, list[tuple[str, str, str]]] = {label: [] for label in users}
        for label, m in by_label.items():
            grouped[user_of[m.user_id]].append((label, m.ts.strftime("%H:%M"), m.content))
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user_prompt(grouped)},
        ]
        spent = Usage()

        @retry(
            retry=retry_if_exception_type(LLMOutputError),
            stop=stop_after_attempt(INVALID_OUTPUT_ATTEMPTS),
            wait=wait_exponential(multiplier=0.2, max=2),
            reraise=True,
        )
        def attempt() -> BatchResult:
            nonlocal spent
            if self.limiter:
                self.limiter.acquire()
            try:
                response = self._create(messages)
            except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
                # A 200 whose body is not a chat completion (e.g. a proxy's error page).
                raise LLMOutputError(
                    f"endpoint answered with an unreadable response ({type(exc).__name__})") from None
            usage = response.usage
            tokens_in = usage.prompt_tokens if usage else 0
            tokens_out = usage.completion_tokens if usage else 0
            spent = spent + Usage(
                1, tokens_in, tokens_out,
                (tokens_in * self.price_in + tokens_out * self.price_out) / 1_000_000,
            )
            content = response.choices[0].message.content if response.choices else None
            try:
                out = BatchOut.model_validate(json.loads(content or ""))
            except json.JSONDecodeError as exc:
                raise LLMOutputError(f"model answer is not JSON: {exc.msg}") from None
            except ValidationError as exc:
                first = exc.errors(include_input=False, include_url=False)[0]
                raise LLMOutputError(
                    f"model answer fails the schema at {_schema_path(first['loc'])}: {first['msg']}") from None
            facts, summaries = interpret(out, batch)
            return BatchResult(facts, summaries, spent)

        try:
            return attempt()
        except LLMOutputError as exc:
            raise LLMOutputError(f"{exc} (after {INVALID_OUTPUT_ATTEMPTS} attempts)", usage=spent) from None
        except openai.APIError as exc:
            raise _endpoint_error(exc, spent) from None
