"""The one place that wires assets, jobs, sensors, schedules and resources together."""

import dagster as dg

from whisper_assets.defs.assets import ASSETS, CHECKS
from whisper_assets.defs.automation import JOBS, SCHEDULES, SENSORS
from whisper_assets.defs.resources import LLMResource, StoresResource
from whisper_assets.defs.io_manager import PostgresPartitionIOManager


def build_resources(stores: StoresResource | None = None, llm: LLMResource | None = None) -> dict:
    stores = stores or StoresResource()
    return {
        "stores": stores,
        "llm": llm or LLMResource(),
        "postgres_io": PostgresPartitionIOManager(stores=stores),
    }


defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=JOBS,
    sensors=SENSORS,
    schedules=SCHEDULES,
    resources=build_resources(),
    # The multiprocess executor adds ~6 s per run and fights over the single-process embedded store.
    executor=dg.in_process_executor,
)
