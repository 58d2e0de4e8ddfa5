"""The Dagster definitions load as Dagster loads them and validate; what they serve (assets, checks,
jobs, sensors, schedules, resources) matches the checked-in snapshot; settings are read when the
definitions load, never on import.

After an intended change, accept the new snapshot with
    UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest -q whisper_assets_tests/test_definitions.py
and review the diff of whisper_assets_tests/definitions_snapshot.json in the commit.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from whisper_assets.core.enrichment.scheduling import SensorConfig
from whisper_assets.core.settings import load_settings
from whisper_assets.definitions import defs
from whisper_assets.defs.definitions import build_definitions
from whisper_assets.defs.sensors import SENSOR_NAME

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def default_env(tmp_path, monkeypatch) -> None:
    """No WHISPER_* setting from the caller's shell: the snapshot holds the default settings."""
    for var in list(os.environ):
        if var.startswith("WHISPER_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "whisper"))


def _partitions(pdef: Any) -> Any:
    if pdef is None:
        return None
    if isinstance(pdef, dg.MultiPartitionsDefinition):
        return {dim.name: _partitions(dim.partitions_def) for dim in pdef.partitions_defs}
    if isinstance(pdef, dg.DynamicPartitionsDefinition):
        return f"dynamic {pdef.name}"
    if isinstance(pdef, dg.TimeWindowPartitionsDefinition):
        return f"{pdef.cron_schedule} from {pdef.start.date()} {pdef.timezone}, end_offset {pdef.end_offset}"
    return type(pdef).__name__


def _about(description: str | None, metadata: Any) -> dict[str, Any]:
    """What a newcomer reads in the UI: the description and where the code is (file, repo-relative;
    line numbers left out so that an edit above a definition does not change the snapshot)."""
    refs = metadata.get("dagster/code_references")
    files = sorted({str(Path(r.file_path).resolve().relative_to(ROOT)) for r in refs.code_references}) if refs else []
    return {"description": description, "code": files}


def _columns(schema: Any) -> list[str] | None:
    return None if schema is None else [f"{c.name} {c.type}" for c in schema.columns]


def describe(definitions: dg.Definitions) -> dict[str, Any]:
    """What the definitions serve, as plain sorted data (the snapshot's shape)."""
    graph = definitions.resolve_asset_graph()
    assets = {}
    for spec in sorted(definitions.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string()):
        policy = definitions.resolve_assets_def(spec.key).backfill_policy
        assets[spec.key.to_user_string()] = {
            "group": spec.group_name,
            "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
            "partitions": _partitions(spec.partitions_def),
            "backfill_policy": None if policy is None else
            f"{policy.policy_type.value} max {policy.max_partitions_per_run}",
            **_about(spec.description, spec.metadata),
            "owners": sorted(spec.owners),
            "kinds": sorted(spec.kinds),
            "columns": _columns(spec.metadata.get("dagster/column_schema")),
        }
    checks = {}
    for key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        spec = graph.get_check_spec(key)
        checks[f"{key.asset_key.to_user_string()}:{key.name}"] = {
            "blocking": spec.blocking, **_about(spec.description, spec.metadata), "owner": spec.metadata.get("owner")}
    jobs = {
        job.name: {
            "executor": job.executor_def.name,
            "partitions": _partitions(job.partitions_def),
            "steps": sorted(job.graph.node_names()),
            "tags": dict(sorted(job.tags.items())),
        }
        for job in sorted(definitions.resolve_all_job_defs(), key=lambda j: j.name)
        if not job.name.startswith("__")  # Dagster's implicit asset job
    }
    repo = definitions.get_repository_def()
    sensors = {
        s.name: {"job": s.job_name, "minimum_interval_seconds": s.minimum_interval_seconds,
                 "default_status": s.default_status.value}
        for s in sorted(repo.sensor_defs, key=lambda s: s.name)
    }
    schedules = {
        s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone,
                 "default_status": s.default_status.value}
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    }
    return {"assets": assets, "asset_checks": checks, "jobs": jobs, "sensors": sensors, "schedules": schedules,
            "resources": sorted(repo.get_top_level_resources())}


def snapshot_diff(actual: dict[str, Any], path: Path) -> str:
    """'' when `path` holds `actual`, else a unified diff (expected -> actual) saying how to accept it."""
    text = json.dumps(actual, indent=2, sort_keys=True) + "\n"
    expected = path.read_text() if path.exists() else ""
    if text == expected:
        return ""
    diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                        f"{path.name} (checked in)", f"{path.name} (the definitions now)"))
    return (f"the definitions changed:\n{diff}\nIf intended, accept it: UPDATE_SNAPSHOT=1 .venv/bin/python -m "
            f"pytest -q whisper_assets_tests/test_definitions.py, and commit {path.name}.")


