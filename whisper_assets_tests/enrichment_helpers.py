"""Shared helpers for the enrichment integration tests: store messages through the real hot path,
run bot-days through Dagster against the stub LLM, and read back Postgres rows and Qdrant points.

The stub's default responder (`echo_responder`) behaves like a well-mannered model: for every
user label in the prompt it writes one summary made from that user's texts, and for every
message whose text matches `fact_rule` it states one fact citing that message only.
It is deterministic, so two runs over the same messages give identical rows.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import dagster as dg
import sqlalchemy as sa

from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.memory.hot_path import MessageIn, store_messages
from whisper_assets.core.llm.schemas import MAX_MESSAGES_PER_CALL
from whisper_assets.defs.runs import RunOutcome, materialize_days
from whisper_assets.core.settings import Settings, load_settings
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.qdrant import open_store
from whisper_assets_tests.llm_stub import Reply, StubLLMServer

UTC = timezone.utc
BOT = "elena"
DAY = date(2025, 11, 9)
PROMPT_HEAD = "Messages (JSON):\n"

# Columns that legitimately differ between two runs over the same messages.
VOLATILE = {"id", "run_id", "created_at", "updated_at", "extracted_at", "staged_at"}
RESULT_TABLES = ("fact_observations", "user_facts", "conversation_summaries", "summary_embeddings")


# User turns the offline rules each turn into one fact (metadata and UI tests count them).
FACT_TEXTS = [
    "I work as a nurse at St. Mary's hospital",
    "I have a dog named Biscuit",
    "I live in Lisbon near the river",
    "My sister is called Joana",
    "I play the cello every Sunday",
    "I am allergic to peanuts",
]

def at(minute: int, day: date = DAY, hour: int = 9) -> datetime:
    """A UTC timestamp on `day`, `minute` minutes after `hour`:00."""
    return datetime.combine(day, time(hour), tzinfo=UTC) + timedelta(minutes=minute)


def say(user: str, content: str, minute: int, role: str = "user", day: date = DAY, bot: str = BOT) -> MessageIn:
    return MessageIn(bot, user, role, content, at(minute, day))


def store(settings: Settings, items: Sequence[MessageIn]) -> list[str]:
    """The bot-side write, exactly as a bot does it."""
    return store_messages(items, settings)


@contextlib.contextmanager
def fast_settings(tmp_path: Path, database_url: str | None = None) -> Iterator[Settings]:
    """Settings with the embedded Qdrant on tmpfs when there is one.

    Same engine, same code; only the disk differs: qdrant-edge flushes on every close, and a run
    opens the store three times, which costs ~0.5 s per open on a real disk and ~0.03 s on tmpfs.
    """
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    root = Path(tempfile.mkdtemp(prefix="whisper-test-", dir=base))
    try:
        yield load_settings(data_dir=root / "whisper", database_url=database_url)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class OutputBackoff:
    """Stands in for `time` inside tenacity's sleep: records the backend's waits between invalid
    answers instead of sleeping them (tenacity documents `tenacity.nap.sleep` as the hook)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def skip_output_backoff(monkeypatch: Any) -> OutputBackoff:
    import tenacity.nap

    fake = OutputBackoff()
    monkeypatch.setattr(tenacity.nap, "time", fake)
    return fake


# -- the stub's view of things -------------------------------------------------------------------

