"""The enrichment asset graph, per bot x day. Thin wiring: the work is in core/enrichment, the
statements in stores/repository/enrichment.py, the checks in defs/checks.py.

pending_messages ─▶ extracted_facts ─▶ user_facts ─────────────┐
        │              (one LLM pass: enrich_messages)          ├─▶ completed_messages
        └────────────▶ windowed_summaries ─▶ summary_embeddings ┘
"""

import time
import warnings
from typing import Any, Callable, Iterator, Sequence

import dagster as dg

from whisper_assets.core.run_plan import MAX_DAYS_PER_RUN
from whisper_assets.core.embedding import EMBEDDING_MODEL
from whisper_assets.core.enrichment.models import StagedMessage, Summary, SummaryEmbedding
from whisper_assets.core.enrichment.pipeline import embed_summaries, enrich_partitions
from whisper_assets.core.llm.backend import Usage
from whisper_assets.defs.checks import ENRICHMENT_CHECK_SPECS, enrichment_check_results
from whisper_assets.defs.io_manager import run_started_at
from whisper_assets.defs.partitions import bot_day_partitions, partition_ids
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.stores import partition_io
from whisper_assets.stores.repository import enrichment as repo

warnings.filterwarnings("ignore", category=dg.BetaWarning)  # BackfillPolicy is beta in 1.13

# Runs cover many partitions (launching a run costs seconds); a month of one bot is one run.
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN)
GROUP = "enrichment"
PREVIEW_ROWS = 8


