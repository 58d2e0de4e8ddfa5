"""`whisper-assets health`: the deployment's health as JSON on stdout; exit 1 when any check fails.

The image's HEALTHCHECK runs it; docker-compose.yml runs a subset per service with `--check`.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Callable, Optional, Sequence

import typer

from whisper_assets.core.settings import Settings, SettingsError, load_settings
from whisper_assets.interfaces.cli.errors import fail
from whisper_assets.memory.health import Check, guarded, healthy

CHECKS = ("postgres", "qdrant", "pending", "model", "daemon", "failed_runs")


def _dagster_checks(settings: Settings, now: datetime, wanted: set[str]) -> list[Check]:
    from whisper_assets.defs.health import check_daemon, check_failed_runs
    from whisper_assets.defs.instance import dagster_home, persistent_instance

    home = dagster_home(settings)
    if not os.environ.get("DAGSTER_HOME") and not (home / "dagster.yaml").exists():
        return [c for c in (
            Check("daemon", "fail", f"no Dagster instance at {home}: start `whisper-assets dev` or set DAGSTER_HOME"),
            Check("failed_runs", "skip", f"no Dagster instance at {home}"),
        ) if c.name in wanted]
    instance = persistent_instance(settings)
    try:
        return [check(instance, now) for name, check in (("daemon", check_daemon), ("failed_runs", check_failed_runs))
                if name in wanted]
    finally:
        instance.dispose()


def run_checks(settings: Settings, wanted: Sequence[str] = CHECKS, now: datetime | None = None) -> list[Check]:
    """The chosen checks, in CHECKS order; none raises (a broken one is a failed check)."""
    from whisper_assets.memory.health import check_model, check_postgres, check_qdrant_and_pending

    now = now or datetime.now(timezone.utc)
    chosen = set(wanted)
    groups: list[tuple[set[str], Callable[[], Check | list[Check]]]] = [
        ({"postgres"}, lambda: check_postgres(settings)),
        ({"qdrant", "pending"}, lambda: check_qdrant_and_pending(settings, now)),
        ({"model"}, lambda: check_model(settings)),
        # Their own clock: heartbeats may arrive while the checks above run.
        ({"daemon", "failed_runs"}, lambda: _dagster_checks(settings, datetime.now(timezone.utc), chosen)),
    ]
    checks: list[Check] = []
    for names, check in groups:
        if names & chosen:
            label = "daemon" if "daemon" in names and "daemon" in chosen else min(names & chosen)
            checks += [c for c in guarded(label, check) if c.name in chosen]
    return sorted(checks, key=lambda c: CHECKS.index(c.name) if c.name in CHECKS else len(CHECKS))


def report(checks: Sequence[Check]) -> dict:
    return {"healthy": healthy(checks), "checks": {c.name: c.as_dict() for c in checks}}


def health_cmd(
    check: Optional[list[str]] = typer.Option(
        None, "--check", help=f"Only these checks (repeatable): {', '.join(CHECKS)}. Default: all."),
) -> None:
    """PostgreSQL, Qdrant, the model, the daemon's heartbeat, the oldest pending message against the
    freshness SLA and failed runs of the last day, as JSON; exit 1 when any is unhealthy."""
    wanted = list(dict.fromkeys(check or CHECKS))
    unknown = [c for c in wanted if c not in CHECKS]
    if unknown:
        raise fail(f"unknown check {unknown[0]!r}: use {', '.join(CHECKS)}")
    try:
        settings = load_settings()
    except SettingsError as exc:
        checks = [Check("settings", "fail", str(exc))]
    else:
        checks = run_checks(settings, wanted)
    typer.echo(json.dumps(report(checks), indent=2, default=str))
    if not healthy(checks):
        raise typer.Exit(1)
