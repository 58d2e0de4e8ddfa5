"""The evaluation's temporary workspace: its own embedded Qdrant and its own Postgres, described by
one Settings object that is handed to everything the evaluation runs (nothing reads the process
environment for the workspace, nothing writes to it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from whisper_assets.core.settings import Settings
from whisper_assets.interfaces.evaluation.samples import EvalError


@dataclass
class Workspace:
    settings: Settings  # the stores of the workspace; everything else as the settings handed in
    postgres: str  # "scratch database <name> on <host>:<port>" | "a temporary embedded PostgreSQL" | ...
    data_dir: Path


def workspace_settings(settings: Settings, data_dir: Path, database_url: str | None) -> Settings:
    """`settings` with the workspace's stores: the embedded Qdrant under `data_dir` (a Qdrant
    server, its key and a Qdrant path are dropped: the evaluation never writes to a shared Qdrant)
    and the given database (None: an embedded PostgreSQL under `data_dir`)."""
    return settings.model_copy(update={
        "data_dir": data_dir, "database_url": database_url,
        "qdrant_url": None, "qdrant_api_key": None, "qdrant_path": None,
    })


def _temp_root() -> Path:
    """tmpfs when there is one: the embedded Qdrant flushes on every close (several per run)."""
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="whisper-eval-", dir=base))


@contextlib.contextmanager
def temporary_workspace(settings: Settings, scratch: bool = True) -> Iterator[Workspace]:
    """A fresh data directory (own embedded Qdrant) and a fresh Postgres, both removed afterwards.

    With `settings.database_url`, a scratch database `whisper_eval_<hex>` is created on that server
    and dropped at the end; without one, an embedded PostgreSQL runs under the temporary data
    directory and is stopped. With `scratch=False` the database at `settings.database_url` is used
    as it is (migrated, never dropped: a test's own database). The Qdrant of `settings` is ignored:
    the workspace always has its own embedded one.
    """
    from whisper_assets.stores.postgres import (
        ScratchDatabaseError,
        get_engine,
        scratch_database,
        stop_embedded_postgres,
    )

    url = settings.database_url
    root = _temp_root()
    data_dir = root / "whisper"
    try:
        with contextlib.ExitStack() as stack:
            if url and not scratch:
                db_url, where = url, "the given database"
            elif url:
                try:
                    db_url, where = stack.enter_context(scratch_database(url, "whisper_eval_"))
                except ScratchDatabaseError as exc:
                    raise EvalError(f"cannot create a scratch database on DATABASE_URL's server {exc}") from None
            else:
                db_url, where = None, "a temporary embedded PostgreSQL"
            ws_settings = workspace_settings(settings, data_dir, db_url)
            engine = get_engine(ws_settings)  # migrated on first use
            try:
                yield Workspace(ws_settings, where, data_dir)
            finally:
                engine.dispose()
                if db_url is None:
                    stop_embedded_postgres(ws_settings.pgdata_path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
