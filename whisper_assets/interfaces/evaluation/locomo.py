"""LoCoMo evaluation: load LoCoMo-format samples, run the whole pipeline on them in a temporary
workspace, and measure facts, summaries and retrieval against the gold annotations.

The pipeline is the product's own: `locomo_format.parse_sample` + `ingest.ingest` (the hot path:
validate, embed, upsert into an embedded Qdrant), `runs.materialize_days` (the Dagster asset graph,
one partition per bot-day, with the LLM backend asked for), then Postgres reads and
`retrieval.recall`. Nothing is mocked. The workspace is a fresh temporary data directory with its
own embedded Qdrant and, for Postgres, a scratch database created on the server of the settings'
DATABASE_URL (dropped afterwards) or, without one, an embedded PostgreSQL under the temporary data
directory (stopped and deleted afterwards). The settings are handed in (the CLI reads them from the
environment once) and passed on explicitly; the process environment is never changed.

Modules: `samples` (loading a file), `workspace`, `pipeline` (ingest and enrich), `facts`,
`summaries`, `questions` (recall() and evidence recall@k), `metrics` (pure functions), `report`;
this one runs them in order and assembles the JSON report.

Metrics (see `metrics.py` for the pure functions):

- **facts**: for each sample, session and speaker, the predicted facts are the `fact_observations`
  rows of user=speaker whose source messages are turns of that session (message ids are mapped to
  dia_ids from the parsed turns); the gold facts are `session_N_observation[speaker]`. A predicted
  fact is embedded as "<speaker> <fact>" (our facts have no subject: "works as a nurse"), a gold
  fact as written, with all-MiniLM-L6-v2 (`get_embedder`); pairs with cosine >= `threshold` are
  matched one-to-one, greedily by highest cosine. Precision = matched predicted / predicted, recall
  = matched gold / gold, micro-averaged (counts summed before dividing) per sample, per category of
  the predicted fact, and overall. Gold facts have no category, so "recall" per category is the
  share of all gold facts matched by facts of that category (the shares add up to the recall).
- **summaries**: per session, the concatenation of both speakers' summaries of that day (speaker_a
  first) against `session_N_summary`: ROUGE-L F1 (Porter stemming) and the cosine of their MiniLM
  embeddings (the model reads the first 256 word pieces of each text).
- **retrieval**: for each QA item of categories 1-4, `recall()` is asked the question for the speaker
  it names (both speakers when it names both or neither; the two ranked lists are merged by rank),
  twice: with `now` = the date_time of the session after the last evidence session (the last
  session's +1 day when that is the last one; `retrieval`), and with `now` = a day after the last
  session (`retrieval_after`). The headline is STRICT evidence recall@k (`evidence.py`): one of the
  first k items is an evidence turn (a message), cites one (a fact), or cites one and holds it in its
  own text (a summary: three, and half, of one turn sentence's content words). The LOOSE figure (the old
  one: the provenance of any of the first k items cites an evidence turn, so a day summary counts
  whatever it says) stays beside it, with two chance baselines (`baselines.py`: the latest
  summaries ignoring the question; random items of the same kinds). Items whose evidence has no valid dia_id are skipped
  and counted. One recall() result is ranked as: its facts (most relevant first), its related
  summaries (closest first), its related messages (closest first) and its summaries (time range or
  recent, in the order returned) interleaved by rank: fact 1, related 1, message 1, summary 1,
  fact 2, ...; hits per kind are reported too,
  and recall over the items the question selected (everything but the "recent" summaries, which
  recall() picks by date alone: with `now` placed right after the evidence, an "as of now" recency
  list would find the evidence session without reading the question).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

from whisper_assets.core.settings import Settings
from whisper_assets.interfaces.evaluation.facts import DEFAULT_THRESHOLD, evaluate_facts, facts_report, predicted_facts
from whisper_assets.interfaces.evaluation.pipeline import PipelineRun, run_pipeline
from whisper_assets.interfaces.evaluation.questions import KS, evaluate_retrieval
from whisper_assets.interfaces.evaluation.samples import EvalInputError, dataset_report, load_samples
from whisper_assets.interfaces.evaluation.summaries import evaluate_summaries
from whisper_assets.interfaces.evaluation.workspace import temporary_workspace

BACKENDS = ("offline", "openai")


def backend_settings(settings: Settings, backend: str, threshold: float) -> Settings:
    """`settings` with the LLM backend asked for, checked (an EvalError says what is wrong)."""
    if backend not in BACKENDS:
        raise EvalInputError(f"unknown backend {backend!r}: use offline or openai")
    if not 0 < threshold <= 1:
        raise EvalInputError("threshold must be in (0, 1]")
    settings = settings.model_copy(update={"llm_backend": backend})
    if backend == "openai":
        from whisper_assets.core.llm.openai_backend import LLMNotConfiguredError, openai_client

        try:
            openai_client(settings)
        except LLMNotConfiguredError as exc:
            raise EvalInputError(f"--backend openai: {exc}") from None
    return settings


def evaluate(
    path: Path,
    sample_ids: Sequence[str] | None = None,
    *,
    settings: Settings,
    backend: str = "offline",
    threshold: float = DEFAULT_THRESHOLD,
    progress: Callable[[str], None] | None = None,
    scratch: bool = True,
    batched: bool = True,
) -> dict[str, Any]:
    """Run the pipeline on the samples in a temporary workspace and return every measurement as a
    JSON-serialisable dict (what `report.write_report` renders).

    `settings`: everything but the stores (the workspace has its own; DATABASE_URL names the server
    of its scratch database) and the LLM backend, which is `backend`."""
    from whisper_assets.core.embedding import EMBEDDING_MODEL, get_embedder
    from whisper_assets.stores.postgres import get_engine

    say = progress or (lambda _msg: None)
    settings = backend_settings(settings, backend, threshold)
    started = time.perf_counter()
    samples = load_samples(path, sample_ids)
    if not samples:
        raise EvalInputError(f"{path}: no samples")
    with temporary_workspace(settings, scratch) as ws:
        embedder = get_embedder(ws.settings.torch_threads)
        say(f"workspace: {ws.data_dir} with {ws.postgres}")
        say(f"ingesting and enriching {len(samples)} sample(s) with the {backend} backend")
        run = run_pipeline(samples, ws, batched=batched)
        engine = get_engine(ws.settings)
        t = time.perf_counter()
        say("measuring facts")
        predictions, unplaced = {}, 0
        for s in samples:
            predictions[s.sample_id], n = predicted_facts(engine, s, run.message_to_dia[s.sample_id])
            unplaced += n
        facts = evaluate_facts(samples, predictions, embedder.encode, threshold)
        facts.unplaced = unplaced
        run.timings_s["facts"] = time.perf_counter() - t
        t = time.perf_counter()
        say("measuring summaries")
        summaries = evaluate_summaries(engine, samples, embedder.encode)
        run.timings_s["summaries"] = time.perf_counter() - t
        t = time.perf_counter()
        say("measuring retrieval")
        retrieval = evaluate_retrieval(samples, ws, run.message_to_dia, embedder, when="session")
        say("measuring retrieval after the whole conversation")
        retrieval_after = evaluate_retrieval(samples, ws, run.message_to_dia, embedder, when="after")
        run.timings_s["retrieval"] = time.perf_counter() - t
        postgres = ws.postgres
    run.timings_s["total"] = time.perf_counter() - started
    return {
        "dataset": dataset_report(path, samples),
        "config": {
            "backend": backend, "threshold": threshold, "ks": list(KS), "embedding_model": EMBEDDING_MODEL,
            "dagster_runs": "batched (as whisper-assets enrich)" if batched else "one per bot-day (as the sensor)",
            "fact_text": "'<speaker> <predicted fact>' vs the gold observation",
            "matching": "one-to-one, greedy by highest cosine, cosine >= threshold",
            "ranking": "per recall(): facts, related, messages, summaries (time range or recent) interleaved by rank; "
                       "two speakers merged by rank",
        },
        "run": _run_report(run, postgres),
        "facts": facts_report(facts),
        "summaries": summaries.as_dict(),
        "retrieval": retrieval.as_dict(),
        "retrieval_after": retrieval_after.as_dict(),
    }


def _run_report(run: PipelineRun, postgres: str) -> dict[str, Any]:
    return {
        "postgres": postgres, "records": run.records, "stored": run.stored,
        "ingest_errors": [list(e) for e in run.ingest_errors], "dagster_runs": run.runs,
        "partitions": run.partitions, "llm": run.llm.as_dict(),
        "timings_s": {k: round(v, 3) for k, v in run.timings_s.items()},
    }
