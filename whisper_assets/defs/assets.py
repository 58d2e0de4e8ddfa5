"""The enrichment asset graph, per bot x day. Thin wiring: the work is in core/enrichment, the
statements in stores/repository/enrichment.py, the checks in defs/checks.py.

pending_messages ─▶ extracted_facts ─▶ user_facts ─────────────┐
        │              (one LLM pass: enrich_messages)          ├─▶ completed_messages
        └────────────▶ windowed_summaries ─▶ summary_embeddings ┘
"""

import time
import warnings
from datetime import date
from typing import Any, Iterator, Sequence

import dagster as dg

from whisper_assets.core.run_plan import MAX_DAYS_PER_RUN
from whisper_assets.core.embedding import EMBEDDING_MODEL
from whisper_assets.core.enrichment.models import StagedMessage, Summary, SummaryEmbedding
from whisper_assets.core.enrichment.pipeline import embed_summaries, enrich_partitions
from whisper_assets.defs.asset_metadata import (
    GROUP, OWNERS, add_partition_metadata, enrichment_figures, pid_of, preview, table_metadata,
)
from whisper_assets.defs.checks import ENRICHMENT_CHECK_SPECS, enrichment_check_results
from whisper_assets.defs.io_manager import run_started_at
from whisper_assets.defs.partitions import bot_day_partitions, partition_ids
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.stores import partition_io
from whisper_assets.stores.repository import consolidation as consolidation_repo, enrichment as repo

warnings.filterwarnings("ignore", category=dg.BetaWarning)  # BackfillPolicy is beta in 1.13

# The LLM's kind in the UI: declared as the OpenAI one; `with_llm_kind` (build_definitions) sets the
# configured backend's (WHISPER_LLM_BACKEND), so the UI shows the backend that actually runs.
LLM_KIND = "openai"

# Runs cover many partitions (launching a run costs seconds); a month of one bot is one run.
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN)


def _by_partition(rows: Sequence[Any]) -> dict[tuple[str, date], list[Any]]:
    groups: dict[tuple[str, date], list[Any]] = {}
    for r in rows:
        groups.setdefault((r.bot_name, r.day), []).append(r)
    return groups


@dg.asset(
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    io_manager_key="postgres_io",
    group_name=GROUP,
    owners=OWNERS,
    kinds={"qdrant", "postgres"},
    metadata=table_metadata("pending_messages"),
)
def pending_messages(context: dg.AssetExecutionContext, stores: StoresResource) -> list[StagedMessage]:
    """Every message of the bot-day, read from Qdrant with its vector and staged in Postgres."""
    pids = partition_ids(context.partition_keys)
    # First the bots' exclusive locks: a second run of these bots waits here, before it reads.
    stores.run_transaction(context.run_id, (b for b, _ in pids))
    with stores.open_store() as store:
        rows = partition_io.read_partitions(store, pids)
    context.add_output_metadata({
        "run_partitions": len(pids),
        "run_preview": preview(rows, pid_of, messages=len, user_turns=lambda g: sum(r.role == "user" for r in g),
                               users=lambda g: len({r.user_id for r in g})),
    })
    groups = _by_partition(rows)
    add_partition_metadata(context, "pending_messages", {
        pid: {"messages": len(g), "user_turns": sum(r.role == "user" for r in g),
              "users": len({r.user_id for r in g})}
        for pid in pids for g in [groups.get(pid, [])]
    })
    return rows


