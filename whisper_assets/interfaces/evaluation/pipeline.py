"""Running the product's pipeline on LoCoMo samples: ingest through the hot path, then every
bot-day through the Dagster asset graph, configured by the workspace's Settings."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from whisper_assets.core.settings import Settings
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.interfaces.evaluation.samples import EvalError
from whisper_assets.interfaces.evaluation.workspace import Workspace
from whisper_assets.memory.locomo_format import LocomoSample


@dataclass(frozen=True)
class LLMUsage:
    backend: str
    model: str | None
    bot_days_materialized: int
    calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: float

    def as_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "bot_days_materialized": self.bot_days_materialized,
                "calls": self.calls, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
                "cost_usd": self.cost_usd}


@dataclass
class PipelineRun:
    records: int
    stored: int
    ingest_errors: list[tuple[str, str]]
    runs: int
    partitions: int
    llm: LLMUsage
    timings_s: dict[str, float]
    message_to_dia: dict[str, dict[str, str]]  # sample id -> message id -> dia id


def message_map(sample: LocomoSample, settings: Settings) -> dict[str, str]:
    """message_id -> dia_id for the turns of one sample.

    The id is the one the hot path stores (`validate` derives it from bot, user, role, timestamp
    and content of the message ingest makes of the turn)."""
    from whisper_assets.core.messages import InvalidMessageError
    from whisper_assets.memory.hot_path import validate
    from whisper_assets.memory.ingest import turn_message

    out = {}
    for session in sample.sessions:
        for turn in session.turns:
            try:
                out[validate(turn_message(sample.sample_id, turn), settings).message_id] = turn.dia_id
            except InvalidMessageError:
                continue  # refused by the hot path too: ingest reports it
    return out


def _llm_usage(settings: Settings) -> LLMUsage:
    from whisper_assets.stores.postgres import get_engine
    from whisper_assets.stores.repository.enrichment import usage_totals

    with get_engine(settings).connect() as conn:
        u = usage_totals(conn)
    return LLMUsage(settings.llm_backend, u.models, u.partitions, u.llm_calls, u.tokens_in, u.tokens_out, u.cost_usd)


def run_pipeline(samples: Sequence[LocomoSample], workspace: Workspace, batched: bool = True) -> PipelineRun:
    """Ingest every turn through the hot path, then materialize every bot-day through Dagster
    with the LLM backend of the workspace's settings.

    `batched`: `materialize_days` packs neighbouring days of a bot into one run, as
    `whisper-assets enrich` does (19 LoCoMo sessions -> ~7 runs); otherwise one run per bot-day, as
    the sensor launches them (slower: each run costs ~0.5 s; same rows either way).
    """
    import dagster as dg

    from whisper_assets.defs.runs import materialize_days
    from whisper_assets.memory.ingest import ingest, locomo_messages

    settings = workspace.settings
    timings: dict[str, float] = {}
    t = time.perf_counter()
    parsed = {s.sample_id: list(locomo_messages(s)) for s in samples}
    mapping = {s.sample_id: message_map(s, settings) for s in samples}
    report = ingest([r for p in parsed.values() for r in p], settings)
    timings["ingest"] = time.perf_counter() - t

    days_by_bot: dict[str, list[date]] = {}
    for sid, records in parsed.items():
        days = sorted({r.item.timestamp.date() for r in records if r.item is not None and r.item.timestamp})
        if days:
            days_by_bot[sid] = days
    t = time.perf_counter()
    stores, llm = StoresResource.from_settings(settings), LLMResource.from_settings(settings)
    # An ephemeral instance: the evaluation's runs never land in a DAGSTER_HOME's run history.
    with dg.DagsterInstance.ephemeral() as instance:
        if batched:
            outcomes = materialize_days(days_by_bot, instance=instance, stores=stores, llm=llm)
        else:
            outcomes = [o for bot, days in days_by_bot.items() for day in days
                        for o in materialize_days({bot: [day]}, instance=instance, stores=stores, llm=llm)]
    timings["enrich"] = time.perf_counter() - t
    failed = [o for o in outcomes if not o.success]
    if failed:
        o = failed[0]
        raise EvalError(f"{len(failed)} of {len(outcomes)} enrichment runs failed; first "
                        f"{', '.join(o.bots)} {o.first_day}..{o.last_day}: {o.error}")
    return PipelineRun(report.records, report.stored, report.errors, len(outcomes),
                       sum(len(d) for d in days_by_bot.values()), _llm_usage(settings), timings, mapping)
