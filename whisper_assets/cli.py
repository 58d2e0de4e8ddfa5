"""`whisper-assets`: the command line. Thin: every command calls plain functions."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from whisper_assets.settings import Settings, SettingsError, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Memory enrichment for chat bots.")
db_app = typer.Typer(no_args_is_help=True, help="PostgreSQL schema.")
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


def sample_corpus_path() -> Path:
    return Path(str(resources.files("whisper_assets") / "data" / "sample_corpus.jsonl"))


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending SQL migrations (idempotent; safe to run from several processes at once)."""
    from whisper_assets.stores.postgres import get_engine, upgrade

    applied = upgrade(get_engine(_settings()))
    console.print(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}")


def _ingest(path: Path, fmt: str, settings: Settings) -> int:
    from whisper_assets.ingest import ingest, parse_file

    records = list(parse_file(path, fmt))  # type: ignore[arg-type]
    with Progress(
        TextColumn("[bold]ingest[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(path.name, total=sum(r.item is not None for r in records))
        report = ingest(records, settings, on_progress=lambda n: progress.advance(task, n))
    for where, reason in report.errors:
        err.print(f"[yellow]skipped[/yellow] {path.name} {where}: {reason}")
    console.print(
        f"{path.name}: {report.records} records, {report.stored} stored, {len(report.errors)} skipped"
    )
    return len(report.errors)


@app.command("ingest")
def ingest_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="JSONL or LoCoMo JSON."),
    fmt: str = typer.Option("auto", "--format", help="auto | jsonl | locomo"),
) -> None:
    """Store messages from a file through the hot path (bad records are reported and skipped)."""
    if fmt not in ("auto", "jsonl", "locomo"):
        err.print(f"[red]error:[/red] unknown format {fmt!r}: use auto, jsonl or locomo")
        raise typer.Exit(2)
    _ingest(file, fmt, _settings())


def _print_status(settings: Settings, bot: str | None) -> None:
    from whisper_assets.stores.qdrant import open_store

    with open_store(settings) as store:
        rows = store.status_by_day(bot)
    table = Table("bot", "day", "pending", "completed", title="messages by enrichment status")
    for row in rows:
        table.add_row(row.bot_name, row.day, str(row.pending), str(row.completed))
    console.print(table)
    console.print(
        f"{sum(r.pending for r in rows)} pending, {sum(r.completed for r in rows)} completed "
        f"in {len(rows)} bot-day(s)"
    )


@app.command("status")
def status_cmd(bot: Optional[str] = typer.Option(None, help="Only this bot.")) -> None:
    """Pending and completed message counts per bot and day."""
    _print_status(_settings(), bot)


@app.command("demo")
def demo_cmd() -> None:
    """Ingest the shipped sample corpus into the embedded stores and show what is pending."""
    settings = _settings()
    _ingest(sample_corpus_path(), "jsonl", settings)
    _print_status(settings, None)


def main() -> None:  # pragma: no cover
    sys.exit(app())
