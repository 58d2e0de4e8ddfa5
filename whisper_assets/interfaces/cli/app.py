"""`whisper-assets`: the command line. Thin: every command calls plain functions."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.markup import escape
from rich.table import Table

from whisper_assets.core.days import latest_day
from whisper_assets.core.messages import InvalidMessageError, validate_bot_name, validate_user_id
from whisper_assets.core.settings import Settings, SettingsError, load_settings
from whisper_assets.interfaces.cli.errors import ErrorReportingGroup, debug_enabled, fail, set_debug

if TYPE_CHECKING:
    from whisper_assets.stores.qdrant import DayStatus, MessageStore

app = typer.Typer(cls=ErrorReportingGroup, no_args_is_help=True, add_completion=False,
                  help="Memory enrichment for chat bots.")
db_app = typer.Typer(no_args_is_help=True, help="PostgreSQL schema.")
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show the traceback of an unexpected error.")) -> None:
    """Memory enrichment for chat bots."""
    set_debug(debug)


def sample_corpus_path() -> Path:
    return Path(str(resources.files("whisper_assets") / "data" / "sample_corpus.jsonl"))


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending SQL migrations (idempotent; safe to run from several processes at once)."""
    import sqlalchemy as sa

    from whisper_assets.stores.postgres import database_url, upgrade

    engine = sa.create_engine(database_url(_settings()), poolclass=sa.pool.NullPool)
    try:
        applied = upgrade(engine)
    finally:
        engine.dispose()
    console.print(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}")


def _ingest(path: Path, fmt: str, settings: Settings) -> int:
    from whisper_assets.memory.ingest import ingest, parse_file

    records = list(parse_file(path, fmt))  # type: ignore[arg-type]
    with Progress(
        TextColumn("[bold]ingest[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(path.name, total=sum(r.item is not None for r in records))
        report = ingest(records, settings, on_progress=lambda n: progress.advance(task, n))
    for where, reason in report.errors:
        err.print(f"[yellow]skipped[/yellow] {escape(path.name)} {escape(where)}: {escape(reason)}",
                  highlight=False, soft_wrap=True)
    console.print(
        f"{path.name}: {report.records} records, {report.stored} stored, {report.unchanged} unchanged "
        f"(already stored with the same content), {report.duplicates} duplicates (same message id "
        f"again in the file), {report.skipped} skipped",
        soft_wrap=True,
    )
    return report.skipped


@app.command("ingest")
def ingest_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="JSONL or LoCoMo JSON."),
    fmt: str = typer.Option("auto", "--format", help="auto | jsonl | locomo"),
) -> None:
    """Store messages from a file through the hot path.

    Bad records are reported with their location and skipped; the good ones are stored, and the
    command then exits 1. Messages already stored with the same content are left as they are."""
    if fmt not in ("auto", "jsonl", "locomo"):
        raise fail(f"unknown format {fmt!r}: use auto, jsonl or locomo")
    if _ingest(file, fmt, _settings()):
        raise typer.Exit(1)


def _check_bot_name(bot: str | None) -> None:
    """An invalid --bot is one `error:` line (exit 2)."""
    if bot is not None:
        try:
            validate_bot_name(bot)
        except InvalidMessageError as exc:
            raise fail(str(exc)) from None


def _bots_and_days(store: MessageStore, bot: str | None) -> tuple[list[str], list[DayStatus]]:
    """The bots the store holds and the day counts of `bot` (every bot when None); a bot it does not
    hold is one `error:` line (exit 2)."""
    known = store.bots()
    if bot is not None and bot not in known:
        raise fail(f"unknown bot {bot!r}: no messages stored for it (known: {', '.join(known) or 'none'})")
    return known, store.status_by_day(bot)


