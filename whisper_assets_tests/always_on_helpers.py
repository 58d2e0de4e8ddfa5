"""Helpers for test_always_on.py: `whisper-assets dev` (webserver + daemon + code server) and CLI
commands as real subprocesses on one data dir, and the webserver's GraphQL API.

Every subprocess runs `python -m whisper_assets ...` with this interpreter and the test's
environment, so a copy of the package put first on PYTHONPATH (to check that a test fails when the
behaviour is broken) is what they run too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping

from whisper_assets.core.settings import Settings

# Variables of the developer's shell that would point the processes at other stores.
_FOREIGN = ("DAGSTER_HOME", "QDRANT_URL", "QDRANT_API_KEY", "WHISPER_QDRANT_PATH", "DAGSTER_POSTGRES_URL",
            "OPENAI_BASE_URL", "OPENAI_API_KEY", "WHISPER_LLM_BACKEND", "WHISPER_LLM_MODEL")


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of every process of a test: one data dir, one database, quick ticks."""
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    env.update({
        "WHISPER_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": str(settings.database_url),
        "WHISPER_SENSOR_INTERVAL_S": "1",
        "WHISPER_SENSOR_DEBOUNCE_S": "0",
        "WHISPER_LLM_BACKEND": "offline",
        "WHISPER_TORCH_THREADS": "1",  # 2 cores for every process of the test
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    })
    return env


def _default_sigint() -> None:
    # A shell starting pytest in the background ignores SIGINT, and children inherit that; Dagster
    # maps SIGTERM to the SIGINT handler, so an ignored SIGINT would make SIGTERM a no-op.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(env: Mapping[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`whisper-assets ARGS` in a subprocess, to completion; output in .stdout (stderr merged)."""
    return subprocess.run(
        [sys.executable, "-m", "whisper_assets", *args], env=dict(env), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout, preexec_fn=_default_sigint,
    )


def start_cli(env: Mapping[str, str], *args: str, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "whisper_assets", *args], env=dict(env), stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=_default_sigint)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = 80) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no output)"
    return "\n".join(text.splitlines()[-lines:])


class GraphQLError(AssertionError):
    pass


class DevServer:
    """`whisper-assets dev --port P` in its own process group, its output in `log`."""

    def __init__(self, env: Mapping[str, str], log: Path, startup_s: float = 240) -> None:
        self.env, self.log, self.startup_s = dict(env), log, startup_s
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DevServer:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "whisper_assets", "dev", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_default_sigint,
            )
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(self.url + "/server_info", timeout=5) as r:
                    if r.status == 200 and self._repository_loaded():
                        print(f"[dev] serving after {time.monotonic() - deadline + self.startup_s:.1f} s")
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, GraphQLError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"`whisper-assets dev` did not serve within {self.startup_s} s:\n{tail(self.log)}")

    def _repository_loaded(self) -> bool:
        data = self.gql("{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }")
        return bool(data["repositoriesOrError"].get("nodes"))

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"`whisper-assets dev` exited with {self.proc.returncode}:\n{tail(self.log)}")

    def stop(self, grace_s: float = 20) -> None:
        """SIGTERM the whole group (dagster dev, webserver, daemon, code server, run workers);
        SIGKILL what is left after `grace_s`."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _group_alive(proc):
            time.sleep(0.2)
        stopped = not _group_alive(proc)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        print(f"[dev] stopped in {time.monotonic() - deadline + grace_s:.1f} s" + ("" if stopped else " (killed)"))

    def gql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(self.url + "/graphql", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            answer = json.loads(r.read())
        if answer.get("errors"):
            raise GraphQLError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    # -- what the UI shows ------------------------------------------------------------------------

    def runs(self, job: str = "enrichment_job") -> list[dict[str, Any]]:
        data = self.gql(
            """query($job: String) { runsOrError(filter: {pipelineName: $job}) {
                 __typename ... on Runs { results { runId jobName status tags { key value } } }
                 ... on PythonError { message } } }""",
            {"job": job},
        )["runsOrError"]
        assert data["__typename"] == "Runs", data
        return [{**r, "tags": {t["key"]: t["value"] for t in r["tags"]}} for r in data["results"]]

    def partition_keys(self, asset: str = "completed_messages") -> dict[str, list[str]]:
        """The asset's partition keys by dimension: {"bot": [...], "day": [...]}."""
        data = self.gql(
            """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
                 __typename ... on AssetNode { partitionKeysByDimension { name partitionKeys } } } }""",
            {"path": [asset]},
        )["assetNodeOrError"]
        assert data["__typename"] == "AssetNode", data
        return {d["name"]: d["partitionKeys"] for d in data["partitionKeysByDimension"]}

    def materialized_partitions(self, asset: str) -> set[str]:
        """'bot|day' keys the UI shows as materialized (the asset's partition status ranges)."""
        data = self.gql(
            """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
                 __typename ... on AssetNode { assetPartitionStatuses { __typename
                   ... on MultiPartitionStatuses { primaryDimensionName ranges {
                     primaryDimStartKey primaryDimEndKey
                     secondaryDim { __typename ... on DefaultPartitionStatuses { materializedPartitions } }
                   } } } } } }""",
            {"path": [asset]},
        )["assetNodeOrError"]
        statuses = data["assetPartitionStatuses"]
        assert statuses["__typename"] == "MultiPartitionStatuses", statuses
        assert statuses["primaryDimensionName"] == "day", statuses
        keys = set()
        for r in statuses["ranges"]:  # a range of days whose materialized bots are the same
            first, last = date.fromisoformat(r["primaryDimStartKey"]), date.fromisoformat(r["primaryDimEndKey"])
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            for bot in r["secondaryDim"].get("materializedPartitions", []):
                keys |= {f"{bot}|{d}" for d in days}
        return keys

    def sensor_ticks(self, sensor: str = "qdrant_pending_sensor", limit: int = 200) -> list[dict[str, Any]]:
        data = self.gql(
            """query($limit: Int) { repositoriesOrError { __typename ... on RepositoryConnection { nodes {
                 sensors { name sensorState { status ticks(limit: $limit) {
                   status skipReason timestamp error { message } } } } } } } }""",
            {"limit": limit},
        )["repositoriesOrError"]
        for repo in data["nodes"]:
            for s in repo["sensors"]:
                if s["name"] == sensor:
                    return s["sensorState"]["ticks"]
        raise AssertionError(f"no sensor {sensor!r} in {data}")