def test_definitions_load_as_dagster_loads_them_and_validate(default_env):
    loaded = defs()  # the @dg.definitions entry point: dagster dev -m, workspace.yaml, run workers
    assert isinstance(loaded, dg.Definitions)
    dg.Definitions.validate_loadable(loaded)


def test_definitions_match_the_snapshot(default_env):
    actual = describe(defs())
    if os.environ.get("UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
        pytest.skip(f"snapshot written to {SNAPSHOT}")
    diff = snapshot_diff(actual, SNAPSHOT)
    assert not diff, diff


def test_the_snapshot_check_fails_on_a_change(default_env, tmp_path):
    # The comparison is live: one changed interval in the checked-in snapshot is a readable failure.
    actual = describe(defs())
    changed = json.loads(SNAPSHOT.read_text())
    changed["sensors"][SENSOR_NAME]["minimum_interval_seconds"] += 1
    path = tmp_path / SNAPSHOT.name
    path.write_text(json.dumps(changed, indent=2, sort_keys=True) + "\n")
    diff = snapshot_diff(actual, path)
    assert '-      "minimum_interval_seconds": ' in diff and '+      "minimum_interval_seconds": ' in diff
    assert "UPDATE_SNAPSHOT=1" in diff


def test_the_sensor_is_built_from_the_settings_the_definitions_load(tmp_path):
    settings = load_settings(data_dir=tmp_path, sensor_interval_s=7, sensor_debounce_s=30, sensor_pile_up=5,
                             sensor_retry_s=10, fast_track_users=["vip"])
    sensor = build_definitions(settings).resolve_sensor_def(SENSOR_NAME)
    assert sensor.minimum_interval_seconds == 7
    # A retry never comes sooner than the debounce.
    assert SensorConfig.from_settings(settings) == SensorConfig(30, 5, 30, frozenset({"vip"}))
    assert SensorConfig.from_settings(settings.model_copy(update={"sensor_retry_s": 90})).retry_s == 90


def test_importing_the_definitions_reads_no_settings(tmp_path):
    """An invalid setting breaks loading the definitions, with its name, but never an import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHISPER_")}
    env.update(WHISPER_DATA_DIR=str(tmp_path), WHISPER_SENSOR_INTERVAL_S="0")
    code = ("import whisper_assets.definitions as d, whisper_assets.defs.runs, whisper_assets.defs.sensors\n"
            "from whisper_assets.core.settings import SettingsError\n"
            "try:\n    d.defs()\nexcept SettingsError as e:\n    print('load:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "load: invalid settings: WHISPER_SENSOR_INTERVAL_S" in out.stdout


def test_dagster_cli_validates_the_code_location(tmp_path):
    """What `dagster dev -m whisper_assets.definitions` (`whisper-assets dev`) loads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHISPER_", "DAGSTER_HOME"))}
    env.update(WHISPER_DATA_DIR=str(tmp_path / "whisper"), DAGSTER_HOME=str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    out = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m",
                          "whisper_assets.definitions"], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_code_location_keeps_its_name():
    """The instance keys schedule and sensor states (an operator's paused prune schedule) and the
    sensor's cursor by the code location's name, the module's: every way of loading it names the
    same module, the one earlier releases served."""
    import tomllib

    import yaml

    location = "whisper_assets.definitions"
    assert yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"][0]["python_module"][
        "module_name"] == location
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"] == location
    assert f'"-m", "{location}"' in (ROOT / "whisper_assets/interfaces/cli/app.py").read_text()


@pytest.mark.parametrize("backend", ["offline", "openai"])
def test_the_llm_kind_is_the_configured_backend(default_env, backend):
    """The UI's kinds of the LLM-written assets name WHISPER_LLM_BACKEND's backend, not always OpenAI."""
    graph = build_definitions(load_settings(llm_backend=backend)).resolve_asset_graph()
    kinds = {str(key.to_user_string()): graph.get(key).kinds for key in graph.get_all_asset_keys()}
    assert kinds["extracted_facts"] == kinds["windowed_summaries"] == {"postgres", backend}
    assert all({"offline", "openai"}.isdisjoint(k) for name, k in kinds.items()
               if name not in ("extracted_facts", "windowed_summaries"))