def _print_status(settings: Settings, bot: str | None) -> None:
    from whisper_assets.stores.qdrant import open_store

    from whisper_assets.core.messages import epoch_ms
    from whisper_assets.core.enrichment.quality import pending_lag

    _check_bot_name(bot)
    with open_store(settings) as store:
        _, rows = _bots_and_days(store, bot)
        lag = pending_lag(store, epoch_ms(datetime.now(timezone.utc)))
    table = Table("bot", "day", "pending", "completed", title="messages by enrichment status")
    for row in rows:
        table.add_row(row.bot_name, row.day, str(row.pending), str(row.completed))
    console.print(table)
    console.print(
        f"{sum(r.pending for r in rows)} pending, {sum(r.completed for r in rows)} completed "
        f"in {len(rows)} bot-day(s)"
    )
    if lag.pending:
        verdict = "[green]within[/green]" if lag.within(settings.freshness_sla_s) else "[red]over[/red]"
        console.print(
            f"oldest pending message waited {lag.age_s:.0f} s: {verdict} the freshness SLA of "
            f"{settings.freshness_sla_s:.0f} s (WHISPER_FRESHNESS_SLA_S)"
        )


@app.command("status")
def status_cmd(bot: Optional[str] = typer.Option(None, help="Only this bot.")) -> None:
    """Pending and completed message counts per bot and day."""
    _print_status(_settings(), bot)


