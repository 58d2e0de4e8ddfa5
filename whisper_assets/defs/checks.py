"""Asset checks of the enrichment graph. Thin wiring: the rules are in core/enrichment/quality.py.

- Checks of `enrich_messages`' outputs, known while the run writes them: declared as the multi-asset's
  `check_specs` (`ENRICHMENT_CHECK_SPECS`), their results yielded by the asset
  (`enrichment_check_results`). The blocking ones stop user_facts, summary_embeddings and the
  completion mark.
- Post-hoc checks, evaluated on their own (`CHECKS`): how long the oldest pending message has waited.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import dagster as dg

from whisper_assets.core.enrichment import quality
from whisper_assets.core.enrichment.models import FactObservation, StagedMessage, Summary
from whisper_assets.core.enrichment.pipeline import PartitionResult
from whisper_assets.core.messages import epoch_ms
from whisper_assets.core.settings import Settings
from whisper_assets.defs.resources import StoresResource

FACT_CONFIDENCE = "FACT_CONFIDENCE"
JUNK_FACTS = "JUNK_FACTS"
SUMMARY_QUALITY = "SUMMARY_QUALITY"
COVERAGE = "MESSAGE_COVERAGE"
PENDING_LAG = "PENDING_LAG"

ENRICHMENT_CHECK_SPECS = [
    dg.AssetCheckSpec(FACT_CONFIDENCE, asset="extracted_facts", blocking=True,
                      description="Confidences in [0,1]; share under the threshold within the limit."),
    dg.AssetCheckSpec(JUNK_FACTS, asset="extracted_facts", blocking=True,
                      description="No facts from bot turns, placeholders, bad lengths or duplicates."),
    dg.AssetCheckSpec(SUMMARY_QUALITY, asset="windowed_summaries", blocking=True,
                      description="Every user with turns has a real summary, not a copy of one message."),
    dg.AssetCheckSpec(COVERAGE, asset="windowed_summaries",
                      description="Every message is enriched or deliberately skipped with a reason."),
]


def enrichment_check_results(
    messages: list[StagedMessage], facts: list[FactObservation], summaries: list[Summary],
    results: list[PartitionResult], settings: Settings,
) -> Iterator[dg.AssetCheckResult]:
    """The results of `ENRICHMENT_CHECK_SPECS` for one run's outputs."""
    stats = quality.confidence_stats(facts, settings.check_min_confidence)
    yield dg.AssetCheckResult(
        check_name=FACT_CONFIDENCE, asset_key="extracted_facts",
        passed=stats.out_of_range == 0 and stats.share_below <= settings.check_max_low_share,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "facts": stats.count, "mean_confidence": stats.mean, "share_below_threshold": stats.share_below,
            "threshold": settings.check_min_confidence, "max_share": settings.check_max_low_share,
            "out_of_range": stats.out_of_range, **{f"confidence {k}": v for k, v in stats.histogram.items()},
        },
    )
    junk = quality.junk_facts(facts, messages)
    yield dg.AssetCheckResult(
        check_name=JUNK_FACTS, asset_key="extracted_facts", passed=not junk, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"junk_facts": len(junk), "examples": dg.MetadataValue.json([list(j) for j in junk[:10]])},
    )
    skipped = {mid: why for r in results for mid, why in r.skipped.items()}
    problems = quality.summary_problems(summaries, messages, skipped)
    yield dg.AssetCheckResult(
        check_name=SUMMARY_QUALITY, asset_key="windowed_summaries", passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"summaries": len(summaries), "problems": len(problems),
                  "examples": dg.MetadataValue.json([list(p) for p in problems[:10]])},
    )
    uncovered = quality.uncovered_messages(messages, summaries, skipped)
    reasons: dict[str, int] = {}
    for why in skipped.values():
        reasons[why] = reasons.get(why, 0) + 1
    yield dg.AssetCheckResult(
        check_name=COVERAGE, asset_key="windowed_summaries", passed=not uncovered,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"messages": len(messages), "skipped": len(skipped), "uncovered": len(uncovered),
                  "skip_reasons": dg.MetadataValue.json(reasons),
                  "uncovered_examples": dg.MetadataValue.json(uncovered[:10])},
    )


@dg.asset_check(asset="pending_messages", name=PENDING_LAG,
                description="The oldest pending message is younger than the freshness SLA.")
def pending_lag_check(stores: StoresResource) -> dg.AssetCheckResult:
    settings = stores.settings()
    with stores.open_store() as store:
        lag = quality.pending_lag(store, epoch_ms(datetime.now(timezone.utc)))
    return dg.AssetCheckResult(
        passed=lag.within(settings.freshness_sla_s), severity=dg.AssetCheckSeverity.WARN,
        metadata={"pending": lag.pending, "oldest_pending_age_s": round(lag.age_s, 1),
                  "sla_s": settings.freshness_sla_s},
    )


CHECKS = [pending_lag_check]
