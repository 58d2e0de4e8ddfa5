"""The one persistent Dagster instance (ARCHITECTURE.md, invariant 9).

DAGSTER_HOME when it is set (the service: deploy/), else `$WHISPER_DATA_DIR/dagster`, with
SQLite storage under it. `whisper-assets dev` starts `dagster dev` on it and every CLI command that
materializes runs in it, so the UI shows CLI runs and history survives restarts. SQLite rather than
the embedded PostgreSQL: a Dagster process must reach its storage before anything could start the
embedded server, and SQLite measured faster per run here (MEASUREMENTS.md: 546 vs 771 ms).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import dagster as dg
from filelock import FileLock

from whisper_assets.core.settings import Settings

MANAGED_MARK = "# whisper-assets:"


def instance_template() -> str:
    return (resources.files("whisper_assets.defs") / "dagster.yaml").read_text()


def dagster_home(settings: Settings) -> Path:
    home = os.environ.get("DAGSTER_HOME")
    return Path(home).expanduser().resolve() if home else (settings.data_dir / "dagster").resolve()


def prepare_home(settings: Settings) -> Path:
    """Create the default instance directory and keep its dagster.yaml current; a DAGSTER_HOME
    chosen by the user, or a dagster.yaml the user wrote (without our first line), is left alone."""
    home = dagster_home(settings)
    if os.environ.get("DAGSTER_HOME"):
        return home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    template = instance_template()
    current = config.read_text() if config.exists() else None
    if current is None or (current.startswith(MANAGED_MARK) and current != template):
        config.write_text(template)
    return home


def persistent_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance `dagster dev` (started by `whisper-assets dev`) and the daemon use.

    Opened under a file lock: Dagster's SQLite storage creates its tables on first open, which
    two processes doing at once (two CLI runs on a new data dir) makes fail."""
    home = prepare_home(settings)
    with FileLock(str(home / ".instance.lock")):
        if os.environ.get("DAGSTER_HOME"):
            return dg.DagsterInstance.get()
        return dg.DagsterInstance.from_config(str(home))


def is_temporary(instance: dg.DagsterInstance) -> bool:
    """`dagster dev` without DAGSTER_HOME keeps its instance in a folder it deletes on exit."""
    root = instance.root_directory if instance.is_persistent else ""
    return not instance.is_persistent or ".tmp_dagster_home_" in str(root)
