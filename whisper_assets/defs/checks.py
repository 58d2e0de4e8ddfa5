"""Asset checks of the enrichment graph. Thin wiring: the rules are in core/enrichment/quality.py.

- Checks of `enrich_messages`' outputs, known while the run writes them: declared as the multi-asset's
  `check_specs` (`ENRICHMENT_CHECK_SPECS`), their results yielded by the asset
  (`enrichment_check_results`). The blocking ones stop user_facts, summary_embeddings and the
  completion mark.
- Post-hoc checks, evaluated on their own (`CHECKS`): how long the oldest pending message has waited.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import dagster as dg

from whisper_assets.core.enrichment import quality
from whisper_assets.core.enrichment.models import StagedMessage
from whisper_assets.core.enrichment.pipeline import PartitionResult
from whisper_assets.core.messages import epoch_ms
from whisper_assets.core.settings import Settings
from whisper_assets.defs.asset_metadata import counted, md_table
from whisper_assets.defs.resources import StoresResource

FACT_CONFIDENCE = "FACT_CONFIDENCE"
JUNK_FACTS = "JUNK_FACTS"
SUMMARY_QUALITY = "SUMMARY_QUALITY"
COVERAGE = "MESSAGE_COVERAGE"
PENDING_LAG = "PENDING_LAG"

OWNER = "team:memory"  # checks take no `owners` in Dagster 1.13: the asset's owners, named here


def _about(fn_name: str) -> dict[str, Any]:
    """A check's definition metadata: its owner and where its code is (the UI's code reference)."""
    line = next(i for i, text in enumerate(Path(__file__).read_text().splitlines(), 1)
                if text.startswith(f"def {fn_name}("))
    with warnings.catch_warnings():  # code references are beta in 1.13
        warnings.simplefilter("ignore", dg.BetaWarning)
        reference = dg.CodeReferencesMetadataValue(
            code_references=[dg.LocalFileCodeReference(file_path=__file__, line_number=line)])
    return {"owner": OWNER, "dagster/code_references": reference}


ENRICHMENT_CHECK_SPECS = [
    dg.AssetCheckSpec(FACT_CONFIDENCE, metadata=_about("enrichment_check_results"), asset="extracted_facts", blocking=True,
                      description="Confidences in [0,1]; the share under WHISPER_CHECK_MIN_CONFIDENCE at most "
                      "WHISPER_CHECK_MAX_LOW_SHARE (each result states both in its description)."),
    dg.AssetCheckSpec(JUNK_FACTS, metadata=_about("enrichment_check_results"), asset="extracted_facts", blocking=True,
                      description="No facts from bot turns, placeholders, bad lengths or duplicates."),
    dg.AssetCheckSpec(SUMMARY_QUALITY, metadata=_about("enrichment_check_results"), asset="windowed_summaries", blocking=True,
                      description="Every user with turns has a real summary, not a copy of one message."),
    dg.AssetCheckSpec(COVERAGE, metadata=_about("enrichment_check_results"), asset="windowed_summaries",
                      description="Every message is enriched or deliberately skipped with a reason."),
]


def _judged(pids: Sequence[tuple[str, date]]) -> str:
    """'elena 2026-11-01…2026-11-14 (14 days); marcus 2026-11-03 (1 day)': the bot-days a result judged
    (a check result of a multi-partition run cannot carry a partition in Dagster 1.13)."""
    days: dict[str, list[date]] = {}
    for bot, day in sorted(pids):
        days.setdefault(bot, []).append(day)
    parts = []
    for bot, ds in days.items():
        span = str(ds[0]) if len(ds) == 1 else f"{ds[0]}…{ds[-1]}"
        parts.append(f"{bot} {span} ({len(ds)} day{'s' if len(ds) != 1 else ''})")
    return "; ".join(parts)


def _histogram(histogram: dict[str, int], width: int = 20) -> dg.MetadataValue:
    """The confidence distribution as one Markdown histogram."""
    top = max(histogram.values(), default=0)
    return md_table(["confidence", "facts", ""], [
        [b, n, "█" * round(width * n / top) if top else ""] for b, n in histogram.items()
    ])


def enrichment_check_results(
    messages: list[StagedMessage], results: list[PartitionResult], settings: Settings,
) -> Iterator[dg.AssetCheckResult]:
    """The results of `ENRICHMENT_CHECK_SPECS` for one run's outputs: one result per check (Dagster
    takes one per check and step), verdict over the whole run, each with the bot-days it judged in
    its description and a table of them. Counts and reasons only: no fact, summary or message text
    and no user ids (the event log outlives a forget)."""
    pids = [(r.bot_name, r.day) for r in sorted(results, key=lambda r: (r.bot_name, r.day))]
    judged = f"Judged {len(pids)} partition{'s' if len(pids) != 1 else ''}: {_judged(pids)}."
    messages_of: dict[tuple[str, date], list[StagedMessage]] = {}
    for m in messages:
        messages_of.setdefault((m.bot_name, m.day), []).append(m)
    facts = [f for r in results for f in r.facts]
    summaries = [s for r in results for s in r.summaries]
    skipped = {mid: why for r in results for mid, why in r.skipped.items()}
    threshold, max_share = settings.check_min_confidence, settings.check_max_low_share

    stats = quality.confidence_stats(facts, threshold)
    per = {(r.bot_name, r.day): quality.confidence_stats(r.facts, threshold) for r in results}
    yield dg.AssetCheckResult(
        check_name=FACT_CONFIDENCE, asset_key="extracted_facts",
        passed=stats.out_of_range == 0 and stats.share_below <= max_share,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{judged} A confidence below {threshold} is low; at most {max_share:.0%} of the run's facts "
        f"may be low, and none outside [0, 1]: {stats.share_below:.1%} are low, {stats.out_of_range} outside.",
        metadata={
            "facts": stats.count, "mean_confidence": stats.mean, "share_below_threshold": stats.share_below,
            "out_of_range": stats.out_of_range,
            # Text, not numbers: constants the UI would plot; the CLI's failure line reads them (runs.py).
            "threshold": dg.MetadataValue.text(str(threshold)), "max_share": dg.MetadataValue.text(str(max_share)),
            "confidence_distribution": _histogram(stats.histogram),
            "partitions_judged": md_table(
                ["bot", "day", "facts", "mean confidence", "share low", "outside [0, 1]"],
                [[b, d, st.count, st.mean, f"{st.share_below:.1%}", st.out_of_range] for (b, d), st in per.items()]),
        },
    )

    junk = {pid: quality.junk_facts(r.facts, messages_of.get(pid, [])) for r in results
            for pid in [(r.bot_name, r.day)]}
    n_junk = sum(len(j) for j in junk.values())
    yield dg.AssetCheckResult(
        check_name=JUNK_FACTS, asset_key="extracted_facts", passed=not n_junk, severity=dg.AssetCheckSeverity.ERROR,
        description=f"{judged} {n_junk} junk fact(s).",
        metadata={"junk_facts": n_junk,
                  "junk_by_reason": dg.MetadataValue.json(counted(why for j in junk.values() for _, why in j)),
                  "partitions_judged": md_table(["bot", "day", "facts", "junk"],
                                                [[b, d, len(r.facts), len(junk[(b, d)])]
                                                 for r in results for b, d in [(r.bot_name, r.day)]])},
    )

    problems = {(r.bot_name, r.day): quality.summary_problems(r.summaries, messages_of.get((r.bot_name, r.day), []),
                                                              r.skipped) for r in results}
    n_problems = sum(len(p) for p in problems.values())
    yield dg.AssetCheckResult(
        check_name=SUMMARY_QUALITY, asset_key="windowed_summaries", passed=not n_problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{judged} {n_problems} user-window(s) without a real summary.",
        metadata={"summaries": len(summaries), "problems": n_problems,
                  "problems_by_reason": dg.MetadataValue.json(counted(
                      "no summary" if why.startswith("no summary") else why
                      for p in problems.values() for _, why in p)),
                  "partitions_judged": md_table(["bot", "day", "summaries", "problems"],
                                                [[r.bot_name, r.day, len(r.summaries),
                                                  len(problems[(r.bot_name, r.day)])] for r in results])},
    )

    uncovered = {(r.bot_name, r.day): quality.uncovered_messages(messages_of.get((r.bot_name, r.day), []),
                                                                 r.summaries, r.skipped) for r in results}
    n_uncovered = sum(len(u) for u in uncovered.values())
    yield dg.AssetCheckResult(
        check_name=COVERAGE, asset_key="windowed_summaries", passed=not n_uncovered,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{judged} {n_uncovered} message(s) neither enriched nor skipped with a reason.",
        metadata={"messages": len(messages), "skipped": len(skipped), "uncovered": n_uncovered,
                  "skip_reasons": dg.MetadataValue.json(counted(skipped.values())),
                  "partitions_judged": md_table(
                      ["bot", "day", "messages", "skipped", "uncovered"],
                      [[r.bot_name, r.day, len(messages_of.get((r.bot_name, r.day), [])), len(r.skipped),
                        len(uncovered[(r.bot_name, r.day)])] for r in results])},
    )


@dg.asset_check(asset="pending_messages", name=PENDING_LAG, metadata=_about("pending_lag_check"),
                description="The oldest pending message is younger than the freshness SLA "
                "(WHISPER_FRESHNESS_SLA_S; each result states it).")
def pending_lag_check(stores: StoresResource) -> dg.AssetCheckResult:
    settings = stores.settings()
    with stores.open_store() as store:
        lag = quality.pending_lag(store, epoch_ms(datetime.now(timezone.utc)))
    return dg.AssetCheckResult(
        passed=lag.within(settings.freshness_sla_s), severity=dg.AssetCheckSeverity.WARN,
        description=f"{lag.pending} message(s) pending, the oldest for {lag.age_s:.0f} s; "
        f"the freshness SLA is {settings.freshness_sla_s:.0f} s.",
        metadata={"pending": lag.pending, "oldest_pending_age_s": round(lag.age_s, 1)},
    )


CHECKS = [pending_lag_check]
