"""The service mode end to end, as docker-compose.yml runs it, with every process on 127.0.0.1 (issue 15, item 4).

- Dagster's storage in PostgreSQL (deploy/dagster.yaml, DAGSTER_POSTGRES_URL, a database of this test's
  own), the application data in another database of the same server, reached as the least-privilege
  worker role of deploy/worker_role.sql (rows only, no DDL);
- the code server as its own gRPC process (`dagster code-server start -m whisper_assets.definitions`),
  the daemon and the webserver loading it through deploy/workspace.yaml (grpc_server); run workers are
  launched by the code server, as in the code-server container;
- the hot path writing from this test's process.
Qdrant: no server can be installed here, so the store is qdrant-client's local mode
(WHISPER_QDRANT_LOCAL=client): the same ClientEngine code a Qdrant server is driven by, on local files.

Shown: messages go from pending to completed through the sensor; a backfill launched through GraphQL
completes and re-writes its partition; `whisper-assets health` is healthy on the running deployment.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

import dagster as dg
import pytest

from whisper_assets.core.settings import Settings, load_settings
from whisper_assets.memory.hot_path import MessageIn, close_shared_writers, store_messages
from whisper_assets.stores.postgres import dispose_engines
from whisper_assets_tests.always_on_helpers import DevServer, _default_sigint, free_port, process_env, wait_for
from whisper_assets_tests.enrichment_helpers import fast_settings, query, statuses
from whisper_assets_tests.test_deploy import create_worker_role, drop_worker_role

pytestmark = [pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
              pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant")]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
UTC = timezone.utc
BOT, D1, D2 = "elena", date(2025, 11, 9), date(2025, 11, 10)


class ServiceProcesses(DevServer):
    """Code server, daemon and webserver: three processes in one process group (DevServer.stop ends it)."""

    def __init__(self, env: Mapping[str, str], log: Path, home: Path, grpc_port: int) -> None:
        super().__init__(env, log, startup_s=120)
        self.home, self.grpc_port = home, grpc_port

    def start(self) -> ServiceProcesses:
        workspace = str(self.home / "workspace.yaml")
        commands = [
            [BIN / "dagster", "code-server", "start", "-m", "whisper_assets.definitions",
             "--host", "127.0.0.1", "--port", str(self.grpc_port)],
            [BIN / "dagster-daemon", "run", "-w", workspace],
            [BIN / "dagster-webserver", "-h", "127.0.0.1", "-p", str(self.port), "-w", workspace],
        ]
        started = time.monotonic()
        try:
            with self.log.open("ab") as out:
                for command in commands:
                    group = self.proc.pid if self.proc is not None else 0  # a new group, joined by the others
                    proc = subprocess.Popen([str(c) for c in command], env=self.env, cwd=self.home, stdout=out,
                                            stderr=subprocess.STDOUT, preexec_fn=_default_sigint, process_group=group)
                    self.proc = self.proc or proc
            wait_for("the webserver to serve the code location from the gRPC code server",
                     self._serving, self.startup_s, 0.5, lambda: self.log.read_text(errors="replace")[-4000:])
        except BaseException:
            self.stop()
            raise
        print(f"[service] serving after {time.monotonic() - started:.1f} s")
        return self

    def _serving(self) -> bool:
        self.check_alive()
        try:
            return self._repository_loaded()
        except Exception:  # not up yet
            return False


@pytest.fixture()
def settings(tmp_path, database_url) -> Iterator[Settings]:
    """Application data as the least-privilege worker (deploy/worker_role.sql), as compose connects."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed (it applies deploy/worker_role.sql)")
    worker_url = create_worker_role(database_url)
    try:
        with fast_settings(tmp_path, worker_url) as s:
            yield load_settings(data_dir=s.data_dir, database_url=worker_url, qdrant_local="client")
    finally:
        dispose_engines()
        drop_worker_role(database_url, worker_url)


def service_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO / "deploy" / name, home / name)
    return home


