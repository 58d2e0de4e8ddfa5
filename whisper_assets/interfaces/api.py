"""HTTP API over `recall`: what a bot (or anything else on the machine) asks before it answers.

    GET  /recall?bot=elena&user=user_alice&query=what+did+we+talk+about+last+week&tz=Europe/Lisbon
    POST /recall   {"bot": "elena", "user": "user_alice", "query": "...", "now": "...", "tz": "...", "limit": 10}
    GET  /facts?bot=elena&user=user_alice[&category=pet][&limit=50]
    GET  /healthz

Responses are pydantic models, so /openapi.json (and /docs) describe them. Errors: an invalid
parameter (bad bot name, empty query, unknown time zone or category, unparseable `now`) -> 422 with
a message naming it; a bot with nothing stored -> 404. A `now` without an offset is read in `tz`.

The embedding model is loaded (and warmed) at startup, not per request. Semantic search uses a
Qdrant server when QDRANT_URL is set; otherwise the API never takes the embedded Qdrant (it is
single-process and held by the enrichment runs) and ranks the summary and message vectors stored in
Postgres (see `recall`). `whisper-assets serve` binds 127.0.0.1 by default.
"""

from __future__ import annotations

import contextlib
import gc
from datetime import datetime
from typing import Annotated, Any, AsyncIterator, Optional

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from whisper_assets.core.llm.schemas import Category
from whisper_assets.core.messages import BOT_NAME_RE, MAX_USER_ID_CHARS, InvalidMessageError
from whisper_assets.memory.retrieval import (
    DEFAULT_LIMIT, MAX_FACTS_SCANNED, MAX_QUERY_CHARS, FactItem, RecallError, RecallResult, UnknownBotError,
    get_facts, recall, warm_up,
)
from whisper_assets.core.settings import Settings, get_settings
from whisper_assets.core.timephrases import get_zone

MAX_LIMIT = 50


class RecallRequest(BaseModel):
    bot: str = Field(pattern=BOT_NAME_RE.pattern, description="bot name (as stored)")
    user: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS)
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="the user's question")
    now: Optional[datetime] = Field(default=None, description="ISO-8601; default: now. No offset: read in tz")
    tz: str = Field(default="UTC", description="the user's IANA time zone, e.g. America/Los_Angeles")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="at most this many facts")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("query is empty")
        return v

    @field_validator("user")
    @classmethod
    def _user_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("user is empty")
        return v

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        get_zone(v)  # ValueError with a clear message
        return v


class RecallResponse(RecallResult):
    context: str = Field(description="the result as a compact plain-text block for a bot prompt")


class FactsResponse(BaseModel):
    bot: str
    user: str
    category: Optional[Category]
    facts: list[FactItem]


class Health(BaseModel):
    status: str
    database: str
    embedder: str
    semantic_search: str = Field(description="qdrant (server) or postgres (summary_embeddings, pending_messages)")


class ErrorBody(BaseModel):
    detail: Any


def create_app(settings: Settings | None = None, *, store: Any = None, load_model: bool = True) -> FastAPI:
    """The FastAPI app. `store`: a MessageStore to search summaries in (default: a Qdrant server
    when QDRANT_URL is set, else none: Postgres vectors). `load_model=False` turns semantic
    search off (facts and time ranges only)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from whisper_assets.stores.postgres import get_engine

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

    def run_recall(request: Request, body: RecallRequest) -> RecallResponse:
        now = body.now
        if now is not None and (now.tzinfo is None or now.utcoffset() is None):
            now = now.replace(tzinfo=get_zone(body.tz))
        state = request.app.state
        try:
            result = recall(
                body.bot, body.user, body.query, now=now, limit=body.limit, tz=body.tz,
                engine=state.engine, store=state.store, embedder=state.embedder,
                semantic=state.embedder is not None,
            )
        except UnknownBotError as exc:
            raise HTTPException(404, str(exc)) from None
        except (RecallError, InvalidMessageError) as exc:
            raise HTTPException(422, str(exc)) from None
        return RecallResponse(**dict(result), context=result.as_context())

    @app.get("/recall", response_model=RecallResponse, responses=errors)
    def recall_get(
        request: Request,
        bot: Annotated[str, Query(description="bot name")],
        user: Annotated[str, Query(description="user id")],
        query: Annotated[str, Query(description="the user's question")],
        now: Annotated[Optional[datetime], Query(description="ISO-8601; default now")] = None,
        tz: Annotated[str, Query(description="IANA time zone")] = "UTC",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> RecallResponse:
        """Facts, summaries of the time the query names, summaries and past messages close in meaning."""
        try:
            body = RecallRequest(bot=bot, user=user, query=query, now=now, tz=tz, limit=limit)
        except ValueError as exc:
            raise _validation_error(exc) from None
        return run_recall(request, body)

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
    ) -> FactsResponse:
        """A user's facts, most confident first, with provenance."""
        try:
            items = get_facts(bot, user, category.value if category else None, limit, engine=request.app.state.engine)
        except UnknownBotError as exc:
            raise HTTPException(404, str(exc)) from None
        except (RecallError, InvalidMessageError) as exc:
            raise HTTPException(422, str(exc)) from None
        return FactsResponse(bot=bot, user=user, category=category, facts=items)

    @app.get("/healthz", response_model=Health, responses={503: {"model": ErrorBody}})
    def healthz(request: Request) -> Any:
        state = request.app.state
        try:
            with state.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            return JSONResponse(status_code=503, content={"detail": f"database unavailable: {type(exc).__name__}"})
        return Health(
            status="ok", database="ok", embedder="loaded" if state.embedder is not None else "off",
            semantic_search="qdrant" if state.store is not None else "postgres",
        )

    return app


def _validation_error(exc: ValueError) -> HTTPException:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        detail = [
            {"loc": ["query", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        return HTTPException(422, detail)
    return HTTPException(422, str(exc))
