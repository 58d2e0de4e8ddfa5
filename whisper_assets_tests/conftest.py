"""Shared fixtures: the real PostgreSQL at 127.0.0.1:5432 and an embedded Qdrant in tmp_path.

Each test gets its own database, cloned from a migrated template made once per session;
everything created here is dropped at the end of the session.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa

from whisper_assets.core.settings import Settings, load_settings
from whisper_assets.stores.postgres import dispose_engines, upgrade

ADMIN_URL = os.environ.get("WHISPER_TEST_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _url_for(db: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + db


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}", pytrace=False)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _created_dbs(pg_admin: sa.Engine) -> Iterator[list[str]]:
    created: list[str] = []
    yield created
    dispose_engines()
    with pg_admin.connect() as conn:
        for name in reversed(created):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _create_db(pg_admin: sa.Engine, created: list[str], template: str | None = None) -> str:
    name = f"whisper_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    created.append(name)
    return name


@pytest.fixture(scope="session")
def _template_db(pg_admin: sa.Engine, _created_dbs: list[str]) -> str:
    name = _create_db(pg_admin, _created_dbs)
    engine = sa.create_engine(_url_for(name), poolclass=sa.pool.NullPool)
    upgrade(engine)
    engine.dispose()
    return name


@pytest.fixture()
def empty_database_url(pg_admin: sa.Engine, _created_dbs: list[str]) -> str:
    """A fresh database with no tables."""
    return _url_for(_create_db(pg_admin, _created_dbs))


@pytest.fixture()
def database_url(pg_admin: sa.Engine, _created_dbs: list[str], _template_db: str) -> str:
    """A fresh, migrated database of this test's own."""
    return _url_for(_create_db(pg_admin, _created_dbs, template=_template_db))


@pytest.fixture()
def settings(tmp_path, database_url: str) -> Settings:
    """Real Postgres (own database), embedded Qdrant under tmp_path, offline LLM."""
    return load_settings(data_dir=tmp_path / "whisper", database_url=database_url)
