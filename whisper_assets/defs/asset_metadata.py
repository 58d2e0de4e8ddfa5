"""What the enrichment assets show in the Dagster UI: their definition metadata (owners, kinds,
column schemas of the Postgres tables) and the figures each partition's materialization carries.

Only counts and aggregates, never message text, fact or summary text or user ids: Dagster's event
log outlives a forgotten user (a forget does not rewrite it), so nothing in it may identify one.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable, Iterable, Mapping, Sequence

import dagster as dg

from whisper_assets.core.enrichment.pipeline import PartitionResult
from whisper_assets.defs.partitions import split_key

GROUP = "enrichment"
OWNERS = ["team:memory"]
PREVIEW_ROWS = 8

_C = dg.TableColumn
_BOT_DAY = [_C("bot_name", "string", description="the bot partition"),
            _C("day", "date", description="the UTC day partition")]
COLUMN_SCHEMAS: dict[str, dg.TableSchema] = {
    "pending_messages": dg.TableSchema(columns=[
        _C("message_id", "uuid"), *_BOT_DAY, _C("user_id", "string"), _C("role", "string", description="user | bot"),
        _C("content", "string"), _C("ts", "timestamptz"),
        _C("vector", "bytea", description="the stored 384-d float32 vector"), _C("staged_at", "timestamptz"),
    ]),
    "fact_observations": dg.TableSchema(columns=[
        _C("id", "bigint"), *_BOT_DAY, _C("user_id", "string"), _C("category", "string"),
        _C("fact_content", "string", description="1-500 characters"),
        _C("confidence", "double", description="in [0, 1]"),
        _C("source_message_ids", "uuid[]", description="the user's turns the fact is grounded in"),
        _C("observed_at", "timestamptz"), _C("model", "string"), _C("prompt_version", "string"),
        _C("run_id", "string"), _C("extracted_at", "timestamptz"),
    ]),
    "user_facts": dg.TableSchema(columns=[
        _C("id", "bigint"), _C("user_id", "string"), _C("bot_name", "string"), _C("fact_content", "string"),
        _C("category", "string"), _C("confidence", "double"), _C("mention_count", "integer"),
        _C("first_seen", "timestamptz"), _C("last_seen", "timestamptz"), _C("source_message_ids", "uuid[]"),
        _C("model", "string"), _C("prompt_version", "string"), _C("updated_at", "timestamptz"),
        _C("slot", "string", description="the single-valued slot it fills (home, employer, ...), or null"),
        _C("status", "string", description="current | superseded | closed"),
        _C("valid_from", "timestamptz"), _C("valid_to", "timestamptz", description="null while it holds"),
        _C("prior_valid_from", "timestamptz[]"), _C("prior_valid_to", "timestamptz[]"),
        _C("prior_ended_by", "string[]", description="earlier periods, oldest first"),
        _C("variants", "string[]", description="the wordings merged into this fact"),
        _C("variant_vectors", "bytea", description="their 384-d vectors (the consolidation's cache)"),
    ], constraints=dg.TableConstraints(other=["UNIQUE (user_id, bot_name, fact_content)"])),
    "conversation_summaries": dg.TableSchema(columns=[
        _C("id", "bigint"), _C("user_id", "string"), *_BOT_DAY, _C("start_timestamp", "timestamptz"),
        _C("end_timestamp", "timestamptz"), _C("summary_text", "string"), _C("topics", "string[]"),
        _C("message_count", "integer"), _C("source_message_ids", "uuid[]"), _C("model", "string"),
        _C("prompt_version", "string"), _C("run_id", "string"), _C("created_at", "timestamptz"),
    ], constraints=dg.TableConstraints(other=["UNIQUE (user_id, bot_name, start_timestamp, end_timestamp)"])),
    "summary_embeddings": dg.TableSchema(columns=[
        _C("user_id", "string"), *_BOT_DAY, _C("start_timestamp", "timestamptz"),
        _C("end_timestamp", "timestamptz"), _C("embedding", "real[]", description="384 dimensions"),
        _C("model", "string"), _C("created_at", "timestamptz"),
    ], constraints=dg.TableConstraints(other=["PRIMARY KEY (user_id, bot_name, start_timestamp, end_timestamp)"])),
}


def table_metadata(table: str) -> dict[str, Any]:
    """Definition metadata of an asset stored in a Postgres table: its name and column schema."""
    return {"table": table, "dagster/column_schema": COLUMN_SCHEMAS[table]}


def md_cell(value: Any) -> str:
    """A Markdown table cell: `|` (as in 'elena|2026-11-12') and line breaks would shift the columns."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def preview(rows: Sequence[Any], key: Callable[[Any], str], **columns: Callable[[list[Any]], Any]) -> dg.MetadataValue:
    """A table of counts per partition of the run (at most PREVIEW_ROWS partitions)."""
    groups: dict[str, list[Any]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    body = [[name, *(fn(groups[name]) for fn in columns.values())] for name in sorted(groups)[:PREVIEW_ROWS]]
    if len(groups) > PREVIEW_ROWS:
        body.append([f"… {len(groups) - PREVIEW_ROWS} more", *("" for _ in columns)])
    return md_table(["partition", *columns], body)


def pid_of(row: Any) -> str:
    return f"{row.bot_name}|{row.day}"


def keys_by_pid(partition_keys: Iterable[str]) -> dict[tuple[str, date], str]:
    """The run's partition keys by (bot, day), as Dagster spells them (for add_asset_metadata)."""
    return {split_key(k): k for k in partition_keys}


def counted(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def enrichment_figures(r: PartitionResult, user_turns: int, duration_s: float) -> dict[str, dict[str, Any]]:
    """One partition's figures for extracted_facts and windowed_summaries (the same LLM pass).

    `duration_s` is the partition's equal share of the run's enrichment time (as in
    enrichment_metadata.duration_s): the pass runs the partitions' calls concurrently."""
    common = {
        "messages": r.message_count,
        "user_turns": user_turns,
        "skipped_messages": len(r.skipped),
        "skipped_by_reason": dg.MetadataValue.json(counted(r.skipped.values())),
        "llm_calls": r.usage.calls,
        "tokens_in": r.usage.tokens_in,
        "tokens_out": r.usage.tokens_out,
        "cost_usd": round(r.usage.cost_usd, 6),
        "duration_s_share": round(duration_s, 3),
    }
    facts = r.facts
    return {
        "extracted_facts": {
            **common,
            "facts": len(facts),
            "users_with_facts": len({f.user_id for f in facts}),
            # Grounding (core/enrichment/grounding.py): counts per reason only, never texts or users.
            "facts_rejected": sum(r.rejected_facts.values()),
            "facts_rejected_by_reason": dg.MetadataValue.json(dict(sorted(r.rejected_facts.items()))),
            "mean_confidence": round(sum(f.confidence for f in facts) / len(facts), 4) if facts else 0.0,
            "categories": dg.MetadataValue.json(counted(f.category for f in facts)),
        },
        "windowed_summaries": {
            **common,
            "summaries": len(r.summaries),
            "summarised_messages": sum(s.message_count for s in r.summaries),
            "mean_summary_chars": round(sum(len(s.summary_text) for s in r.summaries) / len(r.summaries))
            if r.summaries else 0,
        },
    }


def add_partition_metadata(
    context: dg.AssetExecutionContext, asset_key: str, by_pid: Mapping[tuple[str, date], Mapping[str, Any]]
) -> None:
    """Each partition's own figures on its own materialization event (they override the run-wide
    metadata of the same name)."""
    keys = keys_by_pid(context.partition_keys)
    for pid, metadata in by_pid.items():
        context.add_asset_metadata(dict(metadata), asset_key=asset_key, partition_key=keys[pid])
