"""HTTP API over `recall`: what a bot (or anything else on the machine) asks before it answers.

    GET  /recall?bot=elena&user=user_alice&query=what+did+we+talk+about+last+week&tz=Europe/Lisbon
    POST /recall   {"bot": "elena", "user": "user_alice", "query": "...", "now": "...", "tz": "...", "limit": 10}
    GET  /facts?bot=elena&user=user_alice[&category=pet][&limit=50][&history=true]
    GET  /healthz

GET's query parameters and POST's body are one model, `RecallRequest`: bot, user, query and the
fields of `RecallOptions` (now, tz, limit, the other limits and scores: their defaults and
validation are recall's own), with at most MAX_LIMIT facts.

Responses are pydantic models, so /openapi.json (and /docs) describe them. Errors: an invalid
parameter (bad bot name, empty query, unknown time zone or category, unparseable `now` or one
outside years 2-9998, text that is not valid Unicode such as a lone surrogate) -> 422 with a
message naming it, `{"detail": [{"loc", "msg", "type"}]}` (the input itself is never echoed); a
bot with nothing stored -> 404; anything unexpected -> 500 `{"detail": "internal error (<type>)"}`
with one log line naming the exception type, never the request's text. The access log shows paths
without their query strings. A `now` without an offset is read in `tz`.

The embedding model is loaded (and warmed) at startup, not per request. Semantic search uses a
Qdrant server when QDRANT_URL is set; otherwise the API never takes the embedded Qdrant (it is
single-process and held by the enrichment runs) and ranks the summary and message vectors stored in
Postgres (see `recall`). `whisper-assets serve` binds 127.0.0.1 by default.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from datetime import datetime
from typing import Annotated, Any, AsyncIterator, Optional

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from whisper_assets.core.llm.schemas import Category
from whisper_assets.core.messages import BOT_NAME_RE, MAX_USER_ID_CHARS, InvalidMessageError, check_text
from whisper_assets.core.settings import Settings, get_settings
from whisper_assets.core.timephrases import get_zone
from whisper_assets.memory.retrieval import (
    DEFAULT_LIMIT, MAX_FACTS_SCANNED, MAX_LIMIT, MAX_QUERY_CHARS, FactItem, RecallError, RecallOptions,
    RecallResult, UnknownBotError, get_facts, recall, warm_up,
)
from whisper_assets.stores.repository import memories

log = logging.getLogger(__name__)


def _unicode(v: str, what: str) -> str:
    try:
        return check_text(v, what)
    except InvalidMessageError as exc:
        raise ValueError(str(exc)) from None


class RecallRequest(RecallOptions):
    """Who asks what, and the RecallOptions (their limits and validation); at most MAX_LIMIT facts."""

    model_config = ConfigDict(extra="ignore")  # unknown parameters are ignored, as before

    bot: str = Field(pattern=BOT_NAME_RE.pattern, description="bot name (as stored)")
    user: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS)
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="the user's question")
    now: Optional[datetime] = Field(default=None, description="ISO-8601; default: now. No offset: read in tz")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="at most this many facts")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("query is empty")
        return _unicode(v, "query")

    @field_validator("user")
    @classmethod
    def _user_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("user is empty")
        return _unicode(v, "user")

    @field_validator("bot", "tz", mode="before")
    @classmethod
    def _valid_text(cls, v: Any, info: Any) -> Any:
        return _unicode(v, info.field_name) if isinstance(v, str) else v

    def options(self, semantic: bool) -> RecallOptions:
        """The RecallOptions of this request (`now` without an offset read in `tz`); no semantic
        search without the model."""
        now = self.now
        if now is not None and (now.tzinfo is None or now.utcoffset() is None):
            now = now.replace(tzinfo=get_zone(self.tz))
        fields = {name: getattr(self, name) for name in RecallOptions.model_fields}
        return RecallOptions(**{**fields, "now": now, "semantic": self.semantic and semantic})


class RecallResponse(RecallResult):
    context: str = Field(description="the result as a compact plain-text block for a bot prompt")


class FactsResponse(BaseModel):
    bot: str
    user: str
    category: Optional[Category]
    history: bool = Field(default=False, description="every period of every fact, ended ones too")
    facts: list[FactItem]


class Health(BaseModel):
    status: str
    database: str
    embedder: str
    semantic_search: str = Field(description="qdrant (server) or postgres (summary_embeddings, pending_messages)")


class ErrorBody(BaseModel):
    detail: Any


def _printable(text: str, limit: int = 300) -> str:
    """`text` safe to encode as UTF-8 (lone surrogates escaped) and at most `limit` characters."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_errors(errors: Any) -> list[dict[str, Any]]:
    """pydantic/FastAPI errors without the `input` (and `ctx`) they carry: the caller's text is
    never echoed back, and a lone surrogate in it cannot break the JSON response."""
    return [{"loc": [_printable(str(p), 60) for p in e.get("loc", ())],
             "msg": "not valid Unicode text (a lone surrogate?)" if e.get("type") == "string_unicode"
             else _printable(str(e.get("msg", "")).removeprefix("Value error, ")),
             "type": str(e.get("type", ""))} for e in errors]