def batch_of(body: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The labelled messages a chat request carried: {user label: [{id, time, text}]}."""
    content = body["messages"][-1]["content"]
    assert content.startswith(PROMPT_HEAD), content[:80]
    return json.loads(content[len(PROMPT_HEAD):])


def sent_batches(stub: StubLLMServer) -> list[dict[str, list[dict[str, str]]]]:
    return [batch_of(r.body) for r in stub.chat_requests]


def sent_texts(stub: StubLLMServer) -> list[str]:
    return [m["text"] for b in sent_batches(stub) for msgs in b.values() for m in msgs]


def raw_bodies(stub: StubLLMServer) -> list[str]:
    return [json.dumps(r.body) for r in stub.chat_requests]


def default_fact_rule(text: str) -> tuple[str, str] | None:
    """'I work as a nurse ...' -> ('occupation', 'work as a nurse ...'): a fact per 'I ...' statement."""
    if text.startswith("I "):
        category = "occupation" if " work" in text else "other"
        return category, text[2:].rstrip(".!")[:200]
    return None


def summary_text(messages: Sequence[dict[str, str]]) -> str:
    return ("The user said: " + " / ".join(m["text"] for m in messages))[:1900]


def answer(
    body: dict[str, Any],
    fact_rule: Callable[[str], tuple[str, str] | None] = default_fact_rule,
    extra_facts: Iterable[dict[str, Any]] = (),
) -> str:
    batch = batch_of(body)
    facts: list[dict[str, Any]] = []
    summaries = []
    for label, messages in batch.items():
        summaries.append({"user": label, "summary": summary_text(messages), "topics": ["chat", label]})
        for m in messages:
            if rule := fact_rule(m["text"]):
                facts.append({"message_ids": [m["id"]], "category": rule[0], "fact": rule[1], "confidence": 0.9})
    return json.dumps({"facts": facts + list(extra_facts), "summaries": summaries})


def echo_responder(
    fact_rule: Callable[[str], tuple[str, str] | None] = default_fact_rule,
    extra_facts: Callable[[dict[str, Any]], Iterable[dict[str, Any]]] | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
) -> Callable[[dict[str, Any]], Reply]:
    def respond(body: dict[str, Any]) -> Reply:
        extra = extra_facts(body) if extra_facts else ()
        return Reply(answer(body, fact_rule, extra), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    return respond


# -- running ---------------------------------------------------------------------------------------

def resources_for(settings: Settings, stub: StubLLMServer, **llm: Any) -> tuple[StoresResource, LLMResource]:
    llm.setdefault("max_retries", 0)
    llm.setdefault("timeout_s", 5.0)
    llm.setdefault("model", "stub-model")
    stores = StoresResource(data_dir=str(settings.data_dir), database_url=settings.database_url)
    return stores, LLMResource(backend="openai", base_url=stub.base_url, **llm)


def enrich(
    settings: Settings,
    stub: StubLLMServer,
    days: Iterable[date] = (DAY,),
    bot: str = BOT,
    instance: dg.DagsterInstance | None = None,
    **llm: Any,
) -> RunOutcome:
    """Materialize the bot-days (one run) through Dagster, in process, against the stub."""
    stores, resource = resources_for(settings, stub, **llm)
    outcomes = materialize_days(
        {bot: list(days)}, instance=instance or dg.DagsterInstance.ephemeral(), stores=stores, llm=resource,
        log_level="CRITICAL",
    )
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


# -- reading back ----------------------------------------------------------------------------------

def query(settings: Settings, sql: str, **params: Any) -> list[tuple]:
    with get_engine(settings).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params).all()]


def columns(settings: Settings, table: str) -> list[str]:
    rows = query(
        settings,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = :t ORDER BY ordinal_position",
        t=table,
    )
    return [r[0] for r in rows if r[0] not in VOLATILE]


def _canon(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_canon(x) for x in v)
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def table_rows(settings: Settings, table: str) -> list[tuple]:
    """Every row of `table`, all columns except the volatile ones, in a stable order."""
    cols = columns(settings, table)
    rows = query(settings, f"SELECT {', '.join(cols)} FROM {table}")
    return sorted((tuple(_canon(v) for v in r) for r in rows), key=repr)


def snapshot(settings: Settings, tables: Sequence[str] = RESULT_TABLES) -> dict[str, list[tuple]]:
    return {t: table_rows(settings, t) for t in tables}


def count(settings: Settings, table: str) -> int:
    return query(settings, f"SELECT count(*) FROM {table}")[0][0]


def runs(settings: Settings) -> list[dict[str, Any]]:
    with get_engine(settings).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM enrichment_metadata ORDER BY id"))]


def message_points(settings: Settings) -> dict[str, dict[str, Any]]:
    with open_store(settings) as s:
        return {r.id: r.payload for r in s.engine.scroll(s.messages, {})}


def summary_points(settings: Settings) -> dict[str, dict[str, Any]]:
    with open_store(settings) as s:
        return {r.id: r.payload for r in s.engine.scroll(s.summaries, {})}


def statuses(settings: Settings) -> dict[str, str]:
    return {mid: p["enrichment_status"] for mid, p in message_points(settings).items()}


def day_status(settings: Settings, bot: str = BOT) -> dict[str, tuple[int, int]]:
    """{day: (pending, completed)} from the store's own status_by_day."""
    with open_store(settings) as s:
        return {d.day: (d.pending, d.completed) for d in s.status_by_day(bot)}


def batches_needed(n: int, limit: int = MAX_MESSAGES_PER_CALL) -> int:
    return math.ceil(n / limit)

