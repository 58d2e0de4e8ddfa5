"""Health checks of the stores and the model (`whisper-assets health`, the image's HEALTHCHECK).

Each check is a plain function returning a `Check`: a status (`ok`, `fail`, or `skip` when it does
not apply) and a one-line reason. A check never raises and never reports a secret: passwords in
URLs are masked, and an unexpected error is reduced to its type and first line, masked too.
The Dagster checks (daemon heartbeat, failed runs) live in defs/health.py.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Literal, Sequence

from whisper_assets.core.settings import Settings

Status = Literal["ok", "fail", "skip"]
# Opening the embedded store waits at most this long for a process holding it (a run, the sensor).
STORE_LOCK_TIMEOUT_S = 10.0
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@", re.IGNORECASE)
_PASSWORD_ARG = re.compile(r"(password\s*=\s*)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, **self.details}


def mask_secrets(text: str) -> str:
    """`postgresql://user:secret@host/db` -> `postgresql://user:***@host/db`; `password=x` -> `password=***`."""
    return _PASSWORD_ARG.sub(r"\1***", _URL_PASSWORD.sub(r"\g<scheme>\g<user>:***@", text))


def one_line(exc: BaseException) -> str:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return mask_secrets(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)[:300]


def guarded(name: str, check: Callable[[], Check | Sequence[Check]]) -> list[Check]:
    """Run `check`; an unexpected error becomes a failed check named `name`, in one masked line."""
    try:
        result = check()
    except Exception as exc:  # the report must come out whatever breaks
        return [Check(name, "fail", one_line(exc))]
    return [result] if isinstance(result, Check) else list(result)


def check_postgres(settings: Settings) -> Check:
    """Connect, read the applied migration; DATABASE_URL unset means the embedded server (started if needed)."""
    import sqlalchemy as sa

    from whisper_assets.stores.postgres import connection_failure, database_url, migrations

    url = database_url(settings)
    where = mask_secrets(url) if settings.database_url else "embedded PostgreSQL under WHISPER_DATA_DIR"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 5})
    started = time.monotonic()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            has_table = conn.execute(sa.text("SELECT to_regclass('schema_migrations') IS NOT NULL")).scalar()
            applied = conn.execute(sa.text("SELECT max(version) FROM schema_migrations")).scalar() if has_table else None
    except sa.exc.SQLAlchemyError as exc:
        return Check("postgres", "fail", connection_failure(exc) or one_line(exc), {"url": where})
    finally:
        engine.dispose()
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    latest = migrations()[-1].version
    details = {"url": where, "latency_ms": latency_ms, "migration": applied, "latest_migration": latest}
    if applied is None or applied < latest:
        # Every process migrates on first use; a missing migration means none has run against this database yet.
        return Check("postgres", "ok", f"reachable; migrations pending ({applied or 'none'} < {latest}), "
                     "applied by the first process that uses the database", details)
    return Check("postgres", "ok", f"reachable in {latency_ms} ms, schema at migration {applied}", details)


def check_qdrant_and_pending(settings: Settings, now: datetime | None = None) -> list[Check]:
    """The message store opens and counts; the oldest pending message against WHISPER_FRESHNESS_SLA_S."""
    from whisper_assets.core.enrichment.quality import pending_lag
    from whisper_assets.core.messages import epoch_ms
    from whisper_assets.stores.qdrant import StoreBusyError, open_store

    where = mask_secrets(settings.qdrant_url) if settings.qdrant_url else f"embedded at {settings.resolved_qdrant_path}"
    now = now or datetime.now(timezone.utc)
    started = time.monotonic()
    try:
        with open_store(settings, lock_timeout_s=STORE_LOCK_TIMEOUT_S) as store:
            bots = store.bots()
            lag = pending_lag(store, epoch_ms(now))
    except StoreBusyError:
        busy = f"embedded store held by another process for over {STORE_LOCK_TIMEOUT_S:.0f} s"
        return [Check("qdrant", "fail", busy, {"url": where}),
                Check("pending", "skip", "the message store could not be read")]
    except Exception as exc:
        return [Check("qdrant", "fail", f"cannot open the message store: {one_line(exc)}", {"url": where}),
                Check("pending", "skip", "the message store could not be read")]
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    qdrant = Check("qdrant", "ok", f"opened in {latency_ms} ms, {len(bots)} bot(s)",
                   {"url": where, "latency_ms": latency_ms, "bots": len(bots)})
    return [qdrant, pending_check(lag.pending, lag.age_s, settings.freshness_sla_s)]


def pending_check(pending: int, oldest_age_s: float, sla_s: float) -> Check:
    details = {"pending": pending, "oldest_age_s": round(oldest_age_s, 1), "sla_s": sla_s}
    if not pending:
        return Check("pending", "ok", "no pending messages", details)
    verdict: Status = "ok" if oldest_age_s <= sla_s else "fail"
    word = "within" if verdict == "ok" else "over"
    return Check("pending", verdict, f"{pending} pending; the oldest waited {oldest_age_s:.0f} s, {word} the "
                 f"freshness SLA of {sla_s:.0f} s (WHISPER_FRESHNESS_SLA_S)", details)


def check_model(settings: Settings) -> Check:
    """The embedding model loads from the installed package (no download) and embeds a sentence."""
    import numpy as np

    from whisper_assets.core.embedding import EMBEDDING_DIM, get_embedder

    started = time.monotonic()
    embedder = get_embedder(settings.torch_threads)
    vector = np.asarray(embedder.encode(["health check sentence"]))[0]
    seconds = round(time.monotonic() - started, 2)
    details = {"backend": type(embedder).__name__, "dim": int(vector.shape[0]), "load_and_embed_s": seconds}
    norm = float(np.linalg.norm(vector))
    if vector.shape[0] != EMBEDDING_DIM or not np.isfinite(norm) or abs(norm - 1.0) > 1e-3:
        return Check("model", "fail", f"embedding is {vector.shape[0]}-d with norm {norm:.3f}; expected "
                     f"{EMBEDDING_DIM}-d, unit length", details)
    return Check("model", "ok", f"{type(embedder).__name__} embedded a sentence in {seconds} s", details)


def healthy(checks: Sequence[Check]) -> bool:
    return all(c.status != "fail" for c in checks)
