"""Soak test of the always-on setup (the issue's point 9), printing JSON.

What it does, on loopback only, bounded in time:
  * a scratch database on the local PostgreSQL and a scratch WHISPER_DATA_DIR (benchmarks/scratch.py);
  * the OpenAI-compatible stub LLM (whisper_assets_tests/llm_stub.py) in this process, answering like a
    well-behaved model (one grounded fact per fact-stating user turn, one summary per user);
  * `whisper-assets dev` exactly as a user starts it (dagster dev on the persistent instance under
    WHISPER_DATA_DIR: webserver on 127.0.0.1 and a free port, daemon, code server, the sensor with the
    default settings unless flags say otherwise), WHISPER_LLM_BACKEND=openai pointed at the stub;
  * three writer processes storing --rate messages/min in all (default 100), exponential gaps, generated
    chat (benchmarks/chatgen.py), a few users each:
      - bot `soak_alpha`: one-off `store_message` calls (and the fast-track user `soak_ft`, about one
        exchange every 2 minutes, WHISPER_FAST_TRACK_USERS),
      - bot `soak_beta`: one-off `store_messages` calls (a user turn and the bot's reply together),
      - bot `soak_gamma`: one `message_writer()` held open for the whole writing phase;
  * one LLM outage: from the first LLM request after --outage-at of the writing phase, for --outage-s
    seconds, the stub answers 500, 429 (Retry-After 2) and hangs until the outage is over (then 503) in turn;
  * one run worker SIGKILLed mid-run: from --kill-at of the writing phase, a run STARTED at least
    --kill-delay-s ago while --kill-step is in progress (any step after a further 20 % of the phase);
    its worker is the process its "Started process for run (pid: N)" event names, a child of the code
    server, and only a process of our own dagster dev's process group is ever signalled;
  * then writing stops and it waits (at most --drain-minutes) until nothing is pending and no run is
    queued or in flight, reads runs, sensor ticks and daemon health over GraphQL, stops dagster dev (its
    whole process group) and counts.

Reported: messages written vs completed (read from Qdrant after dagster dev stopped), duplicate rows
(Postgres and the Qdrant summaries), failed runs not later succeeded for their partitions, write ->
completed latency (write time recorded by the writers; completion = the end of the first successful
run that read the point, from the runs' step times; the point's `enriched_at` is reported too, but every
later run of the day overwrites it), the fast-track user's latency separately, writers' store-call
latency, RSS of the dagster processes from start to end, runs, LLM calls (and how often user turns were
re-sent), sensor ticks, and the settings and code version used.

    .venv/bin/python benchmarks/soak.py                 # 20 minutes of writing (~30 minutes in all)
    .venv/bin/python benchmarks/soak.py --minutes 3     # a short run
    .venv/bin/python benchmarks/soak.py --minutes 10 --debounce-s 0 --sensor-interval-s 5   # other sensor settings
Results: benchmarks/results/soak.json (20 min) or soak_<minutes>m.json (--out to choose). Logs (dagster dev
output, writer logs, runs, ticks, run events, a copy of the Dagster instance) stay in "logs_dir". Every
process it starts is stopped by process group, also on Ctrl-C or an error; the database and the data
directory are removed.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

UTC = timezone.utc
BOTS = {"soak_alpha": "oneoff", "soak_beta": "pairs", "soak_gamma": "held"}
USERS_PER_BOT = 4
FAST_TRACK_USER = "soak_ft"
FAST_TRACK_BOT = "soak_alpha"
IN_FLIGHT = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING", "MANAGED"}
P99_TARGET_S = 60.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: Iterable[float], digits: int = 2) -> dict[str, Any]:
    v = sorted(values)
    if not v:
        return {"n": 0}
    q = lambda p: v[min(len(v) - 1, max(0, int(round(p * (len(v) - 1)))))]  # noqa: E731
    return {"n": len(v), "p50": round(q(0.50), digits), "p90": round(q(0.90), digits),
            "p99": round(q(0.99), digits), "max": round(v[-1], digits), "mean": round(statistics.fmean(v), digits)}


# ==================================================================================================
# Writer processes (this script started with `_writer ...`)
# ==================================================================================================

def writer_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bot", required=True)
    p.add_argument("--kind", choices=["oneoff", "pairs", "held"], required=True)
    p.add_argument("--rate", type=float, required=True, help="messages per minute of this writer")
    p.add_argument("--users", required=True)
    p.add_argument("--fast-track-every-s", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dir", required=True)
    a = p.parse_args(argv)
    wdir = Path(a.dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    import chatgen
    from whisper_assets.memory import hot_path as hp
    from whisper_assets.core.embedding import get_embedder
    from whisper_assets.core.settings import get_settings

    settings = get_settings()
    t = time.perf_counter()
    get_embedder(settings.torch_threads).encode(["warming up the model"])
    (wdir / f"{a.bot}.ready").write_text(json.dumps({"pid": os.getpid(), "model_load_s": time.perf_counter() - t}))
    go = wdir / "go.json"
    while not go.exists() and not stop.is_set():
        time.sleep(0.1)
    if stop.is_set():
        return
    plan = json.loads(go.read_text())
    start, end = plan["start"], plan["end"]
    rng = random.Random(a.seed)
    users = a.users.split(",")
    gap = 60.0 / a.rate  # mean seconds between messages
    exchange_s = 2 * gap
    p_fast = exchange_s / a.fast_track_every_s if a.fast_track_every_s > 0 else 0.0
    out = (wdir / f"{a.bot}.writes.jsonl").open("a", buffering=1)
    errors = 0
    max_behind = 0.0

    def exchange() -> tuple[str, list[tuple[str, str]]]:
        user = FAST_TRACK_USER if rng.random() < p_fast else rng.choice(users)
        return user, [("user", chatgen.user_line(rng)), ("bot", rng.choice(chatgen.BOT))]

    def write(call, user: str, turns: list[tuple[str, str]]) -> None:
        nonlocal errors
        t0 = time.time()
        try:
            ids = call()
        except Exception as exc:  # noqa: BLE001 - a failed write is a result, not a crash
            errors += 1
            out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:500], "t0": t0, "t1": time.time(),
                                  "user": user, "n": len(turns)}) + "\n")
            return
        t1 = time.time()
        for mid, (role, _) in zip(ids, turns):
            out.write(json.dumps({"id": mid, "bot": a.bot, "user": user, "role": role, "t0": t0, "t1": t1,
                                  "call_ms": round((t1 - t0) * 1000, 2), "batch": len(turns)}) + "\n")

    while time.time() < start and not stop.is_set():
        time.sleep(0.02)
    held = hp.message_writer(settings) if a.kind == "held" else contextlib.nullcontext()
    due = time.time()
    stats: dict[str, Any] = {}
    with held as w:
        queue: list[tuple[str, str, str]] = []  # (user, role, content) still to write one by one
        while not stop.is_set():
            now = time.time()
            if now >= end:
                break
            if due > now:
                stop.wait(min(due, end) - now)
                continue
            max_behind = max(max_behind, now - due)
            if a.kind == "pairs":
                user, turns = exchange()
                items = [hp.MessageIn(a.bot, user, role, text) for role, text in turns]
                write(lambda: hp.store_messages(items, settings), user, turns)
                due += rng.expovariate(1.0 / exchange_s)
                continue
            if not queue:
                user, turns = exchange()
                queue = [(user, role, text) for role, text in turns]
            user, role, text = queue.pop(0)
            if a.kind == "held":
                write(lambda: [w.store_message(a.bot, user, role, text)], user, [(role, text)])
            else:
                write(lambda: [hp.store_message(a.bot, user, role, text, settings=settings)], user, [(role, text)])
            due += rng.expovariate(1.0 / gap)
        writer = w if a.kind == "held" else hp.shared_writer(settings)
        stats = dict(vars(writer.stats))
    hp.close_shared_writers()
    (wdir / f"{a.bot}.summary.json").write_text(json.dumps({
        "bot": a.bot, "kind": a.kind, "errors": errors, "max_behind_schedule_s": round(max_behind, 2),
        "writer_stats": {k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()},
    }))


# ==================================================================================================
# The stub LLM: answers like a model, except during the outage
# ==================================================================================================

PROMPT_HEAD = "Messages (JSON):\n"


def _fact(text: str) -> tuple[str, str] | None:
    """A grounded fact for the chatgen user lines that state one (the text itself, first person)."""
    t = text.strip().rstrip(".!")
    if t.startswith("I work as"):
        return "occupation", t[2:]
    if t.startswith("my ") and "did the funniest thing" in t:
        return "pet", "has a " + t[3:].split(" did the")[0]
    if t.startswith("I live in"):
        return "location", t[2:]
    if t.startswith("I've been learning"):
        return "hobby", "has been learning" + t[len("I've been learning"):]
    if t.startswith("next month I'm flying to"):
        return "plan", "is flying to" + t[len("next month I'm flying to"):] + " next month"
    return None


def stub_answer(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    batch = json.loads(content[len(PROMPT_HEAD):]) if content.startswith(PROMPT_HEAD) else {}
    facts, summaries = [], []
    for label, msgs in batch.items():
        texts = [m["text"] for m in msgs]
        summaries.append({"user": label, "summary": ("In this chat the user said: " + " / ".join(texts))[:1900],
                          "topics": ["chat"]})
        for m in msgs:
            if rule := _fact(m["text"]):
                facts.append({"message_ids": [m["id"]], "category": rule[0], "fact": rule[1], "confidence": 0.9})
    return json.dumps({"facts": facts, "summaries": summaries})


class LLMStub:
    """The test stub server with a responder that knows about the outage window."""

    def __init__(self, modes: list[str]) -> None:
        from whisper_assets_tests.llm_stub import StubLLMServer

        self.modes = modes
        self.arm_at = float("inf")  # the outage starts with the first request at or after this time
        self.outage_s = 0.0
        self.outage = (float("inf"), float("inf"))
        self.counts: dict[str, int] = {}
        self.turns_answered = 0  # user turns in the requests answered (what the LLM was paid to read)
        self._lock = threading.Lock()
        self._cycle = itertools.count()
        self.server = StubLLMServer(default=self.respond, model="stub-model")

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def respond(self, body: dict[str, Any]) -> Any:
        from whisper_assets_tests.llm_stub import Delay, Error, Reply

        now = time.time()
        with self._lock:
            if now >= self.arm_at and self.outage[0] == float("inf"):
                self.outage = (now, now + self.outage_s)
        start, end = self.outage
        if start <= now < end:
            mode = self.modes[next(self._cycle) % len(self.modes)]
            self._count(f"outage_{mode}")
            if mode == "500":
                return Error(500)
            if mode == "429":
                return Error(429, retry_after=2)
            return Delay(end - now + 1.0, Error(503))  # hangs past the outage (clients time out first)
        self._count("answered")
        answer = stub_answer(body)
        with self._lock:
            self.turns_answered += len(_turns(body))
        return Reply(answer)


def _turns(body: dict[str, Any]) -> list[Any]:
    content = body["messages"][-1]["content"]
    batch = json.loads(content[len(PROMPT_HEAD):]) if content.startswith(PROMPT_HEAD) else {}
    return [m for msgs in batch.values() for m in msgs]


# ==================================================================================================
# Dagster's GraphQL API and the process tree
# ==================================================================================================

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy


class GraphQL:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/graphql"

    def __call__(self, query: str, timeout: float = 30, **variables: Any) -> dict[str, Any]:
        req = urllib.request.Request(self.url, data=json.dumps({"query": query, "variables": variables}).encode(),
                                     headers={"Content-Type": "application/json"})
        with _OPENER.open(req, timeout=timeout) as r:
            out = json.loads(r.read())
        if out.get("errors"):
            raise RuntimeError(f"GraphQL errors: {json.dumps(out['errors'])[:800]}")
        return out["data"]


RUNS_Q = """
query Runs { runsOrError(limit: 5000) {
  __typename
  ... on Runs { results { runId pipelineName status creationTime startTime endTime parentRunId rootRunId
                          stepKeysToExecute tags { key value } } }
  ... on PythonError { message } } }
