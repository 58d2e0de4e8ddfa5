"""The deployment files (issue 15, items 1 and 2): docker-compose.yml, .env.example, the Dockerfile, deploy/
(dagster.yaml, workspace.yaml, Helm values) parsed and checked; the worker role applied to a real database."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from whisper_assets.interfaces.cli.health import CHECKS
from whisper_assets.stores.postgres import upgrade

REPO = Path(__file__).resolve().parents[1]
APP_SERVICES = {"migrate", "code-server", "daemon", "webserver"}
LONG_RUNNING = {"postgres", "qdrant", "code-server", "daemon", "webserver"}
IMAGE = "${WHISPER_IMAGE:-localhost/whisper-assets:latest}"


def load(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return load("docker-compose.yml")


def test_compose_services_images_and_commands(compose):
    services = compose["services"]
    assert set(services) == LONG_RUNNING | {"migrate"}
    # One image for every process of the project; PostgreSQL and Qdrant from their own images.
    assert {services[s]["image"] for s in APP_SERVICES} == {IMAGE}
    assert services["postgres"]["image"].startswith("docker.io/library/postgres:")
    assert "qdrant/qdrant:" in services["qdrant"]["image"]
    assert services["code-server"]["command"][:5] == ["dagster", "code-server", "start", "-m", "whisper_assets.definitions"]
    assert services["code-server"]["command"][-2:] == ["--port", "4000"]
    assert services["daemon"]["command"] == ["dagster-daemon", "run", "-w", "/opt/dagster/home/workspace.yaml"]
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["webserver"]["command"][-2:] == ["-w", "/opt/dagster/home/workspace.yaml"]
    assert services["migrate"]["command"] == ["whisper-assets", "db", "upgrade"]


def test_compose_restart_ports_volumes_and_health(compose):
    services = compose["services"]
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["interval"] and check["retries"] >= 3, name
    assert services["migrate"]["restart"] == "no"
    # The project's own health checks name real checks.
    for name in ("code-server", "daemon"):
        test = services[name]["healthcheck"]["test"]
        assert test[1:3] == ["whisper-assets", "health"], test
        assert {test[i + 1] for i, arg in enumerate(test) if arg == "--check"} <= set(CHECKS), test
    ports = [p for s in services.values() for p in s.get("ports", [])]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports), ports
    assert {p.split(":")[1] for p in ports} == {"5432", "6333", "3000"}
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith("./")}
    assert named == set(compose["volumes"]) == {"pgdata", "qdrant"}
    mounted = [v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if v.startswith("./")]
    assert mounted and all((REPO / m).is_file() for m in mounted), mounted


def test_compose_environment_is_documented(compose):
    text = (REPO / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", example, re.M))
    assert used and used <= documented, used - documented
    app = compose["services"]["code-server"]["environment"]
    assert app["DATABASE_URL"].startswith("postgresql://whisper_worker:")  # the least-privilege role
    assert app["DAGSTER_POSTGRES_URL"].startswith("postgresql+psycopg2://")  # dagster-postgres needs psycopg2
    assert app["QDRANT_URL"] == "http://qdrant:6333" and app["DAGSTER_HOME"] == "/opt/dagster/home"
    assert compose["services"]["migrate"]["environment"]["DATABASE_URL"].startswith("postgresql://whisper:")
    assert not re.search(r"(PASSWORD|API_KEY)=\S*[0-9a-f]{16}", example)  # placeholders only


def test_dagster_yaml_and_workspace():
    service, embedded = load("deploy/dagster.yaml"), load("whisper_assets/defs/dagster.yaml")
    assert service["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}}
    # Same queue, limits, retries and monitoring as the embedded instance; only the storage differs.
    assert {k: v for k, v in service.items() if k != "storage"} == embedded
    [location] = load("deploy/workspace.yaml")["load_from"]
    assert location == {"grpc_server": {"host": {"env": "DAGSTER_CODE_SERVER_HOST"},
                                        "port": {"env": "DAGSTER_CODE_SERVER_PORT"}, "location_name": "whisper_assets"}}


def test_helm_values():
    values = load("deploy/helm-values.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "whisper_assets.definitions"]
    images = {(c["image"]["repository"], c["image"]["tag"]) for c in (deployment, values["dagsterDaemon"],
                                                                      values["dagsterWebserver"])}
    assert len(images) == 1, images  # user code, daemon and webserver: the same image
    custom = values["dagsterDaemon"]["runCoordinator"]["config"]["customRunCoordinator"]
    module = __import__(custom["module"], fromlist=[custom["class"]])
    assert getattr(module, custom["class"]).__name__ == "BotRunCoordinator"
    runs = values["concurrency"]["runs"]
    assert runs["tagConcurrencyLimits"] == [{"key": "bot", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlDatabase"] == "dagster"


def test_dockerfile():
    text = (REPO / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM "):]
    user = re.search(r"^USER (\S+)", final, re.M)
    assert user and user.group(1) not in ("root", "0")
    assert re.search(r'^HEALTHCHECK .*CMD \["whisper-assets", "health"\]', final, re.M)
    assert "HF_HUB_OFFLINE=1" in final and "WHISPER_MODEL_CACHE_DIR=/opt/whisper-models" in final
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    assert "torch.version.cuda is None" in text  # the build fails on a CUDA torch
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") + 1:] and "!whisper_assets/" in ignored and ".env" not in ignored[1:]


def create_worker_role(owner_url: str) -> str:
    """deploy/worker_role.sql applied (psql, as the owner) under a role name of this test's own; its URL."""
    role = f"whisper_worker_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(owner_url)
    subprocess.run(
        ["psql", "-X", "-q", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
         "-d", url.database, "-v", f"worker_role={role}", "-v", "worker_password=not-checked-under-trust",
         "-f", str(REPO / "deploy" / "worker_role.sql")],
        check=True, capture_output=True, text=True, timeout=60,
    )
    return url.set(username=role, password=None).render_as_string(hide_password=False)