def launch_backfill(server: DevServer, partition: str) -> str:
    nodes = server.gql("{ assetNodes { assetKey { path } isPartitioned } }")["assetNodes"]
    selection = [{"path": n["assetKey"]["path"]} for n in nodes if n["isPartitioned"]]
    data = server.gql(
        """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
             __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
        {"params": {"assetSelection": selection, "partitionNames": [partition]}},
    )["launchPartitionBackfill"]
    assert data["__typename"] == "LaunchBackfillSuccess", data
    return data["backfillId"]


def runs_tagged(server: DevServer, key: str, value: str) -> list[dict[str, Any]]:
    data = server.gql(
        """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {
             __typename ... on Runs { results { runId status } } } }""",
        {"tags": [{"key": key, "value": value}]},
    )["runsOrError"]
    assert data["__typename"] == "Runs", data
    return data["results"]


def backfill_status(server: DevServer, backfill_id: str) -> str:
    data = server.gql(
        """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
             __typename ... on PartitionBackfill { status } ... on PythonError { message } } }""",
        {"id": backfill_id},
    )["partitionBackfillOrError"]
    assert data["__typename"] == "PartitionBackfill", data
    return data["status"]


def test_service_mode_sensor_and_backfill(tmp_path, settings, empty_database_url, monkeypatch):
    home, grpc_port = service_home(tmp_path), free_port()
    env = process_env(settings, DAGSTER_HOME=str(home), DAGSTER_POSTGRES_URL=empty_database_url,
                      WHISPER_QDRANT_LOCAL="client", DAGSTER_CODE_SERVER_HOST="127.0.0.1",
                      DAGSTER_CODE_SERVER_PORT=str(grpc_port))
    # Dagster's PostgreSQL schema made once, before three processes race to create it.
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", empty_database_url)
    dg.DagsterInstance.from_config(str(home)).dispose()
    server = ServiceProcesses(env, tmp_path / "service.log", home, grpc_port).start()
    try:
        # The hot path, from this process, while the deployment runs.
        written = time.monotonic()
        ids = store_messages([
            MessageIn(BOT, "user_a", "user", "I work as a carpenter in a small workshop", datetime(2025, 11, 9, 9, tzinfo=UTC)),
            MessageIn(BOT, "user_a", "bot", "Sounds like satisfying work!", datetime(2025, 11, 9, 9, 1, tzinfo=UTC)),
            MessageIn(BOT, "user_b", "user", "I have a parrot named Kiwi", datetime(2025, 11, 10, 8, tzinfo=UTC)),
        ], settings)
        close_shared_writers()  # hand the local store back: the sensor and the run take turns with us
        assert set(statuses(settings).values()) == {"pending"}
        [requested] = wait_for("the sensor to request a run", server.runs, 60, 0.5,
                               lambda: server.log.read_text(errors="replace")[-4000:])
        assert requested["tags"].get("dagster/sensor_name") == "qdrant_pending_sensor", requested

        # Meanwhile, a backfill of one bot-day through GraphQL, as the UI launches it: its run waits behind
        # the sensor's (one run per bot), then re-writes that partition.
        backfill_started = time.monotonic()
        backfill = launch_backfill(server, f"{BOT}|{D1}")

        wait_for("the sensor's run to complete every message",
                 lambda: set(statuses(settings).values()) == {"completed"}, 90, 1.0,
                 lambda: f"runs: {server.runs()}\n{server.log.read_text(errors='replace')[-4000:]}")
        sensor_s = time.monotonic() - written
        [run] = wait_for("the sensor's run to end", lambda: [r for r in server.runs() if r["runId"] ==
                         requested["runId"] and r["status"] in ("SUCCESS", "FAILURE", "CANCELED")], 30, 0.5)
        assert run["status"] == "SUCCESS", run
        assert statuses(settings) == dict.fromkeys(ids, "completed")
        facts = query(settings, "SELECT user_id, fact_content FROM fact_observations ORDER BY user_id, fact_content")
        assert any(u == "user_a" and "carpenter" in f for u, f in facts), facts

        # The health command, as the image's HEALTHCHECK runs it, on this deployment (while the backfill goes on).
        health = subprocess.Popen([sys.executable, "-m", "whisper_assets", "health"], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=_default_sigint)

        status = wait_for("the backfill to finish", lambda: (s := backfill_status(server, backfill)) not in
                          ("REQUESTED",) and s, 90, 0.5, lambda: server.log.read_text(errors="replace")[-4000:])
        backfill_s = time.monotonic() - backfill_started
        assert status in ("COMPLETED", "COMPLETED_SUCCESS"), status
        backfill_runs = runs_tagged(server, "dagster/backfill", backfill)
        assert [r["status"] for r in backfill_runs] == ["SUCCESS"], backfill_runs
        days = query(settings, "SELECT run_id, day FROM enrichment_metadata")
        assert {d for r, d in days if r == backfill_runs[0]["runId"]} == {D1}, days
        assert {d for r, d in days if r == run["runId"]} >= {D2}, days
        assert query(settings, "SELECT user_id, fact_content FROM fact_observations ORDER BY user_id, fact_content") == facts

        out, _ = health.communicate(timeout=120)
        assert health.returncode == 0 and json.loads(out)["healthy"], out
        print(json.dumps({"write_to_completed_s": round(sensor_s, 1), "backfill_s": round(backfill_s, 1)}))
    finally:
        server.stop(grace_s=5)