def _parse_day(value: str, option: str, first: date) -> date:
    """A day option's value as a day partition that exists, or one `error:` line (exit 2)."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise fail(f"{option} {value!r} is not a date; use YYYY-MM-DD") from None
    latest = latest_day(datetime.now(timezone.utc))
    if day < first:
        raise fail(f"{option} {day} is outside the partitions: it is before the first partition day {first} "
                   "(set by WHISPER_FIRST_DAY)")
    if day > latest:
        raise fail(f"{option} {day} is outside the partitions: it is after the last partition day {latest} "
                   "(tomorrow, UTC)")
    return day


def _day_range(settings: Settings, day: str | None, start: str | None, end: str | None) -> list[date] | None:
    """The days that --day or --from/--to name (None: neither given); a bad value is one `error:` line
    (exit 2), before any store is opened."""
    if day is not None and (start is not None or end is not None):
        raise fail("use either --day or --from/--to, not both")
    if day is not None:
        return [_parse_day(day, "--day", settings.first_day)]
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise fail("--from and --to go together: give both (or --day for one day)")
    first = _parse_day(start, "--from", settings.first_day)
    last = _parse_day(end, "--to", settings.first_day)
    if last < first:
        raise fail(f"--to {last} is before --from {first}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _days_to_enrich(
    settings: Settings, bot: str | None, day: str | None, start: str | None, end: str | None
) -> dict[str, list[date]]:
    """Explicit days for the chosen bots, or else every day that has pending messages."""
    from whisper_assets.stores.qdrant import open_store

    days = _day_range(settings, day, start, end)
    _check_bot_name(bot)
    with open_store(settings) as store:
        known, rows = _bots_and_days(store, bot)
    pending = [r for r in rows if r.pending]
    bots = [bot] if bot else known
    if days is not None:
        return {b: days for b in bots}
    grouped: dict[str, list[date]] = {}
    latest, held = latest_day(datetime.now(timezone.utc)), 0
    for row in pending:
        if date.fromisoformat(row.day) > latest:  # a writer's clock ahead of ours: its day comes later
            held += row.pending
            continue
        grouped.setdefault(row.bot_name, []).append(date.fromisoformat(row.day))
    if held:
        err.print(f"[yellow]held[/yellow]: {held} pending message(s) dated after {latest}, "
                  "whose day partition does not exist yet; enriched once it does")
    return grouped


def _enrich(settings: Settings, days_by_bot: dict[str, list[date]]) -> bool:
    from whisper_assets.defs.resources import StoresResource
    from whisper_assets.defs.runs import materialize_days
    if not days_by_bot:
        console.print("nothing to enrich: no pending messages")
        return True
    from whisper_assets.defs.instance import dagster_home
    from whisper_assets.stores.postgres import get_engine

    with get_engine(settings).connect():  # unreachable: one line (errors.py), before any run starts
        pass
    stores = StoresResource.from_settings(settings)
    n = sum(len(d) for d in days_by_bot.values())
    with console.status(f"enriching {n} bot-day(s) through Dagster"):
        # Failures are reported below, one line each (a failed check with its metric and threshold);
        # Dagster's own log lines (stack traces) only with --debug. Runs keep their logs in the UI.
        outcomes = materialize_days(days_by_bot, stores=stores,
                                    log_level="WARNING" if debug_enabled() else "CRITICAL")
    table = Table("bots", "days", "run", "result", title="enrichment runs",
                  caption=f"in the Dagster instance at {dagster_home(settings)} (shown by `whisper-assets dev`)")
    for o in outcomes:
        table.add_row(", ".join(o.bots), f"{o.first_day} .. {o.last_day}", o.run_id[:8],
                      "[green]success[/green]" if o.success else "[red]failed[/red] (below)")
    console.print(table)
    for o in outcomes:
        for line in ([] if o.success else (o.error or "run failed").split(" | ")):
            err.print(f"[red]run {o.run_id[:8]} failed:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    return all(o.success for o in outcomes)


@app.command("enrich")
def enrich_cmd(
    bot: Optional[str] = typer.Option(None, help="Only this bot (default: every bot)."),
    day: Optional[str] = typer.Option(None, help="One day, YYYY-MM-DD (UTC)."),
    start: Optional[str] = typer.Option(None, "--from", help="First day of a range."),
    end: Optional[str] = typer.Option(None, "--to", help="Last day of a range (inclusive)."),
) -> None:
    """Materialize bot-day partitions in-process (default: every day with pending messages)."""
    settings = _settings()
    if not _enrich(settings, _days_to_enrich(settings, bot, day, start, end)):
        raise typer.Exit(1)


def _print_memories(settings: Settings) -> None:
    from whisper_assets.stores.postgres import get_engine
    from whisper_assets.stores.repository import consolidation, memories

    with get_engine(settings).connect() as conn:
        for bot, user in memories.users_with_memories(conn):
            console.rule(f"[bold]{user}[/bold] with {bot}")
            facts = consolidation.fact_records(conn, bot, user, limit=200, current_only=True)  # most confident first
            by_category: dict[str, list[str]] = {}
            for f in facts:
                by_category.setdefault(f.category, []).append(f"{f.fact} ({f.confidence:.2f})")
            for category in sorted(by_category):
                console.print(f"  [cyan]{category}[/cyan]: " + "; ".join(by_category[category]), highlight=False)
            if not facts:
                console.print("  no facts")
            for s in memories.list_summaries(conn, bot, user):
                console.print(f"  [magenta]{s.day}[/magenta] {s.text}", highlight=False)


@app.command("backfill")
def backfill_cmd(
    bot: Optional[str] = typer.Option(None, help="Only this bot (default: every bot)."),
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (UTC)."),
    end: str = typer.Option(..., "--to", help="Last day (inclusive)."),
) -> None:
    """Re-process every day of a range, pending or not (after a prompt or model change).

    Days are batched into runs of up to 31 days, as the assets' BackfillPolicy does for
    backfills launched from the Dagster UI; with DAGSTER_HOME set the runs show in the UI."""
    settings = _settings()
    if not _enrich(settings, _days_to_enrich(settings, bot, None, start, end)):
        raise typer.Exit(1)


@app.command("forget")
def forget_cmd(
    bot: str = typer.Option(..., help="The bot."),
    user: str = typer.Option(..., help="The user to erase."),
) -> None:
    """Erase one user of one bot everywhere (messages, facts, summaries, vectors) and report counts."""
    from whisper_assets.memory.maintenance import forget_user
    from whisper_assets.stores.postgres import get_engine
    from whisper_assets.stores.qdrant import open_store

    settings = _settings()
    try:
        validate_bot_name(bot)
        validate_user_id(user)
    except InvalidMessageError as exc:
        raise fail(str(exc)) from None
    try:
        report = forget_user(get_engine(settings), lambda: open_store(settings), bot, user)
    except (ValueError, OverflowError) as exc:  # refused by forget_user itself
        raise fail(str(exc)) from None
    _print_report(f"forgot {user} of {bot}", report.flat())


@app.command("prune")
def prune_cmd(
    ttl_days: Optional[int] = typer.Option(None, min=1, help="Keep this many days (default WHISPER_TTL_DAYS)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report what would be deleted."),
) -> None:
    """Delete messages, facts and summaries older than the TTL (default 90 days)."""
    from whisper_assets.memory.maintenance import prune
    from whisper_assets.stores.postgres import get_engine
    from whisper_assets.stores.qdrant import open_store

    settings = _settings()
    ttl = ttl_days or settings.ttl_days
    try:
        datetime.now(timezone.utc) - timedelta(days=ttl)
    except OverflowError:
        raise fail(f"--ttl-days {ttl} reaches before the year 1: use at most "
                   f"{(datetime.now(timezone.utc) - datetime(1, 1, 2, tzinfo=timezone.utc)).days}") from None
    engine = get_engine(settings)
    try:
        with open_store(settings) as store:
            report = prune(engine, store, ttl, dry_run)
    except (ValueError, OverflowError) as exc:  # refused by prune itself
        raise fail(str(exc)) from None
    _print_report(f"{'would delete' if dry_run else 'deleted'} everything before {report.cutoff}", report.flat())


def _print_report(title: str, counts: dict[str, int]) -> None:
    table = Table("where", "rows/points", title=title)
    for where, n in counts.items():
        table.add_row(where, str(n))
    console.print(table)


@app.command("dev", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dev_cmd(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", "-h", help="Address the UI binds to."),
    port: int = typer.Option(3000, "--port", "-p", help="UI port."),
) -> None:
    """`dagster dev` (UI, daemon, sensor, schedules) on the persistent instance: DAGSTER_HOME, by
    default $WHISPER_DATA_DIR/dagster. Extra options go to `dagster dev`."""
    import os
    import signal

    from whisper_assets.defs.instance import persistent_instance, prepare_home

    settings = _settings()
    home = prepare_home(settings)
    persistent_instance(settings).dispose()  # creates the storage under its lock, before Dagster's processes race
    # Dagster stops on SIGTERM as on SIGINT; a shell that started us with `&` ignores SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Children (daemon, code server, run workers) must agree on the stores and the instance.
    env = {**os.environ, "DAGSTER_HOME": str(home), "WHISPER_DATA_DIR": str(settings.data_dir.resolve())}
    console.print(f"Dagster instance: {home}; stores: {env['WHISPER_DATA_DIR']}")
    if not (home / "dagster.yaml").exists():  # a DAGSTER_HOME the user chose, used as it is
        err.print(f"warning: {home} has no dagster.yaml: Dagster's defaults apply (no run queue, no one-run-"
                          "per-bot limit, no retries); copy whisper_assets/defs/dagster.yaml or deploy/dagster.yaml "
                          "there, or unset DAGSTER_HOME", highlight=False, markup=False, soft_wrap=True)
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "whisper_assets.definitions",
           "-h", host, "-p", str(port), *ctx.args]
    os.execvpe(cmd[0], cmd, env)


@app.command("demo")
def demo_cmd() -> None:
    """Ingest the sample corpus, enrich every partition through Dagster, print facts and summaries."""
    settings = _settings()
    _ingest(sample_corpus_path(), "jsonl", settings)
    ok = _enrich(settings, _days_to_enrich(settings, None, None, None, None))
    _print_memories(settings)
    _print_status(settings, None)
    if not ok:
        raise typer.Exit(1)


# Commands that live in their own modules: memory (ask, facts, serve), eval and health.
from whisper_assets.interfaces.cli.eval import eval_app  # noqa: E402
from whisper_assets.interfaces.cli.health import health_cmd  # noqa: E402
from whisper_assets.interfaces.cli.memory import memory_app  # noqa: E402

app.add_typer(memory_app)
app.add_typer(eval_app, name="eval")
app.command("health")(health_cmd)


def main() -> None:  # pragma: no cover
    sys.exit(app())