def drop_worker_role(owner_url: str, worker_url: str) -> None:
    role = sa.engine.make_url(worker_url).username
    engine = sa.create_engine(owner_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
        conn.execute(sa.text(f'DROP ROLE "{role}"'))
    engine.dispose()


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_worker_role_reads_and_writes_rows_only(database_url):
    worker_url = create_worker_role(database_url)
    worker = sa.create_engine(worker_url, poolclass=sa.pool.NullPool)
    owner = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        assert upgrade(worker) == []  # a migrated database: the worker's first use needs no DDL
        tables = ["pending_messages", "fact_observations", "user_facts", "conversation_summaries",
                  "summary_embeddings", "enrichment_metadata", "forgotten_users"]
        with worker.begin() as conn:
            for table in tables:
                conn.execute(sa.text(f"SELECT count(*) FROM {table}"))
                conn.execute(sa.text(f"UPDATE {table} SET bot_name = bot_name WHERE false"))
                conn.execute(sa.text(f"DELETE FROM {table} WHERE false"))
        for ddl in ("CREATE TABLE sneaky (x int)", "DROP TABLE user_facts", "TRUNCATE user_facts",
                    "ALTER TABLE user_facts ADD COLUMN x int"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
                with worker.begin() as conn:
                    conn.execute(sa.text(ddl))
        # A table a later migration creates (as the owner) is readable and writable by the worker at once.
        with owner.begin() as conn:
            conn.execute(sa.text("CREATE TABLE later_migration (bot_name text)"))
        with worker.begin() as conn:
            conn.execute(sa.text("INSERT INTO later_migration VALUES ('elena')"))
            assert conn.execute(sa.text("SELECT bot_name FROM later_migration")).scalar() == "elena"
    finally:
        worker.dispose()
        owner.dispose()
        drop_worker_role(database_url, worker_url)