class QueryStringFilter(logging.Filter):
    """uvicorn's access log without query strings (they hold users' questions and ids)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?...", *args[3:])
        return True


def hide_query_strings() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryStringFilter) for f in access.filters):
        access.addFilter(QueryStringFilter())


def create_app(settings: Settings | None = None, *, store: Any = None, load_model: bool = True) -> FastAPI:
    """The FastAPI app. `store`: a MessageStore to search summaries in (default: a Qdrant server
    when QDRANT_URL is set, else none: Postgres vectors). `load_model=False` turns semantic
    search off (facts and time ranges only)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from whisper_assets.stores.postgres import get_engine

        hide_query_strings()
        s = settings or get_settings()
        app.state.settings = s
        app.state.engine = get_engine(s)
        app.state.embedder = None
        if load_model:
            from whisper_assets.core.embedding import get_embedder

            app.state.embedder = get_embedder(s.torch_threads)
        warm_up(app.state.embedder)
        # Everything loaded so far (the model, dateparser's data) lives as long as the server: out
        # of the collector's reach, a full collection no longer walks ~500k objects (~270 ms
        # pauses measured in the middle of recalls, ~1 ms after the freeze).
        gc.freeze()
        with contextlib.ExitStack() as stack:
            app.state.store = store
            if store is None and s.qdrant_url:
                from whisper_assets.stores.qdrant import open_store

                app.state.store = stack.enter_context(open_store(s))
            yield

    app = FastAPI(
        title="whisper_assets memory",
        version="0.1.0",
        summary="What a chat bot remembers about a user: facts, summaries by time and by meaning, past messages.",
        lifespan=lifespan,
    )
    errors = {404: {"model": ErrorBody, "description": "unknown bot"}}

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": validation_errors(exc.errors())})

    @app.middleware("http")
    async def no_tracebacks(request: Request, call_next: Any) -> Any:
        try:
            return await call_next(request)
        except Exception as exc:  # one short line: a traceback would carry the request's text
            log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
            return JSONResponse(status_code=500, content={"detail": f"internal error ({type(exc).__name__})"})

    def run_recall(request: Request, body: RecallRequest) -> RecallResponse:
        state = request.app.state
        try:
            options = body.options(semantic=state.embedder is not None)
        except ValidationError as exc:  # a `now` without an offset that is out of range in `tz`
            raise HTTPException(422, validation_errors(exc.errors())) from None
        try:
            result = recall(
                body.bot, body.user, body.query, options,
                engine=state.engine, store=state.store, embedder=state.embedder,
            )
        except UnknownBotError as exc:
            raise HTTPException(404, str(exc)) from None
        except (RecallError, InvalidMessageError, ValueError) as exc:
            raise HTTPException(422, _printable(str(exc))) from None
        return RecallResponse(**dict(result), context=result.as_context())

    @app.get("/recall", response_model=RecallResponse, responses=errors)
    def recall_get(request: Request, params: Annotated[RecallRequest, Query()]) -> RecallResponse:
        """Facts, summaries of the time the query names, summaries and past messages close in meaning."""
        return run_recall(request, params)

    @app.post("/recall", response_model=RecallResponse, responses=errors)
    def recall_post(request: Request, body: RecallRequest) -> RecallResponse:
        """Same as GET /recall, with a JSON body."""
        return run_recall(request, body)

    @app.get("/facts", response_model=FactsResponse, responses=errors)
    def facts(
        request: Request,
        bot: Annotated[str, Query(pattern=BOT_NAME_RE.pattern)],
        user: Annotated[str, Query(min_length=1, max_length=MAX_USER_ID_CHARS)],
        category: Optional[Category] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_FACTS_SCANNED)] = 200,
        history: bool = False,
    ) -> FactsResponse:
        """A user's facts that hold now, most confident first, with provenance; with history=true,
        every period of every fact (moved away, old jobs, ended ones) with valid_from/valid_to."""
        try:
            check_text(user, "user")
        except InvalidMessageError as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            items = get_facts(bot, user, category.value if category else None, limit, engine=request.app.state.engine,
                              history=history)
        except UnknownBotError as exc:
            raise HTTPException(404, str(exc)) from None
        except (RecallError, InvalidMessageError) as exc:
            raise HTTPException(422, _printable(str(exc))) from None
        return FactsResponse(bot=bot, user=user, category=category, history=history, facts=items)

    @app.get("/healthz", response_model=Health, responses={503: {"model": ErrorBody}})
    def healthz(request: Request) -> Any:
        state = request.app.state
        try:
            with state.engine.connect() as conn:
                memories.ping(conn)
        except sa.exc.SQLAlchemyError as exc:
            return JSONResponse(status_code=503, content={"detail": f"database unavailable: {type(exc).__name__}"})
        return Health(
            status="ok", database="ok", embedder="loaded" if state.embedder is not None else "off",
            semantic_search="qdrant" if state.store is not None else "postgres",
        )

    return app

