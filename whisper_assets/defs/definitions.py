"""The one place that wires assets, checks, jobs, sensors, schedules, resources and the executor.

Dagster loads `defs` from the code location module `whisper_assets.definitions`, which reads the
Settings once and hands them to `build_definitions`; importing this module reads nothing.

Resources are Dagster config, shown in the UI and rebuilt in each run worker: they hold only explicit
overrides and resolve the rest of the settings from the environment of the process that uses them.
"""

import dagster as dg

from whisper_assets.core.settings import Settings
from whisper_assets.defs.assets import ASSETS, with_llm_kind
from whisper_assets.defs.checks import CHECKS
from whisper_assets.defs.io_manager import PostgresPartitionIOManager
from whisper_assets.defs.jobs import JOBS
from whisper_assets.defs.partitions import with_first_day
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.defs.schedules import SCHEDULES
from whisper_assets.defs.sensors import build_qdrant_pending_sensor


def build_resources(stores: StoresResource | None = None, llm: LLMResource | None = None) -> dict:
    stores = stores or StoresResource()
    return {
        "stores": stores,
        "llm": llm or LLMResource(),
        "postgres_io": PostgresPartitionIOManager(stores=stores),
    }


def build_definitions(
    settings: Settings, stores: StoresResource | None = None, llm: LLMResource | None = None
) -> dg.Definitions:
    """Everything Dagster serves, the sensor built from `settings`; `stores`/`llm` replace the
    default resources (tests, the CLI's in-process runs)."""
    return dg.Definitions(
        # Code references: the UI links each asset to its definition (file and line). The LLM's kind
        # is the configured backend's.
        assets=dg.with_source_code_references(
            with_llm_kind(with_first_day(ASSETS, settings.first_day), settings.llm_backend)),
        asset_checks=CHECKS,
        jobs=JOBS,
        sensors=[build_qdrant_pending_sensor(settings)],
        schedules=SCHEDULES,
        resources=build_resources(stores, llm),
        # For every job (none sets its own): the multiprocess executor adds ~6 s per run and
        # fights over the single-process embedded store.
        executor=dg.in_process_executor,
    )