@dg.multi_asset(
    outs={
        "extracted_facts": dg.AssetOut(
            io_manager_key="postgres_io", group_name=GROUP, owners=OWNERS, kinds={"postgres", LLM_KIND},
            metadata=table_metadata("fact_observations"),
            description="Facts per user from the bot-day's user turns (table fact_observations), each grounded "
            "in the user's own cited turns. Written by enrich_messages, one LLM pass with the summaries."),
        "windowed_summaries": dg.AssetOut(
            io_manager_key="postgres_io", group_name=GROUP, owners=OWNERS, kinds={"postgres", LLM_KIND},
            metadata=table_metadata("conversation_summaries"),
            description="One summary per user per 24-hour UTC window (table conversation_summaries). "
            "Written by enrich_messages, one LLM pass with the facts."),
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
    # Run-wide: only what is the same for every partition; each partition's figures are its own.
    common = {"model": backend.model, "prompt_version": backend.prompt_version, "run_partitions": len(results)}
    user_turns = {pid: sum(m.role == "user" for m in g) for pid, g in _by_partition(pending_messages).items()}
    figures = {(r.bot_name, r.day): enrichment_figures(r, user_turns.get((r.bot_name, r.day), 0),
                                                       duration / max(1, len(results)))
               for r in results}
    for asset in ("extracted_facts", "windowed_summaries"):
        add_partition_metadata(context, asset, {pid: f[asset] for pid, f in figures.items()})
    yield dg.Output(facts, "extracted_facts", metadata={
        **common,
        "run_preview": preview(facts, pid_of, facts=len, users=lambda g: len({f.user_id for f in g}),
                               mean_confidence=lambda g: round(sum(f.confidence for f in g) / len(g), 3),
                               categories=lambda g: ", ".join(sorted({f.category for f in g}))),
    })
    yield dg.Output(summaries, "windowed_summaries", metadata={
        **common,
        "run_preview": preview(summaries, pid_of, summaries=len,
                               mean_chars=lambda g: round(sum(len(s.summary_text) for s in g) / len(g)),
                               messages=lambda g: sum(s.message_count for s in g)),
    })
    yield from enrichment_check_results(pending_messages, results, stores.settings())
    # In the run's transaction: the record commits with the rows it describes.
    repo.record_runs(stores.run_transaction(context.run_id).conn, records)


@dg.asset(
    deps=["extracted_facts"],
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    metadata=table_metadata("user_facts"),
)
def user_facts(context: dg.AssetExecutionContext, stores: StoresResource) -> dg.MaterializeResult:
    """The seed's consolidated facts, recomputed from fact_observations for the users these days
    touch: near-duplicate wordings merged, single-valued facts superseded and ended ones closed,
    with validity periods (core/enrichment/consolidation.py)."""
    pids = partition_ids(context.partition_keys)
    # Under the run's exclusive lock on its bots: a forget in flight has finished before this reads.
    conn = stores.run_transaction(context.run_id, (b for b, _ in pids)).conn
    users = repo.touched_users(conn, pids)
    report = consolidation_repo.recompute(conn, users, stores.embedder())
    # Each partition: what the observations of that day did (counts only, never texts or users).
    add_partition_metadata(context, "user_facts", {pid: report.for_partition(*pid) for pid in pids})
    return dg.MaterializeResult(
        # Run-wide: a user's consolidated facts span all the days of the run (and before).
        metadata={"run_users_recomputed": report.users, "run_user_facts_rows": report.rows,
                  "run_partitions": len(pids)}
    )


@dg.asset(
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    io_manager_key="postgres_io",
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres", "sentence-transformers"},
    metadata=table_metadata("summary_embeddings"),
)
def summary_embeddings(
    context: dg.AssetExecutionContext, windowed_summaries: list[Summary], stores: StoresResource
) -> list[SummaryEmbedding]:
    """A 384-d vector per summary, kept in Postgres; copied to the Qdrant `summaries` collection
    once the run has committed (completed_messages)."""
    rows = embed_summaries(windowed_summaries, stores.embedder(), EMBEDDING_MODEL)
    context.add_output_metadata({"model": EMBEDDING_MODEL, "dimensions": 384})
    groups = _by_partition(rows)
    add_partition_metadata(context, "summary_embeddings",
                           {pid: {"embeddings": len(groups.get(pid, []))}
                            for pid in partition_ids(context.partition_keys)})
    return rows


@dg.asset(
    deps=["user_facts", "summary_embeddings"],
    partitions_def=bot_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    group_name=GROUP,
    owners=OWNERS,
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
    # Run-wide counts (the marking is one pass over the run's staged points).
    return dg.MaterializeResult(metadata={
        "run_messages_completed": marked.marked, "run_already_completed": marked.already,
        "run_changed_since_staged": marked.changed, "run_missing": marked.missing, "run_partitions": len(pids),
    })


ASSETS = [pending_messages, enrich_messages, user_facts, summary_embeddings, completed_messages]


def with_llm_kind(assets: Sequence[dg.AssetsDefinition], backend: str) -> list[dg.AssetsDefinition]:
    """`assets` with the LLM's kind replaced by `backend` ("offline" | "openai"), the others unchanged."""
    if backend == LLM_KIND:
        return list(assets)

    def swapped(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(kinds=(spec.kinds - {LLM_KIND}) | {backend}) if LLM_KIND in spec.kinds else spec

    return [a.map_asset_specs(swapped) if any(LLM_KIND in s.kinds for s in a.specs) else a for a in assets]
