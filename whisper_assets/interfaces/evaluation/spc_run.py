"""Synthetic-Persona-Chat through the product's pipeline (`whisper-assets eval spc`): a seeded sample
of conversations, each one bot on one day, ingested through the hot path and enriched by the
Dagster asset graph in the same temporary workspace as LoCoMo, then the stored `fact_observations`
scored by `spc.score_spc_facts` (the metric: `spc`'s docstring).

SPC has no gold summaries and no questions: only facts are measured.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from whisper_assets.core.settings import Settings
from whisper_assets.interfaces.evaluation import spc
from whisper_assets.interfaces.evaluation.facts import predicted_facts
from whisper_assets.interfaces.evaluation.locomo import _run_report, backend_settings
from whisper_assets.interfaces.evaluation.pipeline import run_pipeline
from whisper_assets.interfaces.evaluation.samples import file_sha256
from whisper_assets.interfaces.evaluation.workspace import temporary_workspace


def evaluate_spc(
    path: Path,
    conversations: int | None = spc.DEFAULT_CONVERSATIONS,
    *,
    settings: Settings,
    seed: int = spc.DEFAULT_SEED,
    backend: str = "offline",
    threshold: float = spc.DEFAULT_THRESHOLD,
    progress: Callable[[str], None] | None = None,
    scratch: bool = True,
    batched: bool = True,
) -> dict[str, Any]:
    """Run the pipeline on `conversations` SPC conversations (None: all) drawn with `seed`, and
    return the JSON-serialisable report (`facts` as `SpcFactEval.as_dict`)."""
    from whisper_assets.core.embedding import EMBEDDING_MODEL, get_embedder
    from whisper_assets.stores.postgres import get_engine

    say = progress or (lambda _msg: None)
    settings = backend_settings(settings, backend, threshold)
    started = time.perf_counter()
    convs = spc.sample_conversations(spc.load_spc(path), conversations, seed)
    samples = [spc.to_locomo_sample(c) for c in convs]
    with temporary_workspace(settings, scratch) as ws:
        embedder = get_embedder(ws.settings.torch_threads)
        say(f"ingesting and enriching {len(samples)} SPC conversation(s) with the {backend} backend")
        run = run_pipeline(samples, ws, batched=batched)
        engine = get_engine(ws.settings)
        t = time.perf_counter()
        say("measuring SPC facts")
        predictions: dict[str, list[tuple[str, str]]] = {}
        sources: dict[tuple[str, str, str], str] = {}  # the turns each fact was drawn from, for the hand check
        unplaced = 0
        for s in samples:
            facts, n = predicted_facts(engine, s, run.message_to_dia[s.sample_id])
            predictions[s.sample_id] = [(f.speaker, f.fact) for f in facts]
            for f in facts:
                sources[(s.sample_id, f.speaker, f.fact)] = " | ".join(
                    s.turns[d].text for d in f.dia_ids if d in s.turns)
            unplaced += n
        scored = spc.score_spc_facts(convs, predictions, embedder.encode, threshold)
        run.timings_s["facts"] = time.perf_counter() - t
        postgres = ws.postgres
    run.timings_s["total"] = time.perf_counter() - started
    facts_block = scored.as_dict(examples=True)
    for example in facts_block["unmatched_examples"]:
        example["source"] = sources.get((example["conversation"], example["speaker"], example["fact"]), "")
    facts_block["unplaced_predicted"] = unplaced
    return {
        "dataset": {
            "file": str(Path(path).resolve()), "sha256": file_sha256(path), "seed": seed,
            "conversations": [c.conversation_id for c in convs], "turns": sum(len(c.turns) for c in convs),
            "dropped_lines": sum(c.dropped_lines for c in convs), "day": spc.SPC_DAY.isoformat(),
            "license": spc.LICENSE,
        },
        "config": {
            "backend": backend, "threshold": threshold, "expressed_threshold": scored.expressed_threshold,
            "embedding_model": EMBEDDING_MODEL,
            "fact_text": "first_person(<predicted fact>) vs the persona sentence as written",
            "matching": "one-to-one, greedy by highest cosine, cosine >= threshold (as LoCoMo)",
            "expressed": "best cosine with a statement (not a question) of the speaker's own turns >= "
                         "expressed_threshold",
        },
        "run": _run_report(run, postgres),
        "facts": facts_block,
    }
