"""Health checks that read the Dagster instance: the daemon's heartbeats and failed runs.

Plain functions of an instance and a time, returning memory.health's `Check`; the CLI
(`whisper-assets health`) opens the instance and prints them with the store checks.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
from dagster._daemon.controller import DEFAULT_HEARTBEAT_INTERVAL_SECONDS

from whisper_assets.memory.health import Check

# A daemon thread beats every 30 s; three missed beats mean it is gone (Dagster's own UI waits 30 min).
HEARTBEAT_MAX_AGE_S = DEFAULT_HEARTBEAT_INTERVAL_SECONDS + 90
FAILED_RUNS_WINDOW = timedelta(days=1)


def check_daemon(instance: dg.DagsterInstance, now: datetime | None = None) -> Check:
    """Every daemon this instance needs (sensors, schedules, run queue, backfills, ...) beat recently."""
    now_s = (now or datetime.now(timezone.utc)).timestamp()
    required = sorted(instance.get_required_daemon_types())
    beats = instance.get_daemon_heartbeats()
    ages = {t: round(max(0.0, now_s - beats[t].timestamp), 1) for t in required if t in beats}
    missing = [t for t in required if t not in beats]
    stale = [t for t, age in ages.items() if age > HEARTBEAT_MAX_AGE_S]
    details = {"daemons": len(required), "oldest_heartbeat_s": max(ages.values(), default=None),
               "max_age_s": HEARTBEAT_MAX_AGE_S}
    if missing and not ages:
        return Check("daemon", "fail", "no daemon heartbeat in this instance: is `dagster-daemon run` "
                     "(or `whisper-assets dev`) running on it?", details)
    if missing or stale:
        names = ", ".join(missing + stale)
        return Check("daemon", "fail", f"no heartbeat within {HEARTBEAT_MAX_AGE_S:.0f} s from: {names}", details)
    return Check("daemon", "ok", f"{len(required)} daemons beating; the oldest beat "
                 f"{max(ages.values(), default=0):.0f} s ago", details)


def check_failed_runs(instance: dg.DagsterInstance, now: datetime | None = None) -> Check:
    """Runs that failed in the last day (each failed partition stays failed until re-run; the UI shows why)."""
    since = (now or datetime.now(timezone.utc)) - FAILED_RUNS_WINDOW
    failed = instance.get_runs_count(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since))
    details = {"failed": failed, "since": since.isoformat(timespec="seconds")}
    if failed:
        return Check("failed_runs", "fail", f"{failed} run(s) failed in the last 24 h: see Runs in the Dagster UI "
                     "(filter by status Failure)", details)
    return Check("failed_runs", "ok", "no run failed in the last 24 h", details)
