"""`whisper-assets eval ...`: evaluation commands (registered in cli.py as the `eval` group).

`eval all` runs both development sets (LoCoMo dev and Synthetic-Persona-Chat) side by side;
`eval locomo` and `eval spc` run one each."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import typer
from rich.console import Console

from whisper_assets.core.settings import stores_not_opened
from whisper_assets.interfaces.cli.errors import fail

eval_app = typer.Typer(no_args_is_help=True, help="Evaluate the pipeline against benchmark data.")
console = Console()

_BACKEND = typer.Option("offline", "--backend", help="offline | openai")
_THRESHOLD = typer.Option(None, "--threshold", min=0.01, max=1.0,
                          help="Fact matching cosine threshold (default: the justified one, 0.65).")
_CONVERSATIONS = typer.Option(None, "--conversations", min=1,
                              help="How many SPC conversations, drawn with --seed (default 60: a couple of minutes).")
_SEED = typer.Option(None, "--seed", help="Seed of the SPC sample and of the random baseline (default 13).")


@eval_app.callback()
def _eval() -> None:
    """Evaluate the pipeline against benchmark data."""


def _check_backend(backend: str) -> None:
    if backend not in ("offline", "openai"):
        raise fail(f"unknown backend {backend!r}: use offline or openai")


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """An evaluation or settings error is one red line, never a traceback: exit 2 for bad input (the
    file, a sample, an option, a setting), 1 when the run itself failed."""
    from whisper_assets.core.settings import SettingsError
    from whisper_assets.interfaces.evaluation.samples import EvalError, EvalInputError

    try:
        yield
    except (EvalError, SettingsError) as exc:
        raise fail(str(exc), 2 if isinstance(exc, (EvalInputError, SettingsError)) else 1) from None


def _locomo_lines(h: dict[str, Any]) -> str:
    from whisper_assets.interfaces.evaluation.report import fmt

    return (
        f"facts: precision {fmt(h['fact_precision'])} (at 0.70: {fmt(h['fact_precision@0.70'])}), "
        f"recall {fmt(h['fact_recall'])}, F1 {fmt(h['fact_f1'])} ({h['predicted_facts']} predicted, "
        f"{h['gold_facts']} gold, {fmt(h['facts_per_100_turns'], 1)} per 100 turns)\n"
        f"summaries: ROUGE-L F1 {fmt(h['summary_rouge_l_f1'])}, cosine {fmt(h['summary_cosine'])}\n"
        f"retrieval (categories 1-4, {h['questions']} questions): strict evidence recall@10 "
        f"{fmt(h['evidence_recall@10'])} at the session date, {fmt(h['evidence_recall@10_after_conversation'])} "
        f"after the conversation (@5: {fmt(h['evidence_recall@5'])}); chance: latest summaries "
        f"{fmt(h['baseline_latest_summaries_strict@10'])}, random items {fmt(h['baseline_random_strict@10'])}; "
        f"loose (old) evidence recall@5 {fmt(h['loose_evidence_recall@5'])}, @10 "
        f"{fmt(h['loose_evidence_recall@10'])} (after the conversation "
        f"{fmt(h['loose_evidence_recall@10_after_conversation'])})"
    )


@eval_app.command("locomo")
def locomo_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="LoCoMo-format JSON (a list of samples)."),
    samples: Optional[str] = typer.Option(None, "--samples", help="Comma-separated sample ids, e.g. conv-26,conv-30 "
                                          "(default: every sample in the file)."),
    backend: str = _BACKEND,
    out: Path = typer.Option(..., "--out", file_okay=False, help="Directory for locomo.json, locomo.md, locomo.png."),
    threshold: Optional[float] = _THRESHOLD,
) -> None:
    """Run the whole pipeline on LoCoMo data in a temporary workspace and write a report.

    The workspace is a temporary WHISPER_DATA_DIR (own embedded Qdrant) and a scratch database on
    DATABASE_URL's server (created and dropped), or an embedded PostgreSQL when DATABASE_URL is unset.
    """
    from whisper_assets.core.settings import load_settings
    from whisper_assets.interfaces.evaluation.facts import DEFAULT_THRESHOLD
    from whisper_assets.interfaces.evaluation.locomo import evaluate
    from whisper_assets.interfaces.evaluation.report import fmt, headline, write_report

    _check_backend(backend)
    ids = [s.strip() for s in samples.split(",") if s.strip()] if samples else None
    with _one_line_errors(), stores_not_opened():  # a workspace of its own: no notice about the default stores
        settings = load_settings()
        with console.status("evaluating") as status:
            result = evaluate(file, ids, settings=settings, backend=backend,
                              threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                              progress=lambda msg: status.update(msg))
    paths = write_report(result, out)
    h = headline(result)
    console.print(f"{_locomo_lines(h)}\n{fmt(h['seconds'], 1)} s; report: {paths['markdown']}, {paths['json']}, "
                  f"{paths['plot']}", highlight=False)


@eval_app.command("spc")
def spc_cmd(
    file: Path = typer.Argument(..., help="Synthetic-Persona-Chat CSV (e.g. the validation split)."),
    conversations: Optional[int] = _CONVERSATIONS,
    seed: Optional[int] = _SEED,
    backend: str = _BACKEND,
    out: Path = typer.Option(..., "--out", file_okay=False, help="Directory for spc.json and spc.md."),
    threshold: Optional[float] = _THRESHOLD,
) -> None:
    """Run the whole pipeline on Synthetic-Persona-Chat conversations (each one bot on one day) and
    score the facts against the persona sentences (see interfaces/evaluation/spc.py)."""
    import json

    from whisper_assets.core.settings import load_settings
    from whisper_assets.interfaces.evaluation import spc
    from whisper_assets.interfaces.evaluation.combined import spc_markdown
    from whisper_assets.interfaces.evaluation.report import fmt
    from whisper_assets.interfaces.evaluation.spc_run import evaluate_spc

    _check_backend(backend)
    with _one_line_errors(), stores_not_opened():  # a workspace of its own: no notice about the default stores
        settings = load_settings()
        with console.status("evaluating") as status:
            result = evaluate_spc(file, conversations or spc.DEFAULT_CONVERSATIONS, settings=settings,
                                  seed=spc.DEFAULT_SEED if seed is None else seed, backend=backend,
                                  threshold=spc.DEFAULT_THRESHOLD if threshold is None else threshold,
                                  progress=lambda msg: status.update(msg))
    out.mkdir(parents=True, exist_ok=True)
    (out / "spc.json").write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n",
                                  encoding="utf-8")
    (out / "spc.md").write_text(spc_markdown(result), encoding="utf-8")
    h = result["facts"]["overall"]
    console.print(
        f"SPC facts ({h['conversations']} conversations, {h['turns']} turns): precision {fmt(h['fact_precision'])} "
        f"(at 0.70: {fmt(h['fact_precision@0.70'])}; a lower bound), recall of expressed persona sentences "
        f"{fmt(h['fact_recall'])}, F1 {fmt(h['fact_f1'])} ({h['predicted_facts']} predicted, "
        f"{h['expressed_persona_sentences']} of {h['persona_sentences']} persona sentences expressed, "
        f"{fmt(h['facts_per_100_turns'], 1)} facts per 100 turns)\n"
        f"{fmt(result['run']['timings_s']['total'], 1)} s; report: {out / 'spc.md'}, {out / 'spc.json'}",
        highlight=False,
    )


@eval_app.command("all")
def all_cmd(
    locomo: Path = typer.Option(..., "--locomo", help="LoCoMo-format JSON (the dev conversations)."),
    spc_file: Path = typer.Option(..., "--spc", help="Synthetic-Persona-Chat CSV."),
    samples: Optional[str] = typer.Option(None, "--samples", help="Comma-separated LoCoMo sample ids (default: all)."),
    conversations: Optional[int] = _CONVERSATIONS,
    seed: Optional[int] = _SEED,
    backend: str = _BACKEND,
    out: Path = typer.Option(..., "--out", file_okay=False, help="Directory for eval.md/json, locomo.*, spc.*."),
    threshold: Optional[float] = _THRESHOLD,
) -> None:
    """Both development sets through the whole pipeline, reported side by side with the
    generalisation gap (LoCoMo dev minus SPC) of the fact metrics."""
    from whisper_assets.core.settings import load_settings
    from whisper_assets.interfaces.evaluation import spc
    from whisper_assets.interfaces.evaluation.combined import evaluate_all, summary_lines, write_combined
    from whisper_assets.interfaces.evaluation.samples import EvalInputError

    _check_backend(backend)
    ids = [s.strip() for s in samples.split(",") if s.strip()] if samples else None
    with _one_line_errors(), stores_not_opened():  # a workspace of its own: no notice about the default stores
        if not locomo.is_file():
            raise EvalInputError(f"{locomo}: no such file")
        settings = load_settings()
        with console.status("evaluating") as status:
            result = evaluate_all(locomo, spc_file, settings=settings, samples=ids,
                                  conversations=conversations or spc.DEFAULT_CONVERSATIONS,
                                  seed=spc.DEFAULT_SEED if seed is None else seed, backend=backend,
                                  threshold=spc.DEFAULT_THRESHOLD if threshold is None else threshold,
                                  progress=lambda msg: status.update(msg))
    paths = write_combined(result, out)
    console.print("\n".join(summary_lines(result)) + f"\nreport: {paths['eval_markdown']} (details: "
                  f"{paths['markdown']}, {paths['spc_markdown']})", highlight=False)