def _preview(rows: Sequence[Any], key: Callable[[Any], str], **columns: Callable[[list[Any]], Any]) -> dg.MetadataValue:
    """A per-partition table of counts. Only aggregates: run metadata outlives a forgotten
    user (Dagster's event log), so no user ids or texts go into it."""
    groups: dict[str, list[Any]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    lines = ["| partition | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name in sorted(groups)[:PREVIEW_ROWS]:
        lines.append(f"| {name} | " + " | ".join(str(fn(groups[name])) for fn in columns.values()) + " |")
    if len(groups) > PREVIEW_ROWS:
        lines.append(f"| … {len(groups) - PREVIEW_ROWS} more | " + " | ".join("" for _ in columns) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _pid(row: Any) -> str:
    return f"{row.bot_name}|{row.day}"


@dg.asset(
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    io_manager_key="postgres_io",
    group_name=GROUP,
    kinds={"qdrant", "postgres"},
)
def pending_messages(context: dg.AssetExecutionContext, stores: StoresResource) -> list[StagedMessage]:
    """Every message of the bot-day, read from Qdrant with its vector and staged in Postgres."""
    pids = partition_ids(context.partition_keys)
    # First the bots' exclusive locks: a second run of these bots waits here, before it reads.
    stores.run_transaction(context.run_id, (b for b, _ in pids))
    with stores.open_store() as store:
        rows = partition_io.read_partitions(store, pids)
    context.add_output_metadata({
        "messages": len(rows),
        "user_turns": sum(r.role == "user" for r in rows),
        "users": len({(r.bot_name, r.user_id) for r in rows}),
        "preview": _preview(rows, _pid, messages=len, user_turns=lambda g: sum(r.role == "user" for r in g),
                            users=lambda g: len({r.user_id for r in g})),
    })
    return rows


@dg.multi_asset(
    outs={
        "extracted_facts": dg.AssetOut(io_manager_key="postgres_io", group_name=GROUP, kinds={"postgres"},
                                       description="Facts per user from the bot-day's user turns, with provenance."),
        "windowed_summaries": dg.AssetOut(io_manager_key="postgres_io", group_name=GROUP, kinds={"postgres"},
                                          description="One summary per user per 24-hour window."),
    },
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    can_subset=False,
    pool="llm",
    # Blocking ones among them: a failed check stops user_facts, summary_embeddings and the completion mark.
    check_specs=ENRICHMENT_CHECK_SPECS,
)
def enrich_messages(
    context: dg.AssetExecutionContext,
    pending_messages: list[StagedMessage],
    llm: LLMResource,
    stores: StoresResource,
) -> Iterator[dg.Output]:
    """One LLM pass per batch of <= 50 user turns yields both the facts and the summaries."""
    started = time.monotonic()
    pids = partition_ids(context.partition_keys)
    backend = llm.get_backend()
    results = enrich_partitions(
        partition_io.group_by_partition(pending_messages, pids), backend, llm.concurrency_limit(), context.run_id,
        embedder=stores.embedder(),
    )
    duration = time.monotonic() - started
    records = [
        repo.RunRecord(context.run_id, "enrich_messages", r, backend.model, backend.prompt_version,
                       duration / max(1, len(results)))
        for r in results
    ]
    failed = [r for r in results if r.error]
    if failed:
        # All or nothing for the run: no output is written, so no partition is half-replaced.
        # The partitions that did succeed are discarded too: record them as failed, not success.
        for r in results:
            if not r.error:
                r.error = (f"not written: {len(failed)} other partition(s) of this run failed, "
                           f"first {failed[0].bot_name}|{failed[0].day}")
        with stores.engine().begin() as conn:
            repo.record_runs(conn, records)
        raise dg.Failure(
            description=f"{len(failed)} of {len(results)} partitions failed; nothing was written. "
            f"First: {failed[0].bot_name}|{failed[0].day}: {failed[0].error}",
            metadata={"failed_partitions": ", ".join(f"{r.bot_name}|{r.day}" for r in failed)},
        )
    facts = [f for r in results for f in r.facts]
    summaries = [s for r in results for s in r.summaries]
    usage = sum((r.usage for r in results), start=Usage())
    rejected: dict[str, int] = {}
    for r in results:
        for reason, n in r.rejected_facts.items():
            rejected[reason] = rejected.get(reason, 0) + n
    common = {
        "model": backend.model,
        "prompt_version": backend.prompt_version,
        "llm_calls": usage.calls,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "cost_usd": round(usage.cost_usd, 6),
        "messages": len(pending_messages),
        "skipped_messages": sum(len(r.skipped) for r in results),
    }
    yield dg.Output(facts, "extracted_facts", metadata={
        **common,
        "facts": len(facts),
        # Grounding (core/enrichment/grounding.py): counts per reason only, never texts or users.
        "facts_rejected": sum(rejected.values()),
        "facts_rejected_by_reason": dg.MetadataValue.json(dict(sorted(rejected.items()))),
        "mean_confidence": round(sum(f.confidence for f in facts) / len(facts), 4) if facts else 0.0,
        "preview": _preview(facts, _pid, facts=len, users=lambda g: len({f.user_id for f in g}),
                            mean_confidence=lambda g: round(sum(f.confidence for f in g) / len(g), 3),
                            categories=lambda g: ", ".join(sorted({f.category for f in g}))),
    })
    yield dg.Output(summaries, "windowed_summaries", metadata={
        **common,
        "summaries": len(summaries),
        "preview": _preview(summaries, _pid, summaries=len,
                            mean_chars=lambda g: round(sum(len(s.summary_text) for s in g) / len(g)),
                            messages=lambda g: sum(s.message_count for s in g)),
    })
    yield from enrichment_check_results(pending_messages, facts, summaries, results, stores.settings())
    # In the run's transaction: the record commits with the rows it describes.
    repo.record_runs(stores.run_transaction(context.run_id).conn, records)


@dg.asset(
    deps=["extracted_facts"],
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    group_name=GROUP,
    kinds={"postgres"},
)
def user_facts(context: dg.AssetExecutionContext, stores: StoresResource) -> dg.MaterializeResult:
    """The seed's consolidated facts, recomputed from fact_observations for the users these days touch."""
    pids = partition_ids(context.partition_keys)
    # Under the run's exclusive lock on its bots: a forget in flight has finished before this reads.
    conn = stores.run_transaction(context.run_id, (b for b, _ in pids)).conn
    users = repo.touched_users(conn, pids)
    rows = repo.recompute_user_facts(conn, users)
    return dg.MaterializeResult(
        metadata={"users_recomputed": sum(len(u) for u in users.values()), "user_facts_rows": rows}
    )


@dg.asset(
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    io_manager_key="postgres_io",
    group_name=GROUP,
    kinds={"postgres", "qdrant"},
)
def summary_embeddings(
    context: dg.AssetExecutionContext, windowed_summaries: list[Summary], stores: StoresResource
) -> list[SummaryEmbedding]:
    """A 384-d vector per summary, kept in Postgres; copied to the Qdrant `summaries` collection
    once the run has committed (completed_messages)."""
    rows = embed_summaries(windowed_summaries, stores.embedder(), EMBEDDING_MODEL)
    context.add_output_metadata({"embeddings": len(rows), "model": EMBEDDING_MODEL, "dimensions": 384})
    return rows


@dg.asset(
    deps=["user_facts", "summary_embeddings"],
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    group_name=GROUP,
    kinds={"qdrant"},
)
def completed_messages(context: dg.AssetExecutionContext, stores: StoresResource) -> dg.MaterializeResult:
    """Commits the run's rows, then copies the summary vectors to Qdrant and marks the staged points
    `completed` — only those whose content is still what the run enriched (an edit made meanwhile
    stays pending for the next run)."""
    pids = partition_ids(context.partition_keys)
    tx = stores.run_transaction(context.run_id, (b for b, _ in pids))
    staged = repo.staged_versions(tx.conn, pids)
    summaries = repo.load_partitions(tx.conn, repo.TABLES["windowed_summaries"], pids)
    vectors = repo.load_partitions(tx.conn, repo.TABLES["summary_embeddings"], pids)
    tx.commit()
    started = run_started_at(context.instance, context.run_id)
    with stores.open_store() as store:
        # Checked while the store is held: a forget deletes its points under the same store lock,
        # after recording itself, so it either comes after this write or is seen here.
        with stores.engine().begin() as conn:
            gone = repo.forgotten_since(conn, (b for b, _ in pids), started)
        if gone:
            vectors = [e for e in vectors if (e.bot_name, repo.user_sha256(e.user_id)) not in gone]
        partition_io.replace_summary_vectors(store, pids, summaries, vectors)
        marked = partition_io.mark_completed(store, staged, context.run_id)
    return dg.MaterializeResult(metadata={
        "messages_completed": marked.marked, "already_completed": marked.already,
        "changed_since_staged": marked.changed, "missing": marked.missing, "partitions": len(pids),
    })


ASSETS = [pending_messages, enrich_messages, user_facts, summary_embeddings, completed_messages]
