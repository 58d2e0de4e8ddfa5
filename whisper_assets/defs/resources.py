"""Dagster resources. Settings come from the environment (settings.py); fields here only override.

Secrets never enter Dagster config: the API key is read from OPENAI_API_KEY by the settings.
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, Optional

import dagster as dg
from sqlalchemy.engine import Engine

from whisper_assets.core.embedding import Embedder, get_embedder
from whisper_assets.stores.run_transaction import RunTransaction
from whisper_assets.core.llm.backend import EnrichmentBackend, RateLimiter
from whisper_assets.core.settings import Settings, load_settings
from whisper_assets.stores.postgres import get_engine
from whisper_assets.stores.qdrant import MessageStore, open_store


# The open transaction of each run in this process (the in-process executor runs every step of a
# run here). Nested copies of StoresResource (the IO manager's) find the same one by run id.
_RUN_TRANSACTIONS: dict[str, RunTransaction] = {}


class StoresResource(dg.ConfigurableResource):
    """Qdrant, Postgres and the embedding model, as the settings configure them; and each run's
    Postgres transaction, committed by the run's last asset or, when the run's selection stops
    earlier, at the end of a run whose steps all succeeded (else rolled back: nothing half-written)."""

    data_dir: Optional[str] = None
    database_url: Optional[str] = None
    qdrant_url: Optional[str] = None
    qdrant_path: Optional[str] = None

    @classmethod
    def from_settings(cls, settings: Settings) -> StoresResource:
        """Exactly the stores of `settings` (for runs launched in this process: the CLI, the
        evaluation). "" means "none" (the settings read it as unset), so an embedded store stays
        embedded even when DATABASE_URL or QDRANT_URL is set in the environment. Config of in-process
        runs is not persisted by the instance (checked: a DATABASE_URL password is nowhere in it)."""
        return cls(
            data_dir=str(settings.data_dir), database_url=settings.database_url or "",
            qdrant_url=settings.qdrant_url or "", qdrant_path=str(settings.resolved_qdrant_path),
        )

    def settings(self) -> Settings:
        overrides = {k: v for k, v in self.model_dump().items() if v is not None}
        return load_settings(**overrides)

    def engine(self) -> Engine:
        return get_engine(self.settings())

    @contextlib.contextmanager
    def open_store(self, lock_timeout_s: float = 300.0) -> Iterator[MessageStore]:
        """Hold this only around store calls: the embedded store excludes other processes."""
        with open_store(self.settings(), lock_timeout_s) as store:
            yield store

    def embedder(self) -> Embedder:
        return get_embedder(self.settings().torch_threads)

    def run_transaction(self, run_id: str, bots: Iterable[str] = ()) -> RunTransaction:
        """This run's transaction (begun on first use), holding the locks of `bots`."""
        tx = _RUN_TRANSACTIONS.get(run_id)
        if tx is None or not tx.open:
            tx = _RUN_TRANSACTIONS[run_id] = RunTransaction(self.engine(), run_id)
        tx.lock(bots)
        return tx

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        run_id = context.run_id
        tx = _RUN_TRANSACTIONS.pop(run_id, None) if run_id else None
        if tx is None:
            return
        if tx.open and not _run_failed(context.instance, run_id):
            tx.commit()
        else:
            tx.close()


def _run_failed(instance: dg.DagsterInstance | None, run_id: str) -> bool:
    if instance is None:
        return True
    failures = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE, limit=1).records
    return bool(failures)


class LLMResource(dg.ConfigurableResource):
    """The enrichment LLM: the offline backend, or any OpenAI-compatible endpoint via `openai.OpenAI`."""

    backend: Optional[str] = None  # "offline" | "openai"; default WHISPER_LLM_BACKEND
    base_url: Optional[str] = None
    model: Optional[str] = None
    concurrency: Optional[int] = None
    requests_per_minute: Optional[int] = None
    timeout_s: Optional[float] = None
    max_retries: Optional[int] = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMResource:
        """The LLM as `settings` configure it; the API key stays out of Dagster config (read from
        OPENAI_API_KEY by the settings, as in production)."""
        return cls(
            backend=settings.llm_backend, base_url=settings.openai_base_url, model=settings.llm_model,
            concurrency=settings.llm_concurrency, requests_per_minute=settings.llm_requests_per_minute,
            timeout_s=settings.llm_timeout_s, max_retries=settings.llm_max_retries,
        )

    def resolved(self) -> Settings:
        overrides = {
            "llm_backend": self.backend, "openai_base_url": self.base_url, "llm_model": self.model,
            "llm_concurrency": self.concurrency, "llm_requests_per_minute": self.requests_per_minute,
            "llm_timeout_s": self.timeout_s, "llm_max_retries": self.max_retries,
        }
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})

    def get_backend(self) -> EnrichmentBackend:
        s = self.resolved()
        if s.llm_backend == "offline":
            from whisper_assets.core.llm.offline import OfflineBackend

            return OfflineBackend()
        from whisper_assets.core.llm.openai_backend import LLMNotConfiguredError, OpenAIBackend, openai_client

        try:
            client = openai_client(s)
        except LLMNotConfiguredError as exc:
            raise dg.Failure(str(exc)) from None
        return OpenAIBackend(client, s.llm_model, s.llm_price(s.llm_model), RateLimiter(s.llm_requests_per_minute))

    def concurrency_limit(self) -> int:
        return self.resolved().llm_concurrency
