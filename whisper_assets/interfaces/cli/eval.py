"""`whisper-assets eval ...`: evaluation commands (registered in cli.py as the `eval` group)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

eval_app = typer.Typer(no_args_is_help=True, help="Evaluate the pipeline against benchmark data.")
console = Console()
err = Console(stderr=True)


@eval_app.callback()
def _eval() -> None:
    """Evaluate the pipeline against benchmark data."""


@eval_app.command("locomo")
def locomo_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="LoCoMo-format JSON (a list of samples)."),
    samples: Optional[str] = typer.Option(None, "--samples", help="Comma-separated sample ids, e.g. conv-26,conv-30 "
                                          "(default: every sample in the file)."),
    backend: str = typer.Option("offline", "--backend", help="offline | openai"),
    out: Path = typer.Option(..., "--out", file_okay=False, help="Directory for locomo.json, locomo.md, locomo.png."),
    threshold: Optional[float] = typer.Option(None, "--threshold", min=0.01, max=1.0,
                                              help="Fact matching cosine threshold (default: the justified one)."),
) -> None:
    """Run the whole pipeline on LoCoMo data in a temporary workspace and write a report.

    The workspace is a temporary WHISPER_DATA_DIR (own embedded Qdrant) and a scratch database on
    DATABASE_URL's server (created and dropped), or an embedded PostgreSQL when DATABASE_URL is unset.
    """
    from whisper_assets.core.settings import SettingsError, load_settings
    from whisper_assets.interfaces.evaluation.facts import DEFAULT_THRESHOLD
    from whisper_assets.interfaces.evaluation.locomo import evaluate
    from whisper_assets.interfaces.evaluation.report import fmt, headline, write_report
    from whisper_assets.interfaces.evaluation.samples import EvalError

    if backend not in ("offline", "openai"):
        raise typer.BadParameter(f"unknown backend {backend!r}: use offline or openai", param_hint="--backend")
    ids = [s.strip() for s in samples.split(",") if s.strip()] if samples else None
    try:
        settings = load_settings()
        with console.status("evaluating") as status:
            result = evaluate(file, ids, settings=settings, backend=backend,
                              threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                              progress=lambda msg: status.update(msg))
    except (EvalError, SettingsError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    paths = write_report(result, out)
    h = headline(result)
    console.print(
        f"facts: precision {fmt(h['fact_precision'])}, recall {fmt(h['fact_recall'])} "
        f"({h['predicted_facts']} predicted, {h['gold_facts']} gold)\n"
        f"summaries: ROUGE-L F1 {fmt(h['summary_rouge_l_f1'])}, cosine {fmt(h['summary_cosine'])}\n"
        f"retrieval (categories 1-4, {h['questions']} questions): evidence recall@5 {fmt(h['evidence_recall@5'])}, "
        f"@10 {fmt(h['evidence_recall@10'])} (items the question selected: "
        f"{fmt(h['evidence_recall@10_question_selected'])})\n"
        f"{fmt(h['seconds'], 1)} s; report: {paths['markdown']}, {paths['json']}, {paths['plot']}",
        highlight=False,
    )