"""
STEPS_Q = """
query Steps($runId: ID!) { runOrError(runId: $runId) {
  ... on Run { status stepStats { stepKey status startTime endTime } } } }
"""
LOGS_Q = """
query Logs($runId: ID!) { logsForRun(runId: $runId, limit: 5000) {
  __typename
  ... on EventConnection { events { __typename
      ... on MessageEvent { message timestamp stepKey eventType level }
      ... on ErrorEvent { error { message className } } } } } }
"""
REPOS_Q = """
query Repos { repositoriesOrError { __typename
  ... on RepositoryConnection { nodes { name location { name } sensors { name } } }
  ... on PythonError { message } } }
"""
TICKS_Q = """
query Ticks($sel: SensorSelector!) { sensorOrError(sensorSelector: $sel) { __typename
  ... on Sensor { sensorState { status ticks(limit: 5000) {
      status timestamp endTimestamp runIds skipReason error { message } } } } } }
"""
HEALTH_Q = """
query Health { instance { daemonHealth { allDaemonStatuses {
  daemonType healthy required lastHeartbeatTime lastHeartbeatErrors { message } } } } }
"""


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run.get("tags") or []}


def run_partitions(run: dict[str, Any]) -> list[str]:
    """The bot|day keys a run covers (a single key or a range of one bot's days)."""
    tags = tags_of(run)
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if not start or not end:
        return []
    bot, d0 = start.split("|")
    bot1, d1 = end.split("|")
    if bot != bot1:
        return [start, end]
    d, last, out = date.fromisoformat(d0), date.fromisoformat(d1), []
    while d <= last:
        out.append(f"{bot}|{d}")
        d += timedelta(days=1)
    return out


def role_of(cmdline: list[str]) -> str:
    line = " ".join(cmdline)
    if "dagster_webserver" in line or "dagster-webserver" in line:
        return "webserver"
    if "dagster._daemon" in line or "dagster-daemon" in line:
        return "daemon"
    if "code-server start" in line:
        return "code_server_proxy"
    if "api grpc" in line:
        return "code_server"
    if "resource_tracker" in line:
        return "resource_tracker"
    if "spawn_main" in line or "execute_run" in line:
        return "run_worker"
    if " dev " in f" {line} " or line.rstrip().endswith(" dev") or "dagster dev" in line or "whisper-assets" in line:
        return "dagster_dev"
    return "other"


def group_processes(pgid: int) -> list[Any]:
    import psutil

    out = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if os.getpgid(proc.pid) == pgid:
                out.append(proc)
        except (ProcessLookupError, psutil.Error, OSError):
            continue
    return out


def rss_by_role(pgid: int, others: set[str] | None = None) -> dict[str, float]:
    import psutil

    out: dict[str, float] = {}
    for proc in group_processes(pgid):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            role = role_of(proc.info["cmdline"] or [])
            if role == "other" and others is not None:
                others.add(" ".join(proc.info["cmdline"] or [])[:120])
            out[role] = out.get(role, 0.0) + proc.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return {k: round(v, 1) for k, v in out.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_group(proc: subprocess.Popen | None, name: str, grace_s: float = 30.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever of it is left."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop within {grace_s:.0f} s: SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


# ==================================================================================================
# The soak
# ==================================================================================================

class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.procs: dict[str, subprocess.Popen] = {}
        self.t0 = time.time()
        self.timeline: dict[str, float] = {}
        self.rss: list[dict[str, Any]] = []
        self.loads: list[float] = []
        self.kill: dict[str, Any] = {"done": False}
        self.kill_fallback_at = float("inf")
        self.git = _git()  # what dagster dev and the writers load
        self.defaults = _default_settings()  # the settings' defaults as the code stands at the start
        self.other_cmdlines: set[str] = set()
        self.logs = Path(tempfile.mkdtemp(prefix=f"whisper-soak-logs-{time.strftime('%Y%m%d-%H%M%S')}-"))
        self.wdir = self.logs / "writers"
        self.wdir.mkdir()

    def mark(self, name: str) -> None:
        self.timeline[name] = round(time.time() - self.t0, 1)
        log(name.replace("_", " "))

    # -- processes --------------------------------------------------------------------------------
    def cleanup(self) -> None:
        for name in [n for n in self.procs if n != "dagster_dev"] + ["dagster_dev"]:
            proc = self.procs.pop(name, None)
            if proc is not None and proc.poll() is None:
                kill_group(proc, name, 10.0 if name != "dagster_dev" else 30.0)
            elif proc is not None:  # its group may outlive it (e.g. run workers)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

    def env(self, data_dir: Path, db_url: str, stub_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WHISPER_", "DAGSTER_", "QDRANT_", "OPENAI_")) and k != "DATABASE_URL"}
        env.update({
            "WHISPER_DATA_DIR": str(data_dir), "DATABASE_URL": db_url,
            "WHISPER_LLM_BACKEND": "openai", "OPENAI_BASE_URL": stub_url, "OPENAI_API_KEY": "dummy",
            "WHISPER_LLM_MODEL": self.a.model, "DAGSTER_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        if self.a.fast_track:
            env["WHISPER_FAST_TRACK_USERS"] = json.dumps([FAST_TRACK_USER])
        for flag, var in (("sensor_interval_s", "WHISPER_SENSOR_INTERVAL_S"), ("debounce_s", "WHISPER_SENSOR_DEBOUNCE_S"),
                          ("pile_up", "WHISPER_SENSOR_PILE_UP")):
            if getattr(self.a, flag) is not None:
                env[var] = str(getattr(self.a, flag))
        return env

    def start_dev(self, env: dict[str, str], port: int) -> GraphQL:
        out = (self.logs / "dagster_dev.log").open("wb")
        self.procs["dagster_dev"] = subprocess.Popen(
            [str(REPO / ".venv/bin/whisper-assets"), "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        gql = GraphQL(port)
        deadline = time.time() + 300
        while True:
            if self.procs["dagster_dev"].poll() is not None:
                raise RuntimeError(f"whisper-assets dev exited with {self.procs['dagster_dev'].returncode}; "
                                   f"see {self.logs / 'dagster_dev.log'}")
            try:
                data = gql(REPOS_Q, timeout=10)["repositoriesOrError"]
                nodes = data.get("nodes") or []
                if nodes and any(s["name"] == "qdrant_pending_sensor" for s in nodes[0]["sensors"]):
                    self.sensor_sel = {"repositoryName": nodes[0]["name"], "repositoryLocationName": nodes[0]["location"]["name"],
                                       "sensorName": "qdrant_pending_sensor"}
                    return gql
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.time() > deadline:
                raise RuntimeError("the webserver did not load the code location within 300 s")
            time.sleep(2)

    def start_writers(self, env: dict[str, str], rate_each: float) -> None:
        for i, (bot, kind) in enumerate(BOTS.items()):
            users = ",".join(f"{bot.split('_')[1]}_u{j}" for j in range(1, USERS_PER_BOT + 1))
            cmd = [sys.executable, str(Path(__file__).resolve()), "_writer", "--bot", bot, "--kind", kind,
                   "--rate", f"{rate_each:g}", "--users", users, "--seed", str(self.a.seed * 10 + i), "--dir", str(self.wdir)]
            if bot == FAST_TRACK_BOT and self.a.fast_track:
                cmd += ["--fast-track-every-s", str(self.a.fast_track_every_s)]
            out = (self.logs / f"writer_{bot}.log").open("wb")
            self.procs[f"writer_{bot}"] = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                           start_new_session=True)
        deadline = time.time() + 240
        while not all((self.wdir / f"{bot}.ready").exists() for bot in BOTS):
            for name, proc in self.procs.items():
                if name.startswith("writer_") and proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}")
            if time.time() > deadline:
                raise RuntimeError("writers not ready within 240 s")
            time.sleep(0.5)

    # -- watching -----------------------------------------------------------------------------------
    def sample(self) -> None:
        import psutil

        dev = self.procs.get("dagster_dev")
        if dev is None or dev.poll() is not None:
            return
        entry: dict[str, Any] = {"t": round(time.time() - self.t0, 1), "dagster": rss_by_role(dev.pid, self.other_cmdlines)}
        writers = {}
        for name, proc in self.procs.items():
            if name.startswith("writer_") and proc.poll() is None:
                with contextlib.suppress(psutil.Error):
                    writers[name[7:]] = round(psutil.Process(proc.pid).memory_info().rss / 2**20, 1)
        entry["writers"] = writers
        self.rss.append(entry)
        self.loads.append(os.getloadavg()[0])

    def runs(self, gql: GraphQL) -> list[dict[str, Any]]:
        data = gql(RUNS_Q)["runsOrError"]
        if data["__typename"] != "Runs":
            raise RuntimeError(f"runsOrError: {data}")
        return data["results"]

    def enrichment_runs(self, gql: GraphQL) -> list[dict[str, Any]]:
        return [r for r in self.runs(gql) if r["pipelineName"] == "enrichment_job"]

    def worker_pid(self, gql: GraphQL, run_id: str) -> int | None:
        events = gql(LOGS_Q, runId=run_id)["logsForRun"].get("events") or []
        for e in events:
            m = re.search(r"Started process for run \(pid: (\d+)\)", e.get("message") or "")
            if m:
                return int(m.group(1))
        return None

    def try_kill(self, gql: GraphQL, runs: list[dict[str, Any]]) -> None:
        """SIGKILL the worker of one run that has been STARTED for at least --kill-delay-s."""
        import psutil

        now = time.time()
        any_step = self.a.kill_step == "any" or now >= self.kill_fallback_at
        for run in sorted((r for r in runs if r["status"] == "STARTED" and r["startTime"]), key=lambda r: r["startTime"]):
            if now - run["startTime"] < self.a.kill_delay_s:
                continue
            steps = gql(STEPS_Q, runId=run["runId"])["runOrError"].get("stepStats") or []
            if not any_step and not any(s["stepKey"] == self.a.kill_step and s["status"] == "IN_PROGRESS" for s in steps):
                continue
            pid = self.worker_pid(gql, run["runId"])
            if pid is None:
                continue
            try:
                proc = psutil.Process(pid)
                cmdline = proc.cmdline()
                pgid = os.getpgid(pid)
            except (psutil.Error, ProcessLookupError):
                continue
            if pgid != self.procs["dagster_dev"].pid:  # never anything but our own dagster dev's children
                continue
            parent = proc.parent()
            os.kill(pid, signal.SIGKILL)
            self.kill = {
                "done": True, "at_s": round(time.time() - self.t0, 1), "run_id": run["runId"],
                "partitions": run_partitions(run), "run_started_s_before": round(now - run["startTime"], 1),
                "worker_pid": pid, "worker_cmdline": " ".join(cmdline)[:160],
                "worker_parent": role_of(parent.cmdline()) if parent else None,
                "steps_at_kill": {s["stepKey"]: s["status"] for s in steps},
            }
            log(f"SIGKILL run worker {pid} of run {run['runId'][:8]} {run_partitions(run)}; steps {self.kill['steps_at_kill']}")
            return

    # -- after the run ---------------------------------------------------------------------------
    def pending_now(self, settings: Any) -> int:
        from whisper_assets.stores.qdrant import open_store

        with open_store(settings, lock_timeout_s=120) as store:
            return sum(r.pending for r in store.status_by_day())


def writes_of(wdir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    writes, errors, summaries = [], [], {}
    for bot in BOTS:
        path = wdir / f"{bot}.writes.jsonl"
        if path.exists():
            for line in path.read_text().splitlines():
                rec = json.loads(line)
                (errors if "error" in rec else writes).append(rec)
        spath = wdir / f"{bot}.summary.json"
        summaries[bot] = json.loads(spath.read_text()) if spath.exists() else None
    return writes, errors, summaries


def postgres_checks(db_url: str) -> dict[str, Any]:
    import sqlalchemy as sa

    eng = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    q = {
        "fact_observations_duplicate_groups": """SELECT count(*), coalesce(sum(c - 1), 0) FROM (SELECT count(*) c FROM fact_observations
            GROUP BY bot_name, day, user_id, category, fact_content HAVING count(*) > 1) d""",
        "conversation_summaries_duplicate_groups": """SELECT count(*), coalesce(sum(c - 1), 0) FROM (SELECT count(*) c
            FROM conversation_summaries GROUP BY bot_name, day, user_id HAVING count(*) > 1) d""",
        "summary_embeddings_duplicate_groups": """SELECT count(*), coalesce(sum(c - 1), 0) FROM (SELECT count(*) c
            FROM summary_embeddings GROUP BY bot_name, day, user_id HAVING count(*) > 1) d""",
        "pending_messages_duplicate_ids": """SELECT count(*) - count(DISTINCT message_id), 0 FROM pending_messages""",
        "user_facts_duplicate_groups": """SELECT count(*), coalesce(sum(c - 1), 0) FROM (SELECT count(*) c FROM user_facts
            GROUP BY bot_name, user_id, fact_content HAVING count(*) > 1) d""",
    }
    out: dict[str, Any] = {"duplicates": {}}
    with eng.connect() as conn:
        for name, sql in q.items():
            groups, extra = conn.execute(sa.text(sql)).one()
            out["duplicates"][name] = {"groups": int(groups), "extra_rows": int(extra)}
        out["rows"] = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in
                       ("pending_messages", "fact_observations", "user_facts", "conversation_summaries",
                        "summary_embeddings", "enrichment_metadata")}
        out["summaries_without_embedding"] = conn.execute(sa.text(
            """SELECT count(*) FROM conversation_summaries s LEFT JOIN summary_embeddings e USING
               (user_id, bot_name, start_timestamp, end_timestamp) WHERE e.user_id IS NULL""")).scalar()
        out["embeddings_without_summary"] = conn.execute(sa.text(
            """SELECT count(*) FROM summary_embeddings e LEFT JOIN conversation_summaries s USING
               (user_id, bot_name, start_timestamp, end_timestamp) WHERE s.user_id IS NULL""")).scalar()
        meta = conn.execute(sa.text(
            """SELECT status, count(DISTINCT run_id), count(*), coalesce(sum(llm_calls), 0), coalesce(sum(tokens_in), 0),
                      coalesce(sum(tokens_out), 0), coalesce(sum(cost_usd), 0), max(model)
               FROM enrichment_metadata GROUP BY status""")).all()
        out["enrichment_metadata"] = {r[0]: {"runs": r[1], "partition_rows": r[2], "llm_calls": int(r[3]),
                                             "tokens_in": int(r[4]), "tokens_out": int(r[5]),
                                             "cost_usd": float(r[6]), "model": r[7]} for r in meta}
        out["failed_partition_errors"] = [
            {"run_id": r[0][:8], "partition": f"{r[1]}|{r[2]}", "error": (r[3] or "")[:300]}
            for r in conn.execute(sa.text(
                "SELECT run_id, bot_name, day, error FROM enrichment_metadata WHERE status = 'failed' ORDER BY id"))]
        series: dict[str, list[list[Any]]] = {}
        for r in conn.execute(sa.text(
                """SELECT bot_name, extract(epoch FROM finished_at), message_count, llm_calls FROM enrichment_metadata
                   WHERE status = 'success' ORDER BY finished_at""")):
            series.setdefault(r[0], []).append([float(r[1]), int(r[2]), int(r[3])])
        out["per_run_series"] = series
        out["staged_ids"] = {str(r[0]) for r in conn.execute(sa.text("SELECT message_id FROM pending_messages"))}
    eng.dispose()
    return out


def store_points(settings: Any) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    from whisper_assets.stores.qdrant import open_store

    with open_store(settings, lock_timeout_s=120) as s:
        msgs = {r.id: r.payload for r in s.engine.scroll(s.messages, {})}
        sums = [r.payload for r in s.engine.scroll(s.summaries, {})]
    return msgs, sums


def ts_of(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def analyse_runs(runs: list[dict[str, Any]], t0: float) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    for r in runs:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    failed = [r for r in runs if r["status"] == "FAILURE"]
    success = [r for r in runs if r["status"] == "SUCCESS"]
    unresolved = []
    for f in failed:
        started = f["startTime"] or f["creationTime"]
        missing = [p for p in run_partitions(f)
                   if not any(p in run_partitions(s) and (s["startTime"] or s["creationTime"]) > started for s in success)]
        if missing:
            unresolved.append({"run_id": f["runId"], "partitions": missing})
    done = [r for r in runs if r["startTime"] and r["endTime"]]
    return {
        "total": len(runs), "by_status": by_status,
        "by_source": _count(("retry" if r.get("parentRunId") else tags_of(r).get("whisper/source", "?")) for r in runs),
        "by_reason": _count(tags_of(r).get("whisper/reason", "-") for r in runs if not r.get("parentRunId")),
        "retries": sum(bool(r.get("parentRunId")) for r in runs),
        "partitions_per_run": pct([len(run_partitions(r)) for r in runs], 1),
        "queue_s": pct([r["startTime"] - r["creationTime"] for r in runs if r["startTime"]], 1),
        "duration_s": pct([r["endTime"] - r["startTime"] for r in done], 1),
        "failed": [{"run_id": r["runId"], "partitions": run_partitions(r), "created_s": round(r["creationTime"] - t0, 1),
                    "parent": (r.get("parentRunId") or "")[:8] or None,
                    "steps_to_execute": r.get("stepKeysToExecute"),
                    "reason": tags_of(r).get("whisper/reason")} for r in failed],
        "failed_unresolved": unresolved,
        "retry_runs": [{"run_id": r["runId"], "parent": r["parentRunId"], "status": r["status"],
                        "steps_to_execute": r.get("stepKeysToExecute"),
                        "retry_strategy": tags_of(r).get("dagster/retry_strategy")} for r in runs if r.get("parentRunId")],
    }


def analyse_ticks(ticks: list[dict[str, Any]], t_from: float, t_to: float) -> dict[str, Any]:
    ticks = sorted((t for t in ticks if t_from <= t["timestamp"] <= t_to), key=lambda t: t["timestamp"])
    by_status: dict[str, int] = {}
    for t in ticks:
        by_status[t["status"]] = by_status.get(t["status"], 0) + 1
    gaps = [b["timestamp"] - a["timestamp"] for a, b in zip(ticks, ticks[1:])]
    errors: dict[str, int] = {}
    for t in ticks:
        if t.get("error"):
            msg = (t["error"]["message"] or "").strip().splitlines()[0][:200]
            errors[msg] = errors.get(msg, 0) + 1
    return {
        "ticks": len(ticks), "by_status": by_status,
        "tick_s": pct([t["endTimestamp"] - t["timestamp"] for t in ticks if t.get("endTimestamp")], 2),
        "gap_s": pct(gaps, 1),
        "runs_requested": sum(len(t.get("runIds") or []) for t in ticks),
        "errors": errors,
    }


def run_events(gql: GraphQL, run_id: str) -> list[dict[str, Any]]:
    events = gql(LOGS_Q, runId=run_id)["logsForRun"].get("events") or []
    return [{"type": e.get("eventType") or e["__typename"], "step": e.get("stepKey"), "t": e.get("timestamp"),
             "message": (e.get("message") or "")[:400],
             "error": ((e.get("error") or {}).get("message") or "")[:1500] or None} for e in events]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_writer":
        writer_main(sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=20.0, help="writing phase (default 20)")
    p.add_argument("--rate", type=float, default=100.0, help="messages per minute in all (default 100)")
    p.add_argument("--drain-minutes", type=float, default=5.0, help="longest wait for the backlog after writing")
    p.add_argument("--outage-s", type=float, default=75.0, help="LLM outage length, 0 for none")
    p.add_argument("--outage-at", type=float, default=0.35, help="outage start, as a fraction of the writing phase")
    p.add_argument("--outage-modes", default="500,429,hang", help="what the stub does per request in the outage, in turn")
    p.add_argument("--kill-at", type=float, default=0.6, help="kill a run worker from this fraction of the writing phase on (<0: never)")
    p.add_argument("--kill-delay-s", type=float, default=5.0, help="kill a run that has been STARTED this long")
    p.add_argument("--kill-step", default="summary_embeddings",
                   help="kill while this step is in progress ('any': any STARTED run); after a further 20%% of the "
                        "writing phase without such a moment, any STARTED run")
    p.add_argument("--no-fast-track", dest="fast_track", action="store_false")
    p.add_argument("--fast-track-every-s", type=float, default=120.0, help="mean gap between the fast-track user's exchanges")
    p.add_argument("--sensor-interval-s", type=int, default=None, help="WHISPER_SENSOR_INTERVAL_S (default: the setting's)")
    p.add_argument("--debounce-s", type=float, default=None, help="WHISPER_SENSOR_DEBOUNCE_S (default: the setting's)")
    p.add_argument("--pile-up", type=int, default=None, help="WHISPER_SENSOR_PILE_UP (default: the setting's)")
    p.add_argument("--model", default="gpt-4o-mini", help="WHISPER_LLM_MODEL the stub is called as (priced: gpt-4o-mini)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    try:
        import psutil  # noqa: F401
    except ImportError:
        sys.exit("psutil is needed (it is in the project's venv)")

    soak = Soak(a)
    interrupted = {"sig": None}

    def on_signal(signum: int, _frame: Any) -> None:
        if interrupted["sig"] is not None:  # cleaning up already: let it finish
            log(f"signal {signum}: still cleaning up")
            return
        interrupted["sig"] = signum
        log(f"signal {signum}: stopping every process started, dropping the scratch database")
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    atexit.register(soak.cleanup)
    report = run(soak, a)
    out = a.out or REPO / "benchmarks/results" / ("soak.json" if a.minutes == 20 else f"soak_{a.minutes:g}m.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    log(f"saved {out}")


def run(soak: Soak, a: argparse.Namespace) -> dict[str, Any]:
    import psutil

    from scratch import scratch_workspace

    from whisper_assets.core.settings import load_settings

    W = a.minutes * 60
    stub = LLMStub([m.strip() for m in a.outage_modes.split(",") if m.strip()])
    with scratch_workspace("whisper-soak-") as (db_url, tmp):
        data_dir = Path(tmp) / "whisper"
        stub.server.start()
        try:
            settings = load_settings(data_dir=data_dir, database_url=db_url)
            env = soak.env(data_dir, db_url, stub.server.base_url)
            port = free_port()
            soak.mark("dagster_dev_starting")
            gql = soak.start_dev(env, port)
            soak.mark("dagster_dev_ready")
            # The first sensor tick, so the baseline RSS is of a warmed-up setup.
            deadline = time.time() + 120
            while time.time() < deadline:
                st = gql(TICKS_Q, sel=soak.sensor_sel)["sensorOrError"]
                if st.get("sensorState") and st["sensorState"]["ticks"]:
                    break
                time.sleep(2)
            soak.mark("first_sensor_tick")
            soak.start_writers(env, a.rate / len(BOTS))
            soak.mark("writers_ready")
            start = time.time() + 1.0
            end = start + W
            (soak.wdir / "go.json").write_text(json.dumps({"start": start, "end": end}))
            if a.outage_s > 0:
                stub.arm_at, stub.outage_s = start + a.outage_at * W, a.outage_s
            kill_from = start + a.kill_at * W if a.kill_at >= 0 else float("inf")
            soak.kill_fallback_at = kill_from + 0.2 * W
            time.sleep(max(0.0, start - time.time()))
            soak.mark("writing_started")
            soak.sample()
            last_sample = time.time()
            runs: list[dict[str, Any]] = []
            all_runs: list[dict[str, Any]] = []
            outage_marked = [False, False, False]
            drain_until = end + a.drain_minutes * 60
            drained_at = None
            writers_done = False
            next_pending_check = 0.0
            while True:
                now = time.time()
                if not outage_marked[2] and now >= stub.arm_at:
                    outage_marked[2] = True
                    soak.mark("llm_outage_armed")
                if not outage_marked[0] and now >= stub.outage[0]:
                    outage_marked[0] = True
                    soak.mark("llm_outage_started")
                if not outage_marked[1] and now >= stub.outage[1]:
                    outage_marked[1] = True
                    soak.mark("llm_outage_ended")
                if soak.procs["dagster_dev"].poll() is not None:
                    raise RuntimeError(f"dagster dev exited early with {soak.procs['dagster_dev'].returncode}")
                try:
                    all_runs = soak.runs(gql)
                    runs = [r for r in all_runs if r["pipelineName"] == "enrichment_job"]
                    if not soak.kill["done"] and now >= kill_from:
                        soak.try_kill(gql, runs)
                except Exception as exc:  # noqa: BLE001 - the webserver may be slow under load; try again
                    log(f"GraphQL: {exc}")
                if now - last_sample >= 15:
                    soak.sample()
                    last_sample = now
                if not writers_done and now >= end:
                    for name, proc in soak.procs.items():
                        if name.startswith("writer_"):
                            try:
                                proc.wait(timeout=max(1.0, end + 90 - time.time()))
                            except subprocess.TimeoutExpired:
                                log(f"{name} still running 90 s after the end: stopping it")
                                kill_group(proc, name, 10)
                    writers_done = True
                    soak.mark("writing_stopped")
                if writers_done and now >= next_pending_check:
                    next_pending_check = now + 10
                    in_flight = [r for r in all_runs if r["status"] in IN_FLIGHT]
                    pending = soak.pending_now(settings)
                    log(f"drain: {pending} pending, {len(in_flight)} runs queued or in flight")
                    if pending == 0 and "nothing_pending" not in soak.timeline:
                        soak.mark("nothing_pending")
                    if pending == 0 and not in_flight:
                        drained_at = time.time()
                        soak.mark("drained")
                        break
                if writers_done and now >= drain_until:
                    soak.mark("drain_timeout")
                    break
                time.sleep(3)
            # Final state from the webserver, then stop everything before counting.
            soak.sample()
            all_runs = soak.runs(gql)
            runs = [r for r in all_runs if r["pipelineName"] == "enrichment_job"]
            other_jobs: dict[str, dict[str, int]] = {}
            for r in all_runs:
                if r["pipelineName"] != "enrichment_job":
                    other_jobs.setdefault(r["pipelineName"], {}).setdefault(r["status"], 0)
                    other_jobs[r["pipelineName"]][r["status"]] += 1
            ticks_state = gql(TICKS_Q, sel=soak.sensor_sel)["sensorOrError"]
            ticks = ticks_state["sensorState"]["ticks"] if ticks_state.get("sensorState") else []
            try:
                health = gql(HEALTH_Q)["instance"]["daemonHealth"]["allDaemonStatuses"]
            except Exception as exc:  # noqa: BLE001
                health = [{"error": str(exc)[:300]}]
            interesting = {r["runId"] for r in runs if r["status"] == "FAILURE" or r.get("parentRunId")}
            if soak.kill.get("run_id"):
                interesting.add(soak.kill["run_id"])
            events = {rid: run_events(gql, rid) for rid in sorted(interesting)}
            steps_by_run = {r["runId"]: gql(STEPS_Q, runId=r["runId"])["runOrError"].get("stepStats") or []
                            for r in runs if r["status"] == "SUCCESS"}
            (soak.logs / "steps.json").write_text(json.dumps(steps_by_run, indent=1))
            (soak.logs / "runs.json").write_text(json.dumps(runs, indent=1))
            (soak.logs / "ticks.json").write_text(json.dumps(ticks, indent=1))
            (soak.logs / "run_events.json").write_text(json.dumps(events, indent=1))
            stop_at = time.time()
            soak.mark("stopping_dagster_dev")
            dev = soak.procs.pop("dagster_dev")
            kill_group(dev, "dagster dev", 30)
            time.sleep(2)
            leftovers = [" ".join(proc.info["cmdline"] or [])[:120] for proc in group_processes(dev.pid)
                         if _alive(proc)]
            soak.mark("dagster_dev_stopped")
            # Count.
            writes, write_errors, writer_summaries = writes_of(soak.wdir)
            points, summary_points = store_points(settings)
            pg = postgres_checks(db_url)
        finally:
            stub.server.stop()
            soak.cleanup()
            # The Dagster instance (run and event history, compute logs) outlives the scratch directory.
            with contextlib.suppress(Exception):
                shutil.copytree(data_dir / "dagster", soak.logs / "dagster_home")
    return build_report(soak, a, locals())


def build_report(soak: Soak, a: argparse.Namespace, v: dict[str, Any]) -> dict[str, Any]:
    writes, points, pg = v["writes"], v["points"], v["pg"]
    start, end = v["start"], v["end"]
    written_ids = {w["id"] for w in writes}
    completed, pending, missing = [], [], []
    lat: dict[str, dict[str, list[float]]] = {"first": {}, "enriched_at": {}}  # kind -> group -> latencies
    run_marks: dict[str, int] = {}
    stages = staging_windows(v["runs"], v["steps_by_run"])
    ambiguous = unexplained = 0
    for w in writes:
        pay = points.get(w["id"])
        if pay is None:
            missing.append(w["id"])
            continue
        if pay.get("enrichment_status") != "completed":
            pending.append(w["id"])
            continue
        completed.append(w["id"])
        run_marks[pay.get("enrichment_run_id") or "?"] = run_marks.get(pay.get("enrichment_run_id") or "?", 0) + 1
        groups = ["all", f"bot:{w['bot']}", "fast_track_user" if w["user"] == FAST_TRACK_USER else "other_users"]
        outage_start, outage_end = v["stub"].outage
        # Unaffected by the LLM outage: written a minute or more before it, or after it ended.
        if w["t1"] < outage_start - 60 or w["t1"] > outage_end:
            groups.append("outside_outage")
        for g in groups:
            lat["enriched_at"].setdefault(g, []).append(ts_of(pay["enriched_at"]) - w["t1"])
        first, maybe = first_completion(stages, f"{pay['bot_name']}|{pay['day']}", int(pay["stored_ms"]) / 1000)
        if first is None:
            unexplained += 1
            continue
        ambiguous += maybe is not None and maybe < first
        for g in groups:
            lat["first"].setdefault(g, []).append(first - w["t1"])
    extra_points = len(set(points) - written_ids)
    done_set = set(completed)
    not_staged = sum(1 for i in completed if i not in pg["staged_ids"])
    summary_dups: dict[tuple, int] = {}
    for s in v["summary_points"]:
        key = (s.get("bot_name"), s.get("day"), s.get("user_id"))
        summary_dups[key] = summary_dups.get(key, 0) + 1
    runs_info = analyse_runs(v["runs"], soak.t0)
    sensor = analyse_ticks(v["ticks"], start - 60, time.time())
    sensor["max_gap_s"] = sensor["gap_s"].get("max")
    interval = a.sensor_interval_s or soak.defaults["sensor_interval_s"]
    last_tick = max((t["timestamp"] for t in v["ticks"]), default=0.0)
    sensor["last_tick_s_before_stop"] = round(v["stop_at"] - last_tick, 1) if last_tick else None
    sensor["wedged"] = bool(sensor["ticks"] == 0 or (sensor["max_gap_s"] or 0) > max(5 * interval, 120)
                            or v["stop_at"] - last_tick > max(5 * interval, 120))
    # RSS: first sample (writing start) vs last (after the drain).
    rss_start, rss_end = soak.rss[0]["dagster"], soak.rss[-1]["dagster"]
    quarter_t = soak.rss[0]["t"] + 0.25 * a.minutes * 60
    rss_quarter = min(soak.rss, key=lambda e: abs(e["t"] - quarter_t))["dagster"]
    rss = {}
    for role in sorted(set(rss_start) | set(rss_end)):
        series = [s["dagster"].get(role) for s in soak.rss if role in s["dagster"]]
        rss[role] = {"start_mb": rss_start.get(role), "end_mb": rss_end.get(role), "max_mb": max(series) if series else None,
                     "growth_mb": round(rss_end[role] - rss_start[role], 1) if role in rss_start and role in rss_end else None,
                     "growth_after_first_quarter_mb": round(rss_end[role] - rss_quarter[role], 1)
                     if role in rss_quarter and role in rss_end and role != "run_worker" else None}
    wr = {}
    for role in sorted({k for s in soak.rss for k in s["writers"]}):
        series = [s["writers"][role] for s in soak.rss if role in s["writers"]]
        wr[role] = {"start_mb": series[0], "end_mb": series[-1], "max_mb": max(series)}
    calls_by_kind: dict[str, list[float]] = {}
    for w in writes:
        if w["role"] == "user" or w["batch"] == 1:
            calls_by_kind.setdefault(BOTS[w["bot"]], []).append(w["call_ms"])
    stub_counts = dict(v["stub"].counts)
    dups = pg["duplicates"]
    dup_total = sum(d["groups"] for d in dups.values()) + sum(c > 1 for c in summary_dups.values())
    p99 = pct(lat["first"].get("all", []), 1).get("p99")
    machine_load = {"cpus": os.cpu_count(), "loadavg_1m_mean": round(statistics.fmean(soak.loads), 2) if soak.loads else None,
                    "loadavg_1m_max": round(max(soak.loads), 2) if soak.loads else None,
                    "note": "2 cores shared with other engineers running tests and benchmarks during this run"}
    defaults = soak.defaults
    return {
        "benchmark": "soak (issue point 9): whisper-assets dev + 3 writer processes + stub LLM, one LLM outage, one run worker SIGKILLed",
        "started_at": datetime.fromtimestamp(soak.t0, UTC).isoformat(timespec="seconds"),
        "code": soak.git,
        "machine": {**machine_load, "python": platform.python_version(), "dagster": metadata.version("dagster"),
                    "qdrant-edge-py": _version("qdrant-edge-py"), "storage": "real disk (/tmp), not tmpfs"},
        "settings": {
            "writing_minutes": a.minutes, "rate_per_min": a.rate, "drain_limit_minutes": a.drain_minutes,
            "writers": {bot: {"kind": kind, "how": {"oneoff": "store_message per message",
                                                   "pairs": "store_messages([user turn, bot reply]) per call",
                                                   "held": "message_writer() held open; writer.store_message"}[kind],
                              "users": USERS_PER_BOT + (1 if bot == FAST_TRACK_BOT and a.fast_track else 0),
                              "rate_per_min": round(a.rate / len(BOTS), 1)} for bot, kind in BOTS.items()},
            "pacing": "exponential gaps (mean 60/rate s per message), catch-up when behind",
            "fast_track_users": [FAST_TRACK_USER] if a.fast_track else [],
            "fast_track_every_s": a.fast_track_every_s if a.fast_track else None,
            "sensor": {"interval_s": a.sensor_interval_s or defaults["sensor_interval_s"],
                       "debounce_s": a.debounce_s if a.debounce_s is not None else defaults["sensor_debounce_s"],
                       "pile_up": a.pile_up or defaults["sensor_pile_up"],
                       "defaults": a.sensor_interval_s is None and a.debounce_s is None and a.pile_up is None},
            "llm": {"backend": "openai (stub on 127.0.0.1)", "model": a.model,
                    "priced": a.model in defaults["llm_prices"], "timeout_s": defaults["llm_timeout_s"],
                    "client_max_retries": defaults["llm_max_retries"], "concurrency": defaults["llm_concurrency"]},
            "outage": {"length_s": a.outage_s, "at_fraction": a.outage_at, "modes_in_turn": a.outage_modes},
            "kill": {"from_fraction": a.kill_at, "run_started_at_least_s": a.kill_delay_s, "preferred_step": a.kill_step},
            "dagster_yaml": "packaged whisper_assets/defs/dagster.yaml (queued coordinator, 4 runs, 1 per bot, run_retries 2)",
        },
        "timeline_s": soak.timeline,
        "messages": {
            "written": len(writes), "achieved_rate_per_min": round(len(writes) / a.minutes, 1),
            "write_errors": len(v["write_errors"]), "completed": len(completed),
            "pending_at_end": len(pending), "missing_from_store": len(missing), "points_not_written_by_us": extra_points,
            "written_equals_completed": len(writes) == len(completed),
            "by_bot": {bot: {"written": sum(w["bot"] == bot for w in writes),
                             "completed": sum(1 for w in writes if w["bot"] == bot and w["id"] in done_set)}
                       for bot in BOTS},
            "completed_not_in_staging": not_staged,
            "pending_examples": [{"id": i, "day": points[i].get("day"), "bot": points[i].get("bot_name")} for i in pending[:5]],
            "write_error_examples": sorted({e["error"][:160] for e in v["write_errors"]})[:5],
        },
        "latency_write_to_completed_s": {
            "definition": "writer's store call returned -> end of completed_messages of the first successful run whose "
                          "pending_messages step read the point (point stored_ms before that step started: an upper "
                          "bound; 'ambiguous' points were stored while that step ran, so an earlier run may have had them)",
            **{g: pct(x, 1) for g, x in sorted(lat["first"].items())},
            "ambiguous_points": ambiguous, "points_without_a_completing_run": unexplained,
        },
        "latency_write_to_enriched_at_s": {
            "definition": "writer's store call returned -> the point's enriched_at payload: the first completion "
                          "(a run leaves points an earlier run completed as they were, since 414690f)",
            **{g: pct(x, 1) for g, x in sorted(lat["enriched_at"].items())},
        },
        "writes": {"call_ms_by_kind": {k: pct(x, 1) for k, x in calls_by_kind.items()},
                   "writers": v["writer_summaries"]},
        "duplicates": {**dups, "qdrant_summary_points_duplicate_groups": sum(c > 1 for c in summary_dups.values()),
                       "summaries_without_embedding": pg["summaries_without_embedding"],
                       "embeddings_without_summary": pg["embeddings_without_summary"], "total_duplicate_groups": dup_total},
        "rows": pg["rows"],
        "runs": {**runs_info, "points_marked_per_run": _top(run_marks), "other_jobs": v["other_jobs"]},
        "kill": _kill_outcome(soak.kill, v["runs"], soak.t0),
        "llm": {"stub_requests": stub_counts, "stub_chat_requests": len(v["stub"].server.chat_requests),
                "outage_window_s": [round(x - soak.t0, 1) for x in v["stub"].outage] if v["stub"].outage[0] != float("inf") else None,
                "user_turns_written": sum(w["role"] == "user" for w in writes),
                "user_turns_sent_in_answered_calls": v["stub"].turns_answered,
                "resend_factor": round(v["stub"].turns_answered / max(1, sum(w["role"] == "user" for w in writes)), 2),
                "per_run_work_by_bot": {bot: {"successful_partition_runs": len(x),
                                              "messages_read_first_run": x[0][1], "messages_read_last_run": x[-1][1],
                                              "llm_calls_first_run": x[0][2], "llm_calls_last_run": x[-1][2],
                                              "messages_read_in_all": sum(m for _, m, _ in x)}
                                        for bot, x in sorted(pg["per_run_series"].items())},
                "enrichment_metadata": pg["enrichment_metadata"], "failed_partition_errors": pg["failed_partition_errors"][:10]},
        "sensor": sensor,
        "daemon_health_at_end": v["health"],
        "rss_mb": {"dagster_processes": rss, "writers": wr,
                   "note": "first sample when writing started (dagster dev up, first tick done), last after the drain; "
                           "run_worker = run workers alive at that moment",
                   "other_processes": sorted(soak.other_cmdlines)},
        "leftover_processes_after_stop": v["leftovers"],
        "checks": {
            "written_equals_completed": len(writes) == len(completed),
            "no_duplicates": dup_total == 0,
            "no_unresolved_failed_runs": not runs_info["failed_unresolved"],
            "sensor_not_wedged": not sensor["wedged"],
            "sensor_no_failed_ticks": not sensor["by_status"].get("FAILURE"),
            f"p99_latency_under_{P99_TARGET_S:g}s": p99 is not None and p99 <= P99_TARGET_S,
            "nothing_pending_within_drain_limit": "nothing_pending" in soak.timeline,
            "no_runs_left_queued_within_drain_limit": v["drained_at"] is not None,
            "run_worker_killed": bool(soak.kill.get("done")),
        },
        "logs_dir": str(soak.logs),
    }


def staging_windows(runs: list[dict[str, Any]], steps_by_run: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[float, float, float]]]:
    """partition -> [(pending_messages start, pending_messages end, completed_messages end)] of successful runs
    that staged (a retry from failure that skipped pending_messages re-marks only what an earlier run staged)."""
    out: dict[str, list[tuple[float, float, float]]] = {}
    for r in runs:
        steps = {st["stepKey"]: st for st in steps_by_run.get(r["runId"], [])}
        stage, done = steps.get("pending_messages"), steps.get("completed_messages")
        if r["status"] != "SUCCESS" or not stage or not done or not stage.get("startTime") or not done.get("endTime"):
            continue
        for key in run_partitions(r):
            out.setdefault(key, []).append((stage["startTime"], stage["endTime"] or stage["startTime"], done["endTime"]))
    return out


def first_completion(stages: dict[str, list[tuple[float, float, float]]], key: str, stored_s: float) -> tuple[float | None, float | None]:
    """(completion by the first run that surely read the point, completion by the first run that may have)."""
    sure = [done for start, _, done in stages.get(key, []) if stored_s < start]
    maybe = [done for _, end, done in stages.get(key, []) if stored_s < end]
    return (min(sure) if sure else None), (min(maybe) if maybe else None)


def _alive(proc: Any) -> bool:
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def _top(d: dict[str, int], n: int = 50) -> dict[str, int]:
    return {k[:8]: c for k, c in sorted(d.items(), key=lambda kv: -kv[1])[:n]}


def _kill_outcome(kill: dict[str, Any], runs: list[dict[str, Any]], t0: float) -> dict[str, Any]:
    if not kill.get("done"):
        return kill
    rid = kill["run_id"]
    run = next((r for r in runs if r["runId"] == rid), None)
    children = [r for r in runs if r.get("parentRunId") == rid or r.get("rootRunId") == rid]
    return {**kill,
            "run_status_after": run["status"] if run else None,
            "run_marked_failed_s_after_kill": round(run["endTime"] - t0 - kill["at_s"], 1) if run and run["endTime"] else None,
            "retries": [{"run_id": r["runId"][:8], "status": r["status"], "steps_to_execute": r.get("stepKeysToExecute")}
                        for r in children]}


def _default_settings() -> dict[str, Any]:
    from whisper_assets.core.settings import Settings

    return {k: f.default for k, f in Settings.model_fields.items()}


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.rstrip()

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted_files": [line[3:] for line in git("status", "--porcelain").splitlines() if line[3:] != "benchmarks/soak.py"
                                  and not line[3:].startswith("benchmarks/results/soak")]}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
