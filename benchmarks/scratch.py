"""A throwaway workspace for the benchmarks: a fresh database on the local PostgreSQL and a
temporary data directory, both removed afterwards."""

import contextlib
import shutil
import tempfile
import uuid
from typing import Iterator

import sqlalchemy as sa

from whisper_assets.stores.postgres import dispose_engines

ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def scratch_workspace(prefix: str) -> Iterator[tuple[str, str]]:
    """Yields (database_url, data_dir); the database is migrated on first use (get_engine)."""
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    db = f"whisper_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        yield ADMIN.rsplit("/", 1)[0] + "/" + db, tmp
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