_OPEN_INSTANCES = """
import json, sys, time
from pathlib import Path
from whisper_assets.defs.instance import persistent_instance
from whisper_assets.core.settings import load_settings
# Warm up on a data dir of this process's own, so the processes race on the shared ones.
persistent_instance(load_settings(data_dir=sys.argv[2])).get_dynamic_partitions("bots")
for data_dir, go in json.loads(sys.argv[1]):
    settings = load_settings(data_dir=data_dir)
    print("ready", data_dir, flush=True)
    while not Path(go).exists():
        time.sleep(0.002)
    try:
        persistent_instance(settings).get_dynamic_partitions("bots")
        print("opened", data_dir, flush=True)
    except Exception as exc:
        print("failed", data_dir, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", flush=True)
"""


def open_new_instances_at_once(settings: Settings, workdir: Path, processes: int, rounds: int) -> list[str]:
    """`processes` processes (imports done once) open the persistent instance of a new data dir
    together, `rounds` times (data dirs `settings.data_dir`/round-N): the failures they print."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan = [(str(settings.data_dir / f"round-{i}"), str(workdir / f"go-{i}")) for i in range(rounds)]
    logs = [workdir / f"open-{i}.log" for i in range(processes)]
    procs = []
    for i, log in enumerate(logs):
        own = str(settings.data_dir / f"own-{i}")
        with log.open("wb") as out:
            procs.append(subprocess.Popen([sys.executable, "-c", _OPEN_INSTANCES, json.dumps(plan), own],
                                          env=process_env(settings), stdout=out, stderr=subprocess.STDOUT,
                                          preexec_fn=_default_sigint))
    try:
        for data_dir, go in plan:
            wait_for(f"{processes} processes ready to open {data_dir}",
                     lambda: all(f"ready {data_dir}" in log.read_text() for log in logs)
                     or any(p.poll() is not None for p in procs), 300, 0.02)
            Path(go).touch()
        codes = [p.wait(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    outputs = [log.read_text(errors="replace") for log in logs]
    failures = [line for out in outputs for line in out.splitlines() if line.startswith("failed")]
    crashed = [tail_text(out) for code, out in zip(codes, outputs) if code != 0]
    return failures + crashed


def tail_text(text: str, lines: int = 15) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reap the leader if it exited
    try:
        os.killpg(proc.pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_for(what: str, check: Callable[[], Any], timeout_s: float, every_s: float = 1.0,
             on_timeout: Callable[[], str] = lambda: "") -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{on_timeout()}")
        time.sleep(every_s)
